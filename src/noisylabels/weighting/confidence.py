r"""Confidence weighting: trust a sample as much as the model believes its given label.

This is the threshold weighting of the student report the project started from, whose
definition was loose. Ours, with :math:`c_i = \mathrm{softmax}(z_i)_{y_i}` the predicted
probability of the given label:

* ``hard``: :math:`w_i = \mathbf{1}[c_i \ge \tau]`;
* ``soft``: :math:`w_i = \min(1, c_i / \tau)`.

By default weights are not renormalised: the method's loss is ``mean(w * l)``, so a batch in
which no sample reaches the threshold (``hard`` mode) contributes no gradient, and early in
training, when every confidence is low, the whole loss shrinks (like a lower learning rate).
``normalize=True`` divides the weights by their batch mean (uniform if all are zero), which keeps
the average gradient scale of the unweighted loss and only shifts emphasis between samples.
"""

from __future__ import annotations

from typing import Any

import torch

from noisylabels.errors import UsageError
from noisylabels.weighting.base import StepState

MODES = ("soft", "hard")


def _check(tau: object, mode: object) -> tuple[float, str]:
    if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not 0 < tau <= 1:
        raise UsageError(f"tau (confidence threshold) must lie in (0, 1], got {tau!r}")
    if mode not in MODES:
        raise UsageError(f"unknown confidence mode {mode!r}; choose one of: {', '.join(MODES)}")
    return float(tau), str(mode)


def label_confidence(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    r"""Detached softmax probability of the given label, ``(B,)``, in float32 (or float64).

    ``target`` may be integer labels ``(B,)`` or a soft target ``(B, K)``, in which case the
    confidence is the target-weighted probability :math:`\sum_k t_k p_k`.
    """
    z = logits.detach()
    z = z.to(torch.float64 if z.dtype == torch.float64 else torch.float32)
    p = z.softmax(dim=1)
    if target.dim() == 1:
        return p.gather(1, target.long().unsqueeze(1)).squeeze(1)
    return (p * target.to(p.dtype)).sum(dim=1)


def confidence_weights(
    logits: torch.Tensor, target: torch.Tensor, tau: float = 0.6, mode: str = "soft"
) -> torch.Tensor:
    r"""Confidence weights :math:`\mathbf{1}[c_i \ge \tau]` (hard) or :math:`\min(1, c_i/\tau)`.

    Args:
        logits: ``(B, K)`` scores (detached inside).
        target: Given labels ``(B,)`` (or soft targets ``(B, K)``).
        tau: Threshold in ``(0, 1]``; default 0.6.
        mode: ``"soft"`` (default) or ``"hard"``.

    Returns:
        Weights ``(B,)`` in ``[0, 1]``, no gradient.

    Example:
        >>> logits = torch.log(torch.tensor([[0.9, 0.1], [0.3, 0.7]]))
        >>> confidence_weights(logits, torch.tensor([0, 0])).tolist()
        [1.0, 0.5]
        >>> confidence_weights(logits, torch.tensor([0, 0]), mode="hard").tolist()
        [1.0, 0.0]
    """
    tau, mode = _check(tau, mode)
    c = label_confidence(logits, target)
    if mode == "hard":
        return (c >= tau).to(c.dtype)
    return (c / tau).clamp(max=1.0)


class ConfidenceWeighting:
    """Confidence weights with optional warm-up epochs of uniform weights.

    Args:
        tau: Threshold in ``(0, 1]`` (default 0.6).
        mode: ``"soft"`` (default) or ``"hard"``.
        warmup_epochs: Epochs at the start with uniform weights (the model's confidence means
            little before it has learned anything). Default 0.
        normalize: Divide the weights by their batch mean (mean 1, as CIW). Default False.
    """

    name = "confidence"

    def __init__(
        self, tau: float = 0.6, mode: str = "soft", warmup_epochs: int = 0, normalize: bool = False
    ) -> None:
        self.tau, self.mode = _check(tau, mode)
        if not isinstance(normalize, bool):
            raise UsageError(f"normalize must be true or false, got {normalize!r}")
        self.normalize = normalize
        if (
            isinstance(warmup_epochs, bool)
            or not isinstance(warmup_epochs, int)
            or (warmup_epochs < 0)
        ):
            raise UsageError(f"warmup_epochs must be an integer >= 0, got {warmup_epochs!r}")
        self.warmup_epochs = warmup_epochs

    def active(self, state: StepState) -> bool:
        """False during warm-up."""
        return state.epoch >= self.warmup_epochs

    def weights(
        self,
        losses: torch.Tensor,
        state: StepState,
        logits: torch.Tensor | None = None,
        target: torch.Tensor | None = None,
    ) -> torch.Tensor | None:
        """Weights ``(B,)`` from ``logits`` and ``target``, or None during warm-up."""
        if not self.active(state):
            return None
        if logits is None or target is None:
            raise UsageError("confidence weighting needs the logits and the given labels")
        w = confidence_weights(logits, target, self.tau, self.mode)
        if self.normalize:
            mean = w.mean()
            w = torch.where(mean > 0, w / mean.clamp_min(1e-12), torch.ones_like(w))
        return w

    def extras(self, state: StepState) -> dict[str, float]:
        """Nothing to log beyond the weights."""
        return {}

    def hparams(self) -> dict[str, Any]:
        """Resolved hyperparameters."""
        return {
            "tau": self.tau,
            "mode": self.mode,
            "warmup_epochs": self.warmup_epochs,
            "normalize": self.normalize,
        }
