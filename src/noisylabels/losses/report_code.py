"""The losses the student report's published numbers were computed with (its notebook's code).

The report describes APL (NCE+RCE, NFL+RCE; Ma et al. 2020) and a confidence weighting, but the
code behind its tables computes something else. These losses reproduce that code, under names
that say what they compute, so that its numbers can be rerun. **None of them is an APL loss and
none is robust to label noise**: each is cross entropy plus a CE-shaped term, or cross entropy
rescaled. The real APL losses are ``nce+rce`` and ``nfl+rce`` (:mod:`noisylabels.losses.apl`).

==================================  ============================================================
name                                per-sample loss (the report's label for it)
==================================  ============================================================
``report-ce-over-entropy``          ``CE / H(p)`` (its "NCE")
``report-focal``                    ``-(1 - p_y)^gamma log p_y``, unnormalised (its "NFL")
``report-ce-over-entropy-plus-ce``  ``alpha CE / H(p) + beta CE`` (its "APL(NCE, RCE)"; its "RCE"
                                    is plain CE)
``report-focal-plus-ce``            ``alpha FL + beta CE`` (its "APL(NFL, RCE)")
``report-dynamic-weight-ce``        ``CE_b * mean_j w_j``, ``w_j = 1/max p_j`` if ``max p_j >=
                                    threshold`` else 1, not detached (its "dynamic weight")
==================================  ============================================================

Here ``p = softmax(logits)``, ``CE = -log(p_y + 1e-8)`` and ``H(p) = -sum_k p_k log(p_k + 1e-8)``
(the ``1e-8`` inside the logarithm as in the report's code); the focal loss and the CE of the
dynamic weight use ``log_softmax`` as that code does.
"""

from __future__ import annotations

import torch

from noisylabels.losses.common import LossModule, check_inputs, check_range, pick, reduce

#: The constant the report's code adds to probabilities inside ``log``.
REPORT_LOG_EPS = 1e-8


def _ce_eps_matrix(logits: torch.Tensor) -> torch.Tensor:
    # -log(p_k + 1e-8) for every candidate label k
    return -torch.log(logits.softmax(dim=1) + REPORT_LOG_EPS)


def report_entropy(logits: torch.Tensor) -> torch.Tensor:
    r"""Entropy of the prediction, :math:`-\sum_k p_k \log(p_k + 10^{-8})`, shape ``(B,)``."""
    p = logits.softmax(dim=1)
    return -(p * torch.log(p + REPORT_LOG_EPS)).sum(dim=1)


def report_ce_over_entropy_loss(
    logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    r"""Cross entropy divided by the prediction's entropy, :math:`CE / H(p)` (the report's "NCE").

    .. math:: \ell = \frac{-\log(p_y + 10^{-8})}{-\sum_k p_k \log(p_k + 10^{-8})}

    Not the normalised cross entropy of Ma et al. (2020), which divides by
    :math:`-\sum_k \log p_k` (the sum of CE over all labels) and is bounded in [0, 1]; this one
    is unbounded, and large where the model is confident (small entropy), so it is not robust.
    For a nearly one-hot prediction the entropy is close to 0 and the loss explodes; in float64
    the ``1e-8`` inside the logarithm even makes that entropy slightly negative (the loss then
    turns hugely negative), as in the report's code.

    Args:
        logits: ``(B, K)`` unnormalised scores.
        target: ``(B,)`` integer labels or ``(B, K)`` soft targets.
        reduction: ``"none"`` (shape ``(B,)``), ``"mean"`` or ``"sum"``.

    Example:
        >>> logits = torch.zeros(1, 4)  # uniform prediction: CE = H = log 4
        >>> round(report_ce_over_entropy_loss(logits, torch.tensor([1])).item(), 6)
        1.0
    """
    logits, target = check_inputs(logits, target)
    matrix = _ce_eps_matrix(logits) / report_entropy(logits).unsqueeze(1)
    return reduce(pick(matrix, target), reduction)


def report_focal_loss(
    logits: torch.Tensor, target: torch.Tensor, gamma: float = 0.5, reduction: str = "mean"
) -> torch.Tensor:
    r"""Unnormalised focal loss :math:`-(1 - p_y)^\gamma \log p_y` (the report's "NFL").

    The normalised focal loss of Ma et al. (2020) divides this by its sum over all labels; the
    report's code does not, so this is the plain focal loss of Lin et al. (2017), gradient
    through the factor included, with :math:`\log p` from ``log_softmax`` and
    :math:`p = \exp(\log p)` unclamped, as in that code.

    Example:
        >>> logits = torch.tensor([[2.0, 0.0, 0.0]])
        >>> round(report_focal_loss(logits, torch.tensor([0]), gamma=0.0).item(), 4)  # = CE
        0.2395
    """
    gamma = check_range("gamma", gamma, 0.0)
    logits, target = check_inputs(logits, target)
    logp = logits.log_softmax(dim=1)
    matrix = -((1 - logp.exp()) ** gamma) * logp
    return reduce(pick(matrix, target), reduction)


def report_ce_over_entropy_plus_ce_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    alpha: float = 1.0,
    beta: float = 1.0,
    reduction: str = "mean",
) -> torch.Tensor:
    r""":math:`\alpha\,CE/H(p) + \beta\,CE`: the report's "APL(NCE, RCE)" as its code computes it.

    Its "RCE" is plain cross entropy :math:`-\log(p_y + 10^{-8})`, not reverse cross entropy,
    so both terms are driven by CE and the sum is not an active-passive loss (the real one is
    ``nce+rce``).

    Example:
        >>> logits = torch.zeros(1, 4)
        >>> round(report_ce_over_entropy_plus_ce_loss(logits, torch.tensor([0])).item(), 4)
        2.3863
    """
    alpha = check_range("alpha", alpha, 0.0)
    beta = check_range("beta", beta, 0.0)
    logits, target = check_inputs(logits, target)
    ce = _ce_eps_matrix(logits)
    matrix = alpha * ce / report_entropy(logits).unsqueeze(1) + beta * ce
    return reduce(pick(matrix, target), reduction)


