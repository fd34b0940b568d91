"""Cross entropy with label smoothing (Szegedy et al., CVPR 2016)."""

from __future__ import annotations

import torch

from noisylabels.losses.common import LossModule, check_inputs, check_range, pick, reduce


def label_smoothing_matrix(logits: torch.Tensor, eps: float) -> torch.Tensor:
    """``L[b, k] = -(1 - eps) log p_k - (eps / K) sum_j log p_j``."""
    logp = logits.log_softmax(dim=1)
    return -(1.0 - eps) * logp - eps * logp.mean(dim=1, keepdim=True)


def label_smoothing_loss(
    logits: torch.Tensor, target: torch.Tensor, eps: float = 0.1, reduction: str = "mean"
) -> torch.Tensor:
    r"""Cross entropy against the smoothed target :math:`(1 - \varepsilon) e_y + \varepsilon / K`.

    The uniform part includes the true class, as in ``torch.nn.CrossEntropyLoss(label_smoothing=)``
    and the SCE repository's ``lsr`` (eps = 0.1). (The bi-tempered loss's ``label_smoothing``
    spreads ``eps`` over the K - 1 other classes instead.)

    Args:
        logits: ``(B, K)`` unnormalised scores.
        target: ``(B,)`` integer labels or ``(B, K)`` soft targets (smoothed the same way).
        eps: Smoothing in ``[0, 1]``.
        reduction: ``"none"`` (shape ``(B,)``), ``"mean"`` or ``"sum"``.

    Example:
        >>> logits = torch.tensor([[2.0, 0.0, 0.0]])
        >>> round(label_smoothing_loss(logits, torch.tensor([0]), eps=0.0).item(), 4)  # CE
        0.2395
    """
    eps = check_range("eps", eps, 0.0, 1.0)
    logits, target = check_inputs(logits, target)
    return reduce(pick(label_smoothing_matrix(logits, eps), target), reduction)


class LabelSmoothingLoss(LossModule):
    """Cross entropy against (1 - eps) * onehot(y) + eps / K."""

    kind = "other"
    is_bounded = False

    def __init__(
        self, eps: float = 0.1, *, num_classes: int | None = None, reduction: str = "mean"
    ) -> None:
        super().__init__(num_classes=num_classes, reduction=reduction)
        self.eps = check_range("eps", eps, 0.0, 1.0)

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-sample loss, shape ``(B,)``."""
        return label_smoothing_loss(logits, target, self.eps, reduction="none")
