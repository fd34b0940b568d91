"""Cross entropy, for integer or soft targets."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from noisylabels.errors import UsageError
from noisylabels.losses.common import LossModule, check_inputs, reduce


def ce_matrix(logits: torch.Tensor) -> torch.Tensor:
    """``L[b, k] = -log p_k``: the cross entropy of every candidate label."""
    return -logits.log_softmax(dim=1)


def ce_loss(logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    r"""Cross entropy :math:`-\log p_y`, or :math:`-\sum_k t_k \log p_k` for a soft target.

    Computed from ``log_softmax`` (no clamp needed) in float32, or float64 for float64 logits.

    Args:
        logits: ``(B, K)`` unnormalised scores.
        target: ``(B,)`` integer labels, or ``(B, K)`` soft target rows summing to 1.
        reduction: ``"none"`` (shape ``(B,)``), ``"mean"`` or ``"sum"``.

    Example:
        >>> logits = torch.tensor([[2.0, 0.0, 0.0]])
        >>> round(ce_loss(logits, torch.tensor([0])).item(), 4)
        0.2395
    """
    logits, target = check_inputs(logits, target)
    if target.dim() == 1:
        per_sample = F.cross_entropy(logits, target, reduction="none")
    else:
        per_sample = (ce_matrix(logits) * target).sum(dim=1)
    return reduce(per_sample, reduction)


def soft_cross_entropy(
    logits: torch.Tensor, target_probs: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    r"""Cross entropy against a soft target, :math:`-\sum_k t_k \log p_k` (mixup, bootstrapping).

    Args:
        logits: ``(B, K)`` unnormalised scores.
        target_probs: ``(B, K)``, rows non-negative and summing to 1.
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.
    """
    if not (isinstance(target_probs, torch.Tensor) and target_probs.is_floating_point()):
        got = target_probs.dtype if isinstance(target_probs, torch.Tensor) else type(target_probs)
        raise UsageError(f"soft_cross_entropy needs a floating (B, K) target, got {got}")
    return ce_loss(logits, target_probs, reduction)


class CELoss(LossModule):
    """Cross entropy (accepts integer or soft targets)."""

    kind = "active"
    is_bounded = False

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-sample loss, shape ``(B,)``."""
        return ce_loss(logits, target, reduction="none")
