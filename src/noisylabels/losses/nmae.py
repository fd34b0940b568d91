"""Normalised MAE (Ma et al., ICML 2020)."""

from __future__ import annotations

import torch

from noisylabels.losses.common import LossModule, check_inputs, pick, reduce
from noisylabels.losses.mae import mae_matrix


def nmae_matrix(logits: torch.Tensor) -> torch.Tensor:
    """``L[b, k] = (1 - p_k) / (K - 1)``."""
    return mae_matrix(logits) / (logits.shape[1] - 1)


def nmae_loss(logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    r"""Normalised MAE :math:`(1 - p_y) / (K - 1)`.

    The normalisation of Ma et al. divides the loss by its sum over all labels:
    :math:`\mathrm{MAE}(p, y) / \sum_j \mathrm{MAE}(p, j)`, and :math:`\sum_j (1 - p_j) = K - 1`
    (the same with the full L1 distance: :math:`2(1-p_y) / 2(K-1)`). So the losses of the K
    possible labels sum to 1, like NCE, NFL and NGCE.

    Note: the APL code's ``NormalizedMeanAbsoluteError`` multiplies the *reduced* MAE by
    :math:`1/(2(K-1))`, which is half of this; to reproduce it, halve ``beta``.

    Args:
        logits: ``(B, K)`` unnormalised scores.
        target: ``(B,)`` integer labels or ``(B, K)`` soft targets (loss mixed over labels).
        reduction: ``"none"`` (shape ``(B,)``), ``"mean"`` or ``"sum"``.

    Example:
        >>> logits = torch.tensor([[0.0, 0.0, 0.0]])
        >>> round(nmae_loss(logits, torch.tensor([0])).item(), 4)
        0.3333
    """
    logits, target = check_inputs(logits, target)
    return reduce(pick(nmae_matrix(logits), target), reduction)


class NMAELoss(LossModule):
    """Normalised MAE (1 - p_y) / (K - 1)."""

    kind = "passive"
    is_bounded = True

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-sample loss, shape ``(B,)``."""
        return nmae_loss(logits, target, reduction="none")
