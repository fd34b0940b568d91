"""Normalised generalised cross entropy (Ma et al., ICML 2020)."""

from __future__ import annotations

import torch

from noisylabels.losses.common import LossModule, check_inputs, clamped_softmax, pick, reduce
from noisylabels.losses.gce import check_q


def ngce_matrix(logits: torch.Tensor, q: float) -> torch.Tensor:
    """``L[b, k] = (1 - p_k^q) / (K - sum_j p_j^q)`` with ``p`` clamped to ``[1e-7, 1]``."""
    pq = clamped_softmax(logits).pow(q)
    return (1.0 - pq) / (logits.shape[1] - pq.sum(dim=1, keepdim=True))


def ngce_loss(
    logits: torch.Tensor, target: torch.Tensor, q: float = 0.7, reduction: str = "mean"
) -> torch.Tensor:
    r"""Normalised GCE :math:`(1 - p_y^q) / (K - \sum_k p_k^q)`, in ``[0, 1]``.

    The GCE of label ``y`` divided by the sum of the GCEs of all ``K`` labels (the ``1/q``
    cancels). ``p`` is clamped to ``[1e-7, 1]`` as in the APL code.

    Args:
        logits: ``(B, K)`` unnormalised scores.
        target: ``(B,)`` integer labels or ``(B, K)`` soft targets (loss mixed over labels).
        q: Exponent in ``(0, 1]`` (APL configs: 0.1 on CIFAR-10 and MNIST, 0.7 on CIFAR-100).
        reduction: ``"none"`` (shape ``(B,)``), ``"mean"`` or ``"sum"``.

    Example:
        >>> logits = torch.tensor([[0.0, 0.0, 0.0, 0.0]])
        >>> round(ngce_loss(logits, torch.tensor([3]), q=0.1).item(), 4)
        0.25
    """
    q = check_q(q)
    logits, target = check_inputs(logits, target)
    return reduce(pick(ngce_matrix(logits, q), target), reduction)


class NGCELoss(LossModule):
    """Normalised GCE (1 - p_y^q) / (K - sum_k p_k^q)."""

    kind = "active"
    is_bounded = True

    def __init__(
        self, q: float = 0.7, *, num_classes: int | None = None, reduction: str = "mean"
    ) -> None:
        super().__init__(num_classes=num_classes, reduction=reduction)
        self.q = check_q(q)

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-sample loss, shape ``(B,)``."""
        return ngce_loss(logits, target, self.q, reduction="none")
