"""Symmetric cross entropy (Wang et al., ICCV 2019)."""

from __future__ import annotations

import torch

from noisylabels.losses.ce import ce_matrix
from noisylabels.losses.common import LossModule, check_inputs, check_range, pick, reduce
from noisylabels.losses.rce import rce_matrix


def sce_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    alpha: float = 0.1,
    beta: float = 1.0,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Symmetric cross entropy :math:`\alpha\,\mathrm{CE} + \beta\,\mathrm{RCE}`.

    RCE is :func:`~noisylabels.losses.rce.rce_loss` (:math:`\approx 9.21 (1 - p_y)`). Defaults
    are the CIFAR-10 values of the APL/SCE configs (MNIST 0.01/1, CIFAR-100 6.0/0.1).

    Args:
        logits: ``(B, K)`` unnormalised scores.
        target: ``(B,)`` integer labels or ``(B, K)`` soft targets (loss mixed over labels).
        alpha: Weight of CE, ``>= 0``.
        beta: Weight of RCE, ``>= 0``.
        reduction: ``"none"`` (shape ``(B,)``), ``"mean"`` or ``"sum"``.

    Example:
        >>> logits = torch.tensor([[0.0, 0.0]])
        >>> round(sce_loss(logits, torch.tensor([0]), alpha=1.0, beta=0.0).item(), 4)  # CE
        0.6931
    """
    alpha = check_range("alpha", alpha, 0.0)
    beta = check_range("beta", beta, 0.0)
    logits, target = check_inputs(logits, target)
    matrix = alpha * ce_matrix(logits) + beta * rce_matrix(logits)
    return reduce(pick(matrix, target), reduction)


class SCELoss(LossModule):
    """Symmetric cross entropy alpha*CE + beta*RCE."""

    kind = "other"
    is_bounded = False

    def __init__(
        self,
        alpha: float = 0.1,
        beta: float = 1.0,
        *,
        num_classes: int | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(num_classes=num_classes, reduction=reduction)
        self.alpha = check_range("alpha", alpha, 0.0)
        self.beta = check_range("beta", beta, 0.0)
        self.is_bounded = self.alpha == 0.0

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-sample loss, shape ``(B,)``."""
        return sce_loss(logits, target, self.alpha, self.beta, reduction="none")