def report_focal_plus_ce_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    alpha: float = 1.0,
    beta: float = 1.0,
    gamma: float = 0.5,
    reduction: str = "mean",
) -> torch.Tensor:
    r""":math:`\alpha\,FL_\gamma + \beta\,CE`: the report's "APL(NFL, RCE)" as its code computes it.

    The focal term is unnormalised (:func:`report_focal_loss`) and the "RCE" is plain cross
    entropy :math:`-\log(p_y + 10^{-8})`; the real loss is ``nfl+rce``.

    Example:
        >>> logits = torch.tensor([[2.0, 0.0, 0.0]])
        >>> round(report_focal_plus_ce_loss(logits, torch.tensor([0]), gamma=0.0).item(), 4)
        0.4791
    """
    alpha = check_range("alpha", alpha, 0.0)
    beta = check_range("beta", beta, 0.0)
    gamma = check_range("gamma", gamma, 0.0)
    logits, target = check_inputs(logits, target)
    logp = logits.log_softmax(dim=1)
    focal = -((1 - logp.exp()) ** gamma) * logp
    matrix = alpha * focal + beta * _ce_eps_matrix(logits)
    return reduce(pick(matrix, target), reduction)


def report_dynamic_weights(logits: torch.Tensor, threshold: float = 0.6) -> torch.Tensor:
    r"""The report's "dynamic weights", shape ``(B,)``, with gradient (its code does not detach).

    :math:`w_b = 1/\max_k p_{bk}` where :math:`\max_k p_{bk} \ge` ``threshold``, else 1.
    """
    conf = logits.softmax(dim=1).amax(dim=1)
    return torch.where(conf < threshold, torch.ones_like(conf), 1.0 / conf)


