r"""Constrained instance reweighting (CIW).

Kumar & Amid, "Constrained Instance and Class Reweighting for Robust Learning under Label
Noise", arXiv 2111.05428.

Each mini-batch gets weights that minimise the weighted loss while staying within a divergence
budget of the uniform weights. The closed forms, for per-sample losses :math:`\ell_i`:

* KL divergence (:math:`\alpha = 1`): :math:`w_i \propto \exp(-\ell_i / \lambda)`;
* :math:`\alpha`-divergence:
  :math:`w_i \propto \max((1-\alpha)\,\ell_i + \lambda, 0)^{1/(\alpha-1)}`.

:math:`\lambda` is the Lagrange multiplier of the budget: large :math:`\lambda` keeps weights
near uniform, small :math:`\lambda` concentrates them on the lowest-loss samples. We normalise
the weights to mean 1 over the batch, so ``mean(w * l)`` equals the official code's weighted sum
with weights normalised to sum 1.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from noisylabels.errors import UsageError
from noisylabels.weighting.base import StepState

#: The official code treats ``|alpha - 1| < 1e-3`` as the KL case.
_KL_TOL = 1e-3


def ciw_weights(losses: torch.Tensor, lam: float, alpha: float = 1.0) -> torch.Tensor:
    r"""CIW instance weights of one batch, normalised to mean 1.

    .. math::

        w_i \propto \exp(-\ell_i/\lambda) \quad (\alpha = 1,\ \text{KL}), \qquad
        w_i \propto \max\big((1-\alpha)\ell_i + \lambda,\ 0\big)^{1/(\alpha-1)} \quad (\alpha \ne 1)

    followed by :math:`w \leftarrow w / \mathrm{mean}(w)`. The weights are computed in log space
    from the detached losses (the KL case subtracts the smallest loss first), so they never
    overflow. A batch whose weights are all zero (possible for :math:`\alpha > 1` when every
    loss exceeds :math:`\lambda/(\alpha-1)`) gets uniform weights.

    Args:
        losses: Per-sample losses ``(B,)`` (detached inside).
        lam: :math:`\lambda > 0`.
        alpha: Divergence order; ``1.0`` is KL (the paper's main case). The official code's
            flag default is ``0.1``, which :class:`CIWeighting` and the ``ciw`` method use.

    Returns:
        Weights ``(B,)`` in float32 (float64 for float64 losses), mean 1, no gradient.

    Example:
        >>> w = ciw_weights(torch.tensor([0.1, 0.5, 2.0]), lam=0.5)
        >>> [round(v, 3) for v in w.tolist()]
        [2.038, 0.916, 0.046]
    """
    if not lam > 0 or not math.isfinite(lam):
        raise UsageError(f"CIW lambda must be a finite number > 0, got {lam!r}")
    if not math.isfinite(alpha):
        raise UsageError(f"CIW alpha must be finite, got {alpha!r}")
    x = losses.detach()
    x = x.to(torch.float64 if x.dtype == torch.float64 else torch.float32)
    if x.numel() == 0:
        return x.clone()
    if abs(alpha - 1.0) < _KL_TOL:
        logw = -(x - x.min()) / lam
    else:
        base = (1.0 - alpha) * x + lam
        logw = base.clamp_min(0).log() / (alpha - 1.0)  # log(0) = -inf -> weight 0
        # Negative losses with alpha < 1 can drive the base to 0 and the weight to +inf; keep
        # such samples at the largest finite weight instead of producing NaN.
        logw = torch.nan_to_num(logw, nan=-math.inf, posinf=torch.finfo(x.dtype).max)
        logw = logw - logw.max()
    w = logw.exp()
    mean = w.mean()
    # All-zero batch -> uniform (torch.where keeps this free of host syncs on GPU).
    return torch.where(mean > 0, w / mean.clamp_min(torch.finfo(w.dtype).tiny), torch.ones_like(w))


def ciw_lambda(step: int, lam: float, burnin_steps: int, anneal_steps: int) -> float | None:
    """The CIW lambda at a 0-based global ``step``, or None during burn-in (uniform weights).

    The official code counts iterations from 1: iteration ``it = step + 1`` is burn-in while
    ``it <= burnin``; afterwards lambda is interpolated linearly from ``10 * lam`` at
    ``it = burnin`` to ``lam`` at ``it = burnin + anneal`` and held there. The official code
    anneals only after a *positive* burn-in (``if burnin > 0 and it > burnin``): with
    ``burnin_steps = 0`` lambda is ``lam`` from the first step, as here.

    Example:
        >>> [ciw_lambda(s, 1.0, 2, 4) for s in range(0, 8)]
        [None, None, 7.75, 5.5, 3.25, 1.0, 1.0, 1.0]
        >>> [ciw_lambda(s, 1.0, 0, 4) for s in range(0, 3)]
        [1.0, 1.0, 1.0]
    """
    it = step + 1
    if it <= burnin_steps:
        return None
    if anneal_steps <= 0 or burnin_steps <= 0:
        return lam
    frac = min(1.0, (it - burnin_steps) / anneal_steps)
    return lam * (10.0 - 9.0 * frac)


class CIWeighting:
    """CIW weights with the official burn-in and lambda annealing.

    Uniform weights (``None``: the caller skips the multiplication) for the first
    ``burnin_steps`` steps, then lambda falls linearly from ``10 * lam`` to ``lam`` over
    ``anneal_steps`` steps and stays there (google-research ``ciw_label_noise/train.py``).

    Args:
        lam: Final lambda (official flag default 0.1; README recipes: 0.1 for CIW, 2.5 for
            CICW-M, 10 for CIW-M on asymmetric noise).
        alpha: Divergence order; 1 is KL. Default 0.1 = the official flag default.
        burnin_steps: Steps with uniform weights (official: 4000 of 50000 iterations).
        anneal_steps: Steps of the lambda ramp (official: 3000).

    Example:
        >>> from noisylabels.weighting.base import StepState
        >>> ciw = CIWeighting(lam=0.1, burnin_steps=10, anneal_steps=10)
        >>> ciw.weights(torch.tensor([0.2, 3.0]), StepState(0, 5, 1, 100)) is None
        True
        >>> ciw.lam_at(StepState(0, 19, 1, 100))
        0.1
    """

    name = "ciw"

    def __init__(
        self,
        lam: float = 0.1,
        alpha: float = 0.1,
        burnin_steps: int = 4000,
        anneal_steps: int = 3000,
    ) -> None:
        if not (isinstance(lam, (int, float)) and lam > 0 and math.isfinite(lam)):
            raise UsageError(f"lam (CIW lambda) must be a finite number > 0, got {lam!r}")
        if not (isinstance(alpha, (int, float)) and math.isfinite(alpha)):
            raise UsageError(f"ciw_alpha must be a finite number, got {alpha!r}")
        for n, v in (("burnin_steps", burnin_steps), ("anneal_steps", anneal_steps)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise UsageError(f"{n} must be an integer >= 0, got {v!r}")
        self.lam = float(lam)
        self.alpha = float(alpha)
        self.burnin_steps = burnin_steps
        self.anneal_steps = anneal_steps

    def active(self, state: StepState) -> bool:
        """False during burn-in."""
        return state.step + 1 > self.burnin_steps

    def lam_at(self, state: StepState) -> float | None:
        """Lambda in effect at ``state`` (None during burn-in)."""
        return ciw_lambda(state.step, self.lam, self.burnin_steps, self.anneal_steps)

    def weights(
        self,
        losses: torch.Tensor,
        state: StepState,
        logits: torch.Tensor | None = None,
        target: torch.Tensor | None = None,
    ) -> torch.Tensor | None:
        """Mean-1 weights ``(B,)`` from the per-sample ``losses``, or None during burn-in."""
        lam = self.lam_at(state)
        if lam is None:
            return None
        return ciw_weights(losses, lam, self.alpha)

    def extras(self, state: StepState) -> dict[str, float]:
        """Current lambda for the logs (0 during burn-in)."""
        lam = self.lam_at(state)
        return {"ciw_lambda": 0.0 if lam is None else lam}

    def hparams(self) -> dict[str, Any]:
        """Resolved hyperparameters."""
        return {
            "lam": self.lam,
            "ciw_alpha": self.alpha,
            "burnin_steps": self.burnin_steps,
            "anneal_steps": self.anneal_steps,
        }
