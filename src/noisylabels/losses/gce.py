"""Generalised cross entropy (Zhang & Sabuncu, NeurIPS 2018)."""

from __future__ import annotations

import torch

from noisylabels.losses.common import (
    LossModule,
    check_inputs,
    check_range,
    clamped_softmax,
    pick,
    reduce,
)


def check_q(q: object) -> float:
    """``q`` of GCE/NGCE must lie in ``(0, 1]``."""
    return check_range("q", q, 0.0, 1.0, lo_open=True)


def gce_matrix(logits: torch.Tensor, q: float) -> torch.Tensor:
    """``L[b, k] = (1 - p_k^q) / q`` with ``p`` clamped to ``[1e-7, 1]``."""
    return (1.0 - clamped_softmax(logits).pow(q)) / q


def gce_loss(
    logits: torch.Tensor, target: torch.Tensor, q: float = 0.7, reduction: str = "mean"
) -> torch.Tensor:
    r"""Generalised cross entropy :math:`(1 - p_y^q) / q`, bounded by ``1/q``.

    ``q -> 0`` gives cross entropy and ``q = 1`` gives MAE (``1 - p_y``). ``p`` is clamped to
    ``[1e-7, 1]`` before the power, as in the APL code.

    Args:
        logits: ``(B, K)`` unnormalised scores.
        target: ``(B,)`` integer labels or ``(B, K)`` soft targets (loss mixed over labels).
        q: Exponent in ``(0, 1]`` (0.7 in the paper and the APL configs).
        reduction: ``"none"`` (shape ``(B,)``), ``"mean"`` or ``"sum"``.

    Example:
        >>> logits = torch.tensor([[0.0, 0.0]])
        >>> round(gce_loss(logits, torch.tensor([0]), q=1.0).item(), 4)  # = MAE
        0.5
    """
    q = check_q(q)
    logits, target = check_inputs(logits, target)
    return reduce(pick(gce_matrix(logits, q), target), reduction)


class GCELoss(LossModule):
    """Generalised cross entropy (1 - p_y^q) / q."""

    kind = "active"
    is_bounded = True

    def __init__(
        self, q: float = 0.7, *, num_classes: int | None = None, reduction: str = "mean"
    ) -> None:
        super().__init__(num_classes=num_classes, reduction=reduction)
        self.q = check_q(q)

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-sample loss, shape ``(B,)``."""
        return gce_loss(logits, target, self.q, reduction="none")
