"""Reverse cross entropy (Wang et al., ICCV 2019), as computed by the official SCE/APL code."""

from __future__ import annotations

import math

import torch

from noisylabels.losses.common import LossModule, check_inputs, clamped_softmax, pick, reduce

#: log(0) in the reversed cross entropy is replaced by log of this clamp of the one-hot label.
LABEL_CLAMP = 1e-4
#: The constant of RCE: ``-ln(1e-4) = 9.2103...`` (natural log; the SCE paper's ``A = -4`` is
#: the base-10 logarithm).
RCE_CONSTANT = -math.log(LABEL_CLAMP)


def rce_matrix(logits: torch.Tensor) -> torch.Tensor:
    """``L[b, k] = -ln(1e-4) * sum_{j != k} clamp(p_j, 1e-7, 1)``."""
    p = clamped_softmax(logits)
    return RCE_CONSTANT * (p.sum(dim=1, keepdim=True) - p)


def rce_loss(logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    r"""Reverse cross entropy :math:`-\sum_k p_k \log \mathrm{clamp}(e_{y,k}, 10^{-4}, 1)`.

    The one-hot label's zeros are clamped to 1e-4 and ``p`` to ``[1e-7, 1]``, exactly as in the
    official SCE (TensorFlow) and APL (PyTorch) code. With the natural log this is

    .. math:: \mathrm{RCE} = -\ln(10^{-4}) \sum_{k \ne y} p_k \approx 9.2103\,(1 - p_y),

    (up to the 1e-7 clamp of ``p``). The SCE paper writes the constant as ``A = -4``, which is
    ``log10(1e-4)``; the code's natural log makes it -9.21.

    Args:
        logits: ``(B, K)`` unnormalised scores.
        target: ``(B,)`` integer labels or ``(B, K)`` soft targets (loss mixed over labels).
        reduction: ``"none"`` (shape ``(B,)``), ``"mean"`` or ``"sum"``.

    Example:
        >>> logits = torch.tensor([[0.0, 0.0]])
        >>> round(rce_loss(logits, torch.tensor([0])).item(), 4)  # 9.2103 * 0.5
        4.6052
    """
    logits, target = check_inputs(logits, target)
    return reduce(pick(rce_matrix(logits), target), reduction)


class RCELoss(LossModule):
    """Reverse cross entropy, = -ln(1e-4) * (1 - p_y) ~ 9.21 * (1 - p_y)."""

    kind = "passive"
    is_bounded = True

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-sample loss, shape ``(B,)``."""
        return rce_loss(logits, target, reduction="none")