def report_dynamic_weight_ce_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    threshold: float = 0.6,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Cross entropy rescaled by the batch's mean "dynamic weight" (the report's weighting).

    The report's code multiplies the *batch-mean* cross entropy by the per-sample weights and
    takes the mean, :math:`\overline{CE} \cdot \overline{w}`, with
    :math:`w_j = 1/\max_k p_{jk}` if :math:`\max_k p_{jk} \ge` ``threshold`` else 1, not
    detached. That is one factor for the whole batch, not a per-sample weighting: the
    per-sample loss here is

    .. math:: \ell_b = CE_b \cdot \frac1B \sum_j w_j ,

    whose batch mean is the report's loss (same value, same gradient). It depends on the whole
    batch, and the factor is at least 1 and grows as the model becomes confident, so it acts as
    a larger learning rate on confident batches; it does nothing against label noise.

    Args:
        logits: ``(B, K)`` unnormalised scores.
        target: ``(B,)`` integer labels or ``(B, K)`` soft targets.
        threshold: Confidence from which a sample's weight is ``1/max p``, in ``(0, 1]``.
        reduction: ``"none"`` (shape ``(B,)``), ``"mean"`` or ``"sum"``.

    Example:
        >>> logits = torch.tensor([[3.0, 0.0], [0.0, 0.0]])  # max p 0.953 and 0.5
        >>> w = report_dynamic_weights(logits)
        >>> [round(v, 4) for v in w.tolist()]
        [1.0498, 1.0]
    """
    threshold = check_range("threshold", threshold, 0.0, 1.0, lo_open=True)
    logits, target = check_inputs(logits, target)
    if logits.shape[0] == 0:
        return reduce(logits.new_zeros(0), reduction)
    factor = report_dynamic_weights(logits, threshold).mean()
    matrix = -logits.log_softmax(dim=1) * factor
    return reduce(pick(matrix, target), reduction)


class ReportCEOverEntropyLoss(LossModule):
    """CE / H(p): the report's "NCE" as its code computes it; not NCE, not robust."""

    is_bounded = False

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-sample loss, shape ``(B,)``."""
        return report_ce_over_entropy_loss(logits, target, reduction="none")


class ReportFocalLoss(LossModule):
    """Unnormalised focal loss: the report's "NFL" as its code computes it; not NFL."""

    is_bounded = False

    def __init__(
        self, gamma: float = 0.5, *, num_classes: int | None = None, reduction: str = "mean"
    ) -> None:
        super().__init__(num_classes=num_classes, reduction=reduction)
        self.gamma = check_range("gamma", gamma, 0.0)

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-sample loss, shape ``(B,)``."""
        return report_focal_loss(logits, target, self.gamma, reduction="none")


class ReportCEOverEntropyPlusCELoss(LossModule):
    """alpha CE/H(p) + beta CE: the report's "APL(NCE, RCE)" code; not APL, not robust."""

    is_bounded = False

    def __init__(
        self,
        alpha: float = 1.0,
        beta: float = 1.0,
        *,
        num_classes: int | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(num_classes=num_classes, reduction=reduction)
        self.alpha = check_range("alpha", alpha, 0.0)
        self.beta = check_range("beta", beta, 0.0)

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-sample loss, shape ``(B,)``."""
        return report_ce_over_entropy_plus_ce_loss(
            logits, target, self.alpha, self.beta, reduction="none"
        )


class ReportFocalPlusCELoss(LossModule):
    """alpha FL + beta CE: the report's "APL(NFL, RCE)" code; not APL, not robust."""

    is_bounded = False

    def __init__(
        self,
        alpha: float = 1.0,
        beta: float = 1.0,
        gamma: float = 0.5,
        *,
        num_classes: int | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(num_classes=num_classes, reduction=reduction)
        self.alpha = check_range("alpha", alpha, 0.0)
        self.beta = check_range("beta", beta, 0.0)
        self.gamma = check_range("gamma", gamma, 0.0)

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-sample loss, shape ``(B,)``."""
        return report_focal_plus_ce_loss(
            logits, target, self.alpha, self.beta, self.gamma, reduction="none"
        )


class ReportDynamicWeightCELoss(LossModule):
    """CE times the batch-mean of 1/max p (max p >= threshold, else 1): the report's weighting.

    A whole-batch rescaling of cross entropy, not a per-sample weighting and not robust; see
    :func:`report_dynamic_weight_ce_loss`.
    """

    is_bounded = False

    def __init__(
        self, threshold: float = 0.6, *, num_classes: int | None = None, reduction: str = "mean"
    ) -> None:
        super().__init__(num_classes=num_classes, reduction=reduction)
        self.threshold = check_range("threshold", threshold, 0.0, 1.0, lo_open=True)

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-sample loss, shape ``(B,)``; each value depends on the whole batch."""
        return report_dynamic_weight_ce_loss(logits, target, self.threshold, reduction="none")


#: The report-code losses by name (registered in :data:`noisylabels.losses.LOSSES`).
REPORT_CODE_LOSSES: dict[str, type[LossModule]] = {
    "report-ce-over-entropy": ReportCEOverEntropyLoss,
    "report-focal": ReportFocalLoss,
    "report-ce-over-entropy-plus-ce": ReportCEOverEntropyPlusCELoss,
    "report-focal-plus-ce": ReportFocalPlusCELoss,
    "report-dynamic-weight-ce": ReportDynamicWeightCELoss,
}
