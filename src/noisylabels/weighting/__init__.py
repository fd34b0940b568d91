"""Per-batch sample and class weighting, mixup variants and small-loss selection.

A weighting is a method part: :data:`WEIGHTINGS` maps each name (``none``, ``confidence``,
``ciw``, ``cicw``, ``class``) to a typed parameter dataclass that builds it
(:mod:`noisylabels.weighting.parts`); :mod:`noisylabels.weighting.base` holds the contract a
training step relies on (:class:`SampleWeighting`, :class:`StepState`, :func:`weighted_mean`).

Everything here works on *detached* per-sample quantities of one mini-batch (losses, logits),
so it combines with any per-sample loss and needs no dataset-level state. The exception is the
beta mixture of dynamic mixup (:mod:`noisylabels.weighting.bmm`), which the dynamic-mixup method
fits once per epoch on losses it stores by dataset index.

========================  ========================================================================
``confidence``            :func:`confidence_weights`, :class:`ConfidenceWeighting`
``ciw``                   :func:`ciw_weights`, :class:`CIWeighting` (Kumar & Amid 2021)
``cicw`` (classes)        :func:`cicw_targets`, :class:`ClassReweighting`
mixup                     :func:`mixup`, :func:`weighted_mixup` (``sample_w``, ``weight_w``,
                          ``sample_weight_w``, ``label_smoothing_w``)
beta mixture              :class:`BetaMixture`, :func:`fit_loss_mixture` (Arazo et al. 2019)
co-teaching               :func:`forget_rate_at`, :func:`coteaching_select` (Han et al. 2018)
========================  ========================================================================

Example:
    >>> import torch
    >>> losses = torch.tensor([0.1, 0.2, 3.0])
    >>> w = ciw_weights(losses, lam=0.5)
    >>> round(w.mean().item(), 6), bool(w[2] < w[0])
    (1.0, True)
"""

from noisylabels.weighting.base import MethodContext, SampleWeighting, StepState, weighted_mean
from noisylabels.weighting.bmm import BetaMixture, LossMixture, beta_log_pdf, fit_loss_mixture
from noisylabels.weighting.cicw import (
    DIVERGENCES,
    ClassReweighting,
    cicw_targets,
    class_reweighted_ce,
    class_targets_from_costs,
    l2_class_targets,
    soft_class_targets,
)
from noisylabels.weighting.ciw import CIWeighting, ciw_lambda, ciw_weights
from noisylabels.weighting.confidence import (
    ConfidenceWeighting,
    confidence_weights,
    label_confidence,
)
from noisylabels.weighting.coteaching import (
    coteaching_select,
    forget_rate_at,
    num_remember,
    small_loss_indices,
)
from noisylabels.weighting.mixup import (
    MODES as MIXUP_MODES,
)
from noisylabels.weighting.mixup import (
    MixedBatch,
    mix_pairs,
    mixup,
    partner_indices,
    sample_beta,
    smoothed_targets,
    smoothing_scale,
    weighted_mixup,
)
from noisylabels.weighting.parts import WEIGHTINGS, WeightingPart

__all__ = [
    "DIVERGENCES",
    "MIXUP_MODES",
    "WEIGHTINGS",
    "BetaMixture",
    "CIWeighting",
    "ClassReweighting",
    "ConfidenceWeighting",
    "LossMixture",
    "MethodContext",
    "MixedBatch",
    "SampleWeighting",
    "StepState",
    "WeightingPart",
    "beta_log_pdf",
    "cicw_targets",
    "ciw_lambda",
    "ciw_weights",
    "class_reweighted_ce",
    "class_targets_from_costs",
    "confidence_weights",
    "coteaching_select",
    "fit_loss_mixture",
    "forget_rate_at",
    "l2_class_targets",
    "label_confidence",
    "mix_pairs",
    "mixup",
    "num_remember",
    "partner_indices",
    "sample_beta",
    "small_loss_indices",
    "smoothed_targets",
    "smoothing_scale",
    "soft_class_targets",
    "weighted_mean",
    "weighted_mixup",
]
