"""Methods by name, and how their parameters are split between the loss and the rest.

``build_method(name, ctx, make_network, **params)`` accepts:

* every loss name of :func:`noisylabels.losses.names` (``ce``, ``gce``, ``nfl+rce``,
  ``bitempered``, ...): that loss, unweighted;
* the named methods of :data:`METHODS` (``standard``, ``confidence``, ``ciw``, ``ciw-m``,
  ``cicw``, ``cicw-m``, ``mixup``, ``dynamic-mixup``, ``coteaching``), each a preset of defaults.

Parameters compose: ``loss`` picks the loss (default ``ce``), ``weighting`` (``none``,
``confidence``, ``ciw``), ``cls_div`` (``none``, ``kl``, ``l1``, ``l2``) and ``mixup``
(``none``, ``vanilla``, ``sample_w``, ``weight_w``, ``sample_weight_w``, ``label_smoothing_w``)
switch the parts on, the parts take their own parameters, and every other parameter goes to the
loss (``q``, ``alpha``, ``beta``, ``gamma``, ``t1``, ...). So ``{loss: gce, weighting: ciw}``,
``build_method("ciw", ..., loss="gce", q=0.7, lam=0.5)`` and
``build_method("standard", ..., loss="gce", weighting="ciw")`` all work. A parameter nobody
takes is an error naming the valid ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from torch import nn

from noisylabels import losses
from noisylabels.errors import UsageError
from noisylabels.methods.base import Method, MethodContext
from noisylabels.methods.coteaching import CoTeachingMethod
from noisylabels.methods.dynamic_mixup import DynamicMixupMethod
from noisylabels.methods.standard import StandardMethod
from noisylabels.registry import Registry
from noisylabels.weighting.cicw import ClassReweighting
from noisylabels.weighting.ciw import CIWeighting
from noisylabels.weighting.confidence import ConfidenceWeighting
from noisylabels.weighting.mixup import MODES as MIXUP_MODES

MethodFactory = Callable[..., Method]

#: Named methods: ``factory(name, ctx, make_network, **params) -> Method``.
METHODS: Registry[MethodFactory] = Registry("method")

#: Share of the run spent in CIW burn-in and in the lambda ramp: the official 4000 and 3000
#: of 50000 iterations.
CIW_BURNIN_FRACTION = 4000 / 50000
CIW_ANNEAL_FRACTION = 3000 / 50000
#: Share of the run that dynamic mixup spends in plain-mixup warm-up (official: 105 of 300).
DYNAMIC_WARMUP_FRACTION = 105 / 300

# Parameter types (values from YAML or the command line may arrive as strings).
_TYPES: dict[str, type] = {
    "loss": str,
    "weighting": str,
    "mixup": str,
    "cls_div": str,
    "mode": str,
    "tau": float,
    "warmup_epochs": int,
    "normalize": bool,
    "lam": float,
    "ciw_alpha": float,
    "burnin_steps": int,
    "burnin_epochs": float,
    "anneal_steps": int,
    "anneal_epochs": float,
    "cls_gamma": float,
    "mixup_alpha": float,
    "m_pow": float,
    "mixup_margin": float,
    "per_sample_lam": bool,
    "recompute_weights": bool,
    "clean_forward": bool,
    "forget_rate": float,
    "num_gradual": int,
    "reg_term": float,
    "bmm_iters": int,
}

_WEIGHTING_PARAMS = {
    "none": (),
    "confidence": ("tau", "mode", "warmup_epochs", "normalize"),
    "ciw": ("lam", "ciw_alpha", "burnin_steps", "burnin_epochs", "anneal_steps", "anneal_epochs"),
}
_CLASS_PARAMS = ("cls_gamma",)
_MIXUP_PARAMS = ("mixup_alpha", "m_pow", "mixup_margin", "per_sample_lam", "recompute_weights")
_VANILLA_PARAMS = ("mixup_alpha", "per_sample_lam", "clean_forward")
_SWITCHES = ("loss", "weighting", "cls_div", "mixup")
# Which switch setting a part's parameter belongs to (for helpful errors).
_OWNER = {
    **{p: "weighting='confidence'" for p in _WEIGHTING_PARAMS["confidence"]},
    **{p: "weighting='ciw'" for p in _WEIGHTING_PARAMS["ciw"]},
    "cls_gamma": "cls_div='kl'|'l1'|'l2'",
    **{p: "a weight-guided mixup" for p in ("m_pow", "mixup_margin", "recompute_weights")},
    "mixup_alpha": "mixup", "per_sample_lam": "mixup", "clean_forward": "mixup='vanilla'",
    "forget_rate": "method 'coteaching'", "num_gradual": "method 'coteaching'",
    "reg_term": "method 'dynamic-mixup'", "bmm_iters": "method 'dynamic-mixup'",
}  # fmt: skip


def _coerce(name: str, value: Any) -> Any:
    kind = _TYPES.get(name)
    if kind is None:
        return value
    try:
        if kind is str:
            if not isinstance(value, str):
                raise TypeError
            return value.strip().lower() if name != "loss" else value.strip()
        if kind is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on"):
                return True
            if isinstance(value, str) and value.lower() in ("0", "false", "no", "off"):
                return False
            if value in (0, 1):
                return bool(value)
            raise TypeError
        if isinstance(value, bool):
            raise TypeError
        if kind is int:
            v = float(value) if isinstance(value, str) else value
            if isinstance(v, float) and not v.is_integer():
                raise TypeError
            return int(v)
        v = float(value)
        if not math.isfinite(v):
            raise TypeError
        return v
    except (TypeError, ValueError):
        raise UsageError(f"method parameter {name}={value!r} must be {kind.__name__}") from None


def _steps(p: dict[str, Any], key: str, ctx: MethodContext, fraction: float) -> int:
    """Resolve ``<key>_steps`` / ``<key>_epochs`` / the default share of the run."""
    s, e = p.get(f"{key}_steps"), p.get(f"{key}_epochs")
    if s is not None and e is not None:
        raise UsageError(f"give {key}_steps or {key}_epochs, not both")
    if s is not None:
        if s < 0:
            raise UsageError(f"{key}_steps must be >= 0, got {s}")
        return int(s)
    if e is not None:
        if e < 0:
            raise UsageError(f"{key}_epochs must be >= 0, got {e}")
        return round(e * ctx.steps_per_epoch)
    return round(fraction * ctx.num_epochs * ctx.steps_per_epoch)


def _build_loss(method: str, loss_name: str, ctx: MethodContext, params: dict[str, Any], own):
    if "reduction" in params:
        raise UsageError(f"method {method!r}: reduction is fixed (per-sample); drop it")
    try:
        return losses.get(loss_name, num_classes=ctx.num_classes, **params)
    except UsageError as e:
        mine = ", ".join(sorted(own)) or "none"
        raise UsageError(f"method {method!r}: {e}; the method's own parameters: {mine}") from None
    except TypeError as e:  # a parameter the loss class does not take
        mine = ", ".join(sorted(own)) or "none"
        raise UsageError(
            f"method {method!r}: bad parameter for loss {loss_name!r} ({e}); "
            f"the method's own parameters: {mine}"
        ) from None


def _split(
    method: str, params: dict[str, Any], allowed: set[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split params into the method's own (``allowed``) and the loss's (everything unknown)."""
    own, rest = {}, {}
    for k, v in params.items():
        if k in allowed:
            own[k] = _coerce(k, v)
        elif k in _TYPES:
            owner = _OWNER.get(k, "another configuration")
            raise UsageError(
                f"method {method!r} does not use {k} (it belongs to {owner}); valid here: "
                f"{', '.join(sorted(allowed))}, plus the loss's parameters"
            )
        else:
            rest[k] = v
    return own, rest


