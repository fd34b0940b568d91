"""Focal loss (Lin et al., ICCV 2017), the APL paper's FL baseline."""

from __future__ import annotations

import torch

from noisylabels.losses.common import PROB_EPS, LossModule, check_inputs, check_range, pick, reduce


def focal_factor(logp: torch.Tensor, gamma: float, detach: bool) -> torch.Tensor:
    r"""The modulating factor :math:`(1 - p)^\gamma` from log-probabilities.

    ``1 - p`` is computed as ``-expm1(log p)`` (exact near ``p = 1``) and clamped at 1e-7 so that
    the derivative of ``x^gamma`` stays finite for ``gamma < 1``.
    """
    one_minus_p = (-torch.expm1(logp)).clamp(min=PROB_EPS)
    if detach:
        one_minus_p = one_minus_p.detach()
    return one_minus_p.pow(gamma)


def fl_matrix(logits: torch.Tensor, gamma: float, detach_factor: bool = False) -> torch.Tensor:
    """``L[b, k] = -(1 - p_k)^gamma log p_k``."""
    logp = logits.log_softmax(dim=1)
    return -focal_factor(logp, gamma, detach_factor) * logp


def fl_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    gamma: float = 0.5,
    detach_factor: bool = False,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Focal loss :math:`-(1 - p_y)^\gamma \log p_y` (Lin et al. 2017).

    ``gamma = 0`` is cross entropy. The APL configs use ``gamma = 0.5``.

    Args:
        logits: ``(B, K)`` unnormalised scores.
        target: ``(B,)`` integer labels or ``(B, K)`` soft targets (loss mixed over labels).
        gamma: Focusing parameter, ``>= 0``.
        detach_factor: If True the factor :math:`(1 - p_y)^\gamma` carries no gradient, as in
            the focal loss of the APL code (taken from clcarwin/focal_loss_pytorch). The default
            (False) differentiates it, as in the paper.
        reduction: ``"none"`` (shape ``(B,)``), ``"mean"`` or ``"sum"``.

    Example:
        >>> logits = torch.tensor([[2.0, 0.0, 0.0]])
        >>> round(fl_loss(logits, torch.tensor([0]), gamma=0.0).item(), 4)  # = CE
        0.2395
    """
    gamma = check_range("gamma", gamma, 0.0)
    logits, target = check_inputs(logits, target)
    return reduce(pick(fl_matrix(logits, gamma, detach_factor), target), reduction)


class FocalLoss(LossModule):
    """Focal loss -(1 - p_y)^gamma log p_y (Lin et al. 2017)."""

    kind = "active"
    is_bounded = False

    def __init__(
        self,
        gamma: float = 0.5,
        detach_factor: bool = False,
        *,
        num_classes: int | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(num_classes=num_classes, reduction=reduction)
        self.gamma = check_range("gamma", gamma, 0.0)
        self.detach_factor = bool(detach_factor)

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-sample loss, shape ``(B,)``."""
        return fl_loss(logits, target, self.gamma, self.detach_factor, reduction="none")
