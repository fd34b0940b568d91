"""Normalised focal loss (Ma et al., ICML 2020)."""

from __future__ import annotations

import torch

from noisylabels.losses.common import LossModule, check_inputs, check_range, pick, reduce
from noisylabels.losses.fl import focal_factor


def nfl_matrix(logits: torch.Tensor, gamma: float, detach_factor: bool = True) -> torch.Tensor:
    """``L[b, k] = (1 - p_k)^g log p_k / sum_j (1 - p_j)^g log p_j``."""
    logp = logits.log_softmax(dim=1)
    terms = focal_factor(logp, gamma, detach_factor) * logp
    return terms / terms.sum(dim=1, keepdim=True)


def nfl_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    gamma: float = 0.5,
    detach_factor: bool = True,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Normalised focal loss, in ``[0, 1]``.

    .. math:: \mathrm{NFL} = \frac{(1 - p_y)^\gamma \log p_y}{\sum_k (1 - p_k)^\gamma \log p_k}.

    As in the official APL code, the factors :math:`(1 - p_k)^\gamma` (numerator and denominator)
    carry no gradient by default; only the log-probabilities do. ``gamma = 0`` gives NCE.

    Args:
        logits: ``(B, K)`` unnormalised scores.
        target: ``(B,)`` integer labels or ``(B, K)`` soft targets (loss mixed over labels).
        gamma: Focusing parameter, ``>= 0`` (APL configs: 0.5).
        detach_factor: Whether the focal factors are detached (True, as in the APL code).
        reduction: ``"none"`` (shape ``(B,)``), ``"mean"`` or ``"sum"``.

    Example:
        >>> logits = torch.tensor([[0.0, 0.0, 0.0, 0.0]])
        >>> nfl_loss(logits, torch.tensor([1])).item()
        0.25
    """
    gamma = check_range("gamma", gamma, 0.0)
    logits, target = check_inputs(logits, target)
    return reduce(pick(nfl_matrix(logits, gamma, detach_factor), target), reduction)


class NFLLoss(LossModule):
    """Normalised focal loss; focal factors detached as in the APL code."""

    kind = "active"
    is_bounded = True

    def __init__(
        self,
        gamma: float = 0.5,
        detach_factor: bool = True,
        *,
        num_classes: int | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(num_classes=num_classes, reduction=reduction)
        self.gamma = check_range("gamma", gamma, 0.0)
        self.detach_factor = bool(detach_factor)

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-sample loss, shape ``(B,)``."""
        return nfl_loss(logits, target, self.gamma, self.detach_factor, reduction="none")