def build_standard(
    method: str,
    ctx: MethodContext,
    make_network: Callable[[], nn.Module],
    presets: dict[str, Any],
    params: dict[str, Any],
) -> StandardMethod:
    """Build a :class:`StandardMethod` from preset defaults overridden by user ``params``."""
    switches = {k: _coerce(k, v) for k, v in {**presets, **params}.items() if k in _SWITCHES}
    loss_name = switches.get("loss", "ce")
    weighting = switches.get("weighting", "none")
    cls_div = switches.get("cls_div", "none")
    mix = switches.get("mixup", "none")
    if weighting not in _WEIGHTING_PARAMS:
        raise UsageError(
            f"unknown weighting {weighting!r}; choose one of: {', '.join(_WEIGHTING_PARAMS)}"
        )
    if cls_div not in ("none", "kl", "l1", "l2"):
        raise UsageError(f"unknown cls_div {cls_div!r}; choose one of: none, kl, l1, l2")
    if mix not in ("none", *MIXUP_MODES):
        raise UsageError(f"unknown mixup {mix!r}; choose one of: none, {', '.join(MIXUP_MODES)}")

    allowed = set(_SWITCHES) | set(_WEIGHTING_PARAMS[weighting])
    if cls_div != "none":
        allowed |= set(_CLASS_PARAMS)
    if mix == "vanilla":
        allowed |= set(_VANILLA_PARAMS)
    elif mix != "none":
        allowed |= set(_MIXUP_PARAMS)
    own, loss_params = _split(method, params, allowed)
    p = {k: _coerce(k, v) for k, v in presets.items() if k in allowed}
    p.update(own)

    w = None
    if weighting == "confidence":
        mode = p.get("mode", "soft")
        # Hard weights are all zero at initialisation (no sample reaches tau), so without a
        # warm-up nothing would ever be learned: hard mode defaults to one warm-up epoch.
        warm = p.get("warmup_epochs", 1 if mode == "hard" else 0)
        w = ConfidenceWeighting(
            tau=p.get("tau", 0.6),
            mode=mode,
            warmup_epochs=warm,
            normalize=p.get("normalize", False),
        )
    burnin = 0
    if weighting == "ciw":
        burnin = _steps(p, "burnin", ctx, CIW_BURNIN_FRACTION)
        w = CIWeighting(
            lam=p.get("lam", 0.1),
            alpha=p.get("ciw_alpha", 0.1),
            burnin_steps=burnin,
            anneal_steps=_steps(p, "anneal", ctx, CIW_ANNEAL_FRACTION),
        )
    crw = None
    if cls_div != "none":
        crw = ClassReweighting(gamma=p.get("cls_gamma", 0.1), div=cls_div, burnin_steps=burnin)
    loss = _build_loss(method, loss_name, ctx, loss_params, allowed)
    vanilla = mix == "vanilla"
    return StandardMethod(
        make_network(),
        loss,
        num_classes=ctx.num_classes,
        weighting=w,
        class_reweighting=crw,
        mixup=None if mix == "none" else mix,
        mixup_alpha=p.get("mixup_alpha", 1.0 if vanilla else 2.0),
        m_pow=p.get("m_pow", 1.0),
        mixup_margin=p.get("mixup_margin", 0.01),
        per_sample_lam=p.get("per_sample_lam", not vanilla),
        recompute_weights=p.get("recompute_weights", False),
        clean_forward=p.get("clean_forward", True),
        seed=ctx.seed,
        name=method,
        loss_name=loss_name,
    )


