"""Normalised cross entropy (Ma et al., ICML 2020)."""

from __future__ import annotations

import torch

from noisylabels.losses.common import LossModule, check_inputs, pick, reduce


def nce_matrix(logits: torch.Tensor) -> torch.Tensor:
    """``L[b, k] = log p_k / sum_j log p_j``."""
    logp = logits.log_softmax(dim=1)
    return logp / logp.sum(dim=1, keepdim=True)


def nce_loss(logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    r"""Normalised cross entropy :math:`\log p_y / \sum_k \log p_k`, in ``[0, 1]``.

    Computed from ``log_softmax`` without clamping, as in the APL code: the logs are finite for
    finite logits, and the denominator is at most :math:`-K \ln K < 0` (since
    :math:`\prod_k p_k \le K^{-K}`), so it is never 0.

    Args:
        logits: ``(B, K)`` unnormalised scores.
        target: ``(B,)`` integer labels or ``(B, K)`` soft targets (loss mixed over labels).
        reduction: ``"none"`` (shape ``(B,)``), ``"mean"`` or ``"sum"``.

    Example:
        >>> logits = torch.tensor([[0.0, 0.0, 0.0, 0.0]])
        >>> nce_loss(logits, torch.tensor([2])).item()
        0.25
    """
    logits, target = check_inputs(logits, target)
    return reduce(pick(nce_matrix(logits), target), reduction)


class NCELoss(LossModule):
    """Normalised cross entropy log p_y / sum_k log p_k."""

    kind = "active"
    is_bounded = True

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-sample loss, shape ``(B,)``."""
        return nce_loss(logits, target, reduction="none")
