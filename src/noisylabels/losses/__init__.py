"""Robust losses for learning with noisy labels.

Every loss is a pure function ``xxx_loss(logits, target, <hparams>, reduction="mean")`` and a
thin module ``XXXLoss`` that stores the hyperparameters. Logits are ``(B, K)``; targets are
integer labels ``(B,)`` or soft targets ``(B, K)``; ``reduction="none"`` returns the per-sample
losses ``(B,)``. Losses are computed in float32 (float64 for float64 logits), so bfloat16 and
float16 logits get a float32 loss.

By name::

    >>> from noisylabels import losses
    >>> loss = losses.get("nce+rce", num_classes=10, alpha=1.0, beta=1.0)
    >>> logits, y = torch.zeros(4, 10), torch.tensor([0, 1, 2, 3])
    >>> loss(logits, y, reduction="none").shape
    torch.Size([4])
"""

from __future__ import annotations

import inspect
from typing import Any

import torch  # noqa: F401  (used by the doctest above)

from noisylabels.errors import UsageError
from noisylabels.losses.apl import (
    ACTIVE_LOSSES,
    PASSIVE_LOSSES,
    ActivePassiveLoss,
    apl_loss,
)
from noisylabels.losses.bitempered import (
    BiTemperedLoss,
    bitempered_loss,
    exp_t,
    log_t,
    tempered_normalizer,
    tempered_softmax,
)
from noisylabels.losses.bootstrap import (
    BootstrapHardLoss,
    BootstrapSoftLoss,
    bootstrap_hard_loss,
    bootstrap_soft_loss,
)
from noisylabels.losses.ce import CELoss, ce_loss, soft_cross_entropy
from noisylabels.losses.common import LossModule, reduce
from noisylabels.losses.fl import FocalLoss, fl_loss
from noisylabels.losses.gce import GCELoss, gce_loss
from noisylabels.losses.label_smoothing import LabelSmoothingLoss, label_smoothing_loss
from noisylabels.losses.mae import MAELoss, mae_loss
from noisylabels.losses.nce import NCELoss, nce_loss
from noisylabels.losses.nfl import NFLLoss, nfl_loss
from noisylabels.losses.ngce import NGCELoss, ngce_loss
from noisylabels.losses.nmae import NMAELoss, nmae_loss
from noisylabels.losses.rce import RCE_CONSTANT, RCELoss, rce_loss
from noisylabels.losses.report_code import (
    REPORT_CODE_LOSSES,
    ReportCEOverEntropyLoss,
    ReportCEOverEntropyPlusCELoss,
    ReportDynamicWeightCELoss,
    ReportFocalLoss,
    ReportFocalPlusCELoss,
    report_ce_over_entropy_loss,
    report_ce_over_entropy_plus_ce_loss,
    report_dynamic_weight_ce_loss,
    report_focal_loss,
    report_focal_plus_ce_loss,
)
from noisylabels.losses.sce import SCELoss, sce_loss
from noisylabels.registry import Registry

#: Loss classes by name. Pairs "active+passive" are resolved by :func:`get`, not stored here.
LOSSES: Registry[type[LossModule]] = Registry("loss")

for _name, _cls in (
    ("ce", CELoss),
    ("fl", FocalLoss),
    ("mae", MAELoss),
    ("rce", RCELoss),
    ("nce", NCELoss),
    ("nfl", NFLLoss),
    ("gce", GCELoss),
    ("ngce", NGCELoss),
    ("nmae", NMAELoss),
    ("sce", SCELoss),
    ("label_smoothing", LabelSmoothingLoss),
    ("bootstrap_soft", BootstrapSoftLoss),
    ("bootstrap_hard", BootstrapHardLoss),
    ("apl", ActivePassiveLoss),
    ("bitempered", BiTemperedLoss),
):
    LOSSES.register(_name)(_cls)
# The student report's code, under names that say what it computes (not APL, not robust).
for _name, _cls in REPORT_CODE_LOSSES.items():
    LOSSES.register(_name)(_cls)


def _pair_names() -> list[str]:
    return [f"{a}+{p}" for a in sorted(ACTIVE_LOSSES) for p in sorted(PASSIVE_LOSSES)]


def names(pairs: bool = True) -> list[str]:
    """Names accepted by :func:`get`: the losses and (if ``pairs``) every ``"active+passive"``."""
    return LOSSES.names() + (_pair_names() if pairs else [])