def _preset(presets: dict[str, Any], doc: str) -> MethodFactory:
    def factory(
        name: str, ctx: MethodContext, make_network: Callable[[], nn.Module], **params: Any
    ) -> Method:
        return build_standard(name, ctx, make_network, presets, params)

    factory.__doc__ = doc
    factory.presets = dict(presets)  # type: ignore[attr-defined]
    return factory


#: Preset defaults of the standard-pipeline methods, with their sources.
PRESETS: dict[str, tuple[dict[str, Any], str]] = {
    "standard": ({}, "Any loss with optional weighting/cls_div/mixup (all off by default)"),
    "confidence": (
        {"weighting": "confidence", "tau": 0.6, "mode": "soft"},
        "CE + confidence weights min(1, p_y/0.6) (the student report's weighting, made precise)",
    ),
    "ciw": (
        {"weighting": "ciw", "lam": 0.1, "ciw_alpha": 0.1},
        "CIW (Kumar & Amid 2021): lam 0.1, alpha 0.1 (official README/flags)",
    ),
    "ciw-m": (
        {
            "weighting": "ciw",
            "lam": 10.0,
            "ciw_alpha": 0.1,
            "mixup": "label_smoothing_w",
            "mixup_alpha": 0.2,
        },
        "CIW-M: CIW + label_smoothing_w mixup (official asymmetric-noise recipe: lam 10, a 0.2)",
    ),
    "cicw": (
        {"weighting": "ciw", "lam": 0.1, "ciw_alpha": 0.1, "cls_div": "kl", "cls_gamma": 0.1},
        "CICW: CIW + KL class reweighting (gamma 0.1, the official flag default)",
    ),
    "cicw-m": (
        {
            "weighting": "ciw",
            "lam": 2.5,
            "ciw_alpha": 0.1,
            "cls_div": "kl",
            "cls_gamma": 0.01,
            "mixup": "sample_weight_w",
            "mixup_alpha": 2.0,
            "recompute_weights": True,
        },
        "CICW-M (official README recipe: lam 2.5, KL gamma 0.01, sample_weight_w, dcl_w_mixup)",
    ),
    "mixup": (
        {"mixup": "vanilla", "mixup_alpha": 1.0, "per_sample_lam": False},
        "Vanilla mixup with CE (Zhang et al. 2018): Beta(1, 1), one ratio per batch",
    ),
}

