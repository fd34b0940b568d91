"""Mean absolute error on the probability simplex, in the APL code's "reduced" form."""

from __future__ import annotations

import torch

from noisylabels.losses.common import LossModule, check_inputs, pick, reduce


def mae_matrix(logits: torch.Tensor) -> torch.Tensor:
    """``L[b, k] = 1 - p_k``."""
    return 1.0 - logits.softmax(dim=1)


def mae_loss(logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    r"""MAE as in the APL code: :math:`1 - p_y` (Ghosh et al. 2017; Ma et al. 2020).

    The L1 distance between ``p`` and the one-hot label is twice this:
    :math:`\lVert p - e_y \rVert_1 = 2 (1 - p_y)`. APL's ``MeanAbsoluteError`` computes the halved
    ("reduced") form and so do we; the factor 2 only rescales ``beta`` in APL.

    Args:
        logits: ``(B, K)`` unnormalised scores.
        target: ``(B,)`` integer labels or ``(B, K)`` soft targets (loss mixed over labels,
            i.e. :math:`1 - \langle t, p \rangle`).
        reduction: ``"none"`` (shape ``(B,)``), ``"mean"`` or ``"sum"``.

    Example:
        >>> logits = torch.tensor([[0.0, 0.0]])
        >>> mae_loss(logits, torch.tensor([1])).item()
        0.5
    """
    logits, target = check_inputs(logits, target)
    return reduce(pick(mae_matrix(logits), target), reduction)


class MAELoss(LossModule):
    """MAE 1 - p_y (half the L1 distance to the one-hot label, as in the APL code)."""

    kind = "passive"
    is_bounded = True

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-sample loss, shape ``(B,)``."""
        return mae_loss(logits, target, reduction="none")