def _unknown_name(name: object) -> UsageError:
    active = ", ".join(sorted(ACTIVE_LOSSES))
    passive = ", ".join(sorted(PASSIVE_LOSSES))
    return UsageError(
        f"unknown loss {name!r}; choose one of: {', '.join(LOSSES.names())}, or an "
        f"active-passive pair 'active+passive' with active in {{{active}}} and passive in "
        f"{{{passive}}} (e.g. 'nce+rce')"
    )


def get(name: str, num_classes: int | None = None, **hparams: Any) -> LossModule:
    """Build a loss module by name.

    Args:
        name: A name from :func:`names` (case-insensitive), e.g. ``"gce"``, ``"bitempered"``, or an
            active-passive pair such as ``"nce+rce"``, ``"nfl+mae"`` (built as
            :class:`ActivePassiveLoss`).
        num_classes: ``K``; if given, the logits are checked against it.
        **hparams: The loss's hyperparameters (and ``reduction``); for a pair, ``alpha``,
            ``beta`` and the parts' own (``gamma``, ``q``, ...).

    Returns:
        The loss module; call it as ``loss(logits, target, reduction="none")``.

    Raises:
        UsageError: For an unknown name or a hyperparameter the loss does not take.

    Example:
        >>> get("gce", q=0.7)
        GCELoss(q=0.7)
    """
    if not isinstance(name, str):
        raise _unknown_name(name)
    key = name.strip().lower()
    if "+" in key:
        active, _, passive = (s.strip() for s in key.partition("+"))
        if active not in ACTIVE_LOSSES or passive not in PASSIVE_LOSSES:
            raise _unknown_name(name)
        for clash in ("active", "passive"):
            if clash in hparams:
                raise UsageError(f"loss {name!r} already names its parts; drop {clash}=")
        return ActivePassiveLoss(active, passive, num_classes=num_classes, **hparams)
    if key not in LOSSES:
        raise _unknown_name(name)
    cls = LOSSES.get(key)
    if cls is not ActivePassiveLoss:
        valid = [
            p
            for p in inspect.signature(cls.__init__).parameters
            if p not in ("self", "num_classes")
        ]
        unknown = sorted(set(hparams) - set(valid))
        if unknown:
            shown = ", ".join(valid) if valid else "none besides reduction"
            raise UsageError(
                f"unknown hyperparameter(s) {', '.join(unknown)} for loss {key!r}; valid: {shown}"
            )
    return cls(num_classes=num_classes, **hparams)


def describe(name: str) -> str:
    """One line about the loss ``name`` (pairs included)."""
    if "+" in name:
        get(name)  # validates
        return f"active-passive loss alpha*{name.split('+')[0]} + beta*{name.split('+')[1]}"
    return LOSSES.describe(name)


def supports_soft_targets(loss: LossModule | str) -> bool:
    """Whether ``loss`` (a module or a name) accepts ``(B, K)`` probability targets."""
    if isinstance(loss, str):
        loss = get(loss)
    return bool(getattr(loss, "accepts_soft_targets", False))


__all__ = [
    "ACTIVE_LOSSES",
    "LOSSES",
    "PASSIVE_LOSSES",
    "RCE_CONSTANT",
    "REPORT_CODE_LOSSES",
    "ActivePassiveLoss",
    "BiTemperedLoss",
    "BootstrapHardLoss",
    "BootstrapSoftLoss",
    "CELoss",
    "FocalLoss",
    "GCELoss",
    "LabelSmoothingLoss",
    "LossModule",
    "MAELoss",
    "NCELoss",
    "NFLLoss",
    "NGCELoss",
    "NMAELoss",
    "RCELoss",
    "ReportCEOverEntropyLoss",
    "ReportCEOverEntropyPlusCELoss",
    "ReportDynamicWeightCELoss",
    "ReportFocalLoss",
    "ReportFocalPlusCELoss",
    "SCELoss",
    "apl_loss",
    "bitempered_loss",
    "bootstrap_hard_loss",
    "bootstrap_soft_loss",
    "ce_loss",
    "describe",
    "exp_t",
    "fl_loss",
    "gce_loss",
    "get",
    "label_smoothing_loss",
    "log_t",
    "mae_loss",
    "names",
    "nce_loss",
    "nfl_loss",
    "ngce_loss",
    "nmae_loss",
    "rce_loss",
    "reduce",
    "report_ce_over_entropy_loss",
    "report_ce_over_entropy_plus_ce_loss",
    "report_dynamic_weight_ce_loss",
    "report_focal_loss",
    "report_focal_plus_ce_loss",
    "sce_loss",
    "soft_cross_entropy",
    "supports_soft_targets",
    "tempered_normalizer",
    "tempered_softmax",
]