for _name, (_presets, _doc) in PRESETS.items():
    METHODS.register(_name, help=_doc)(_preset(_presets, _doc))


@METHODS.register("dynamic-mixup", help="M-DYR-H (Arazo et al. 2019): mixup + BMM bootstrapping")
def _dynamic_mixup(
    name: str, ctx: MethodContext, make_network: Callable[[], nn.Module], **params: Any
) -> Method:
    """M-DYR-H (Arazo et al. 2019): mixup (alpha 32) + beta-mixture hard bootstrapping."""
    allowed = {"mixup_alpha", "warmup_epochs", "reg_term", "bmm_iters"}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise UsageError(
            f"unknown parameter(s) {', '.join(unknown)} for method {name!r} (it trains with "
            f"cross entropy); valid: {', '.join(sorted(allowed))}"
        )
    p = {k: _coerce(k, v) for k, v in params.items()}
    warm = p.get("warmup_epochs", max(1, math.ceil(DYNAMIC_WARMUP_FRACTION * ctx.num_epochs)))
    return DynamicMixupMethod(
        make_network(),
        num_classes=ctx.num_classes,
        num_train=ctx.num_train,
        mixup_alpha=p.get("mixup_alpha", 32.0),
        warmup_epochs=warm,
        reg_term=p.get("reg_term", 1.0),
        bmm_iters=p.get("bmm_iters", 10),
        seed=ctx.seed,
        device=ctx.device,
    )


@METHODS.register("coteaching", help="Co-teaching (Han et al. 2018): two nets, small-loss swap")
def _coteaching(
    name: str, ctx: MethodContext, make_network: Callable[[], nn.Module], **params: Any
) -> Method:
    """Co-teaching: forget rate ramped to the noise rate over 10 epochs (official defaults)."""
    allowed = {"loss", "forget_rate", "num_gradual"}
    own, loss_params = _split(name, params, allowed)
    rate = own.get("forget_rate", ctx.noise_rate)
    if rate is None:
        raise UsageError(
            "coteaching needs forget_rate (official default: the noise rate, unknown for this "
            "run); pass e.g. forget_rate=0.4"
        )
    gradual = min(own.get("num_gradual", 10), ctx.num_epochs)
    loss_name = own.get("loss", "ce")
    loss = _build_loss(name, loss_name, ctx, loss_params, allowed)
    return CoTeachingMethod(
        make_network(),
        make_network(),
        loss,
        forget_rate=rate,
        num_gradual=gradual,
        loss_name=loss_name,
    )


def method_names(include_losses: bool = True) -> list[str]:
    """Every name :func:`build_method` accepts (named methods, then loss names)."""
    return METHODS.names() + (losses.names() if include_losses else [])


def build_method(
    name: str,
    ctx: MethodContext,
    make_network: Callable[[], nn.Module],
    **params: Any,
) -> Method:
    """Build a training method by name.

    Args:
        name: A named method (:data:`METHODS`) or a loss name (``"gce"``, ``"nce+rce"``, ...).
        ctx: Facts about the run (classes, sizes, epochs, noise rate, seed, device).
        make_network: Returns a fresh network; co-teaching calls it twice.
        **params: Method and loss parameters (see the module docstring).

    Raises:
        UsageError: Unknown name or parameter, or a bad value.

    Example:
        >>> import torch
        >>> from noisylabels.methods.base import MethodContext
        >>> ctx = MethodContext(num_classes=3, num_train=100, num_epochs=5, steps_per_epoch=10)
        >>> m = build_method("ciw", ctx, lambda: torch.nn.Linear(4, 3), loss="gce", q=0.5)
        >>> h = m.hparams()
        >>> h["loss"], h["q"], h["weighting"], h["lam"], h["burnin_steps"]
        ('gce', 0.5, 'ciw', 0.1, 4)
    """
    if not isinstance(name, str) or not name.strip():
        raise UsageError(f"method name must be a non-empty string, got {name!r}")
    key = name.strip().lower()
    if key in METHODS:
        return METHODS.get(key)(key, ctx, make_network, **params)
    if key in losses.names() or "+" in key:
        if "loss" in params:
            raise UsageError(
                f"method {name!r} is already a loss; drop loss= or use method 'standard'"
            )
        return build_standard(key, ctx, make_network, {"loss": key}, params)
    raise UsageError(
        f"unknown method {name!r}; choose one of: {', '.join(METHODS.names())}, or a loss name "
        f"({', '.join(losses.names(pairs=False))}, or an 'active+passive' pair like nce+rce)"
    )
