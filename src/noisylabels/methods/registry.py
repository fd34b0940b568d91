"""Build a training method from its parts.

``build_method(name, ctx, make_network, **params)`` expands a named method (a preset of
:data:`~noisylabels.methods.spec.METHODS` or a loss name) and its parameters into a
:class:`~noisylabels.methods.spec.MethodSpec` (see :func:`~noisylabels.methods.spec.parse_method`
for how part mappings and flat parameters compose) and builds it; ``build_method(spec, ctx,
make_network)`` builds a spec directly. The parts decide the training step:

* selection ``coteaching`` -> :class:`CoTeachingMethod` (any loss; no weighting or mixup);
* mixup ``dynamic`` -> :class:`DynamicMixupMethod` (cross entropy only);
* otherwise -> :class:`StandardMethod`: the loss, the weighting (and CICW's class
  reweighting), the mixup and a registered selection of the spec, in one step. A registered
  mixup or selection reaches the step through its part's ``build(ctx)`` hook
  (:class:`~noisylabels.methods.parts.Mixer`, :class:`~noisylabels.methods.parts.Selector`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from torch import nn

from noisylabels.errors import UsageError
from noisylabels.methods.base import Method, MethodContext
from noisylabels.methods.coteaching import CoTeachingMethod
from noisylabels.methods.dynamic_mixup import DynamicMixupMethod
from noisylabels.methods.parts import (
    DYNAMIC_WARMUP_FRACTION,
    CoTeaching,
    DynamicMixup,
    LabelSmoothingMixup,
    Mixer,
    MixupPart,
    Selector,
    VanillaMixup,
    WeightedMixup,
)
from noisylabels.methods.spec import METHODS, PRESETS, MethodSpec, method_names, parse_method
from noisylabels.methods.standard import StandardMethod
from noisylabels.weighting.parts import CIW_ANNEAL_FRACTION, CIW_BURNIN_FRACTION

__all__ = [
    "CIW_ANNEAL_FRACTION",
    "CIW_BURNIN_FRACTION",
    "DYNAMIC_WARMUP_FRACTION",
    "METHODS",
    "PRESETS",
    "build_method",
    "build_spec",
    "method_names",
]


def build_method(
    name: str | MethodSpec,
    ctx: MethodContext,
    make_network: Callable[[], nn.Module],
    **params: Any,
) -> Method:
    """Build a training method by name (or from a spec).

    Args:
        name: A named method (:data:`METHODS`), a loss name (``"gce"``, ``"nce+rce"``, ...) or
            a :class:`~noisylabels.methods.spec.MethodSpec`.
        ctx: Facts about the run (classes, sizes, epochs, noise rate, seed, device).
        make_network: Returns a fresh network; co-teaching calls it twice.
        **params: Part mappings and flat parameters (not with a spec).

    Raises:
        UsageError: Unknown name or parameter, a bad value, or parts that do not combine.

    Example:
        >>> import torch
        >>> from noisylabels.methods.base import MethodContext
        >>> ctx = MethodContext(num_classes=3, num_train=100, num_epochs=5, steps_per_epoch=10)
        >>> m = build_method("ciw", ctx, lambda: torch.nn.Linear(4, 3), loss="gce", q=0.5)
        >>> h = m.hparams()
        >>> h["loss"], h["q"], h["weighting"], h["lam"], h["burnin_steps"]
        ('gce', 0.5, 'ciw', 0.1, 4)
    """
    if isinstance(name, MethodSpec):
        if params:
            raise UsageError("give a MethodSpec or a method name with parameters, not both")
        spec = name
    else:
        spec = parse_method(name, params)
    return build_spec(spec, ctx, make_network)


def build_spec(
    spec: MethodSpec, ctx: MethodContext, make_network: Callable[[], nn.Module]
) -> Method:
    """Build the training step that the parts of ``spec`` call for (see the module docstring)."""
    where = f"method {spec.name!r}"
    sel, mix, weighting = spec.selection, spec.mixup, spec.weighting
    if sel.name != "none":
        others = [f"{k} {p.name!r}" for k, p in (("weighting", weighting), ("mixup", mix))]
        others = [o for o, p in zip(others, (weighting, mix), strict=True) if p.name != "none"]
        if others:
            raise UsageError(
                f"{where}: selection {sel.name!r} trains on the samples it selects; it does not "
                f"combine with {' or '.join(others)}"
            )
        if isinstance(sel.params, CoTeaching):
            return _coteaching(spec, sel.params, ctx, make_network, where)
        return _standard(spec, ctx, make_network, where)
    if isinstance(mix.params, DynamicMixup):
        if spec.loss.name != "ce" or spec.loss.params or weighting.name != "none":
            raise UsageError(
                f"{where}: mixup 'dynamic' trains with plain cross entropy and its own "
                f"bootstrapping; drop the loss {spec.loss.name!r} with its parameters "
                "and the weighting"
            )
        return _dynamic(mix.params, ctx, make_network)
    return _standard(spec, ctx, make_network, where)


def _loss(spec: MethodSpec, ctx: MethodContext, where: str) -> nn.Module:
    try:
        return spec.loss.build(ctx)
    except UsageError as e:
        raise UsageError(f"{where}: {e}") from None


def _standard(
    spec: MethodSpec, ctx: MethodContext, make_network: Callable[[], nn.Module], where: str
) -> StandardMethod:
    wpart = spec.weighting.params
    try:
        weighting = wpart.build(ctx)
        classes = wpart.build_classes(ctx)
    except UsageError as e:
        raise UsageError(f"{where}: weighting {spec.weighting.name!r}: {e}") from None
    loss = _loss(spec, ctx, where)
    mix = spec.mixup.params
    kwargs: dict[str, Any] = {}
    if isinstance(mix, VanillaMixup):
        kwargs = dict(
            mixup="vanilla",
            mixup_alpha=mix.alpha,
            per_sample_lam=mix.per_sample_lam,
            clean_forward=mix.clean_forward,
        )
    elif isinstance(mix, WeightedMixup):
        kwargs = dict(
            mixup=spec.mixup.name,
            mixup_alpha=mix.alpha,
            m_pow=mix.m_pow,
            per_sample_lam=mix.per_sample_lam,
            recompute_weights=mix.recompute_weights,
        )
        if isinstance(mix, LabelSmoothingMixup):
            kwargs["mixup_margin"] = mix.margin
    elif type(mix) is not MixupPart:
        kwargs = dict(mixup=spec.mixup.name, mixer=_hook(mix, ctx, where, Mixer))
    sel = spec.selection
    if sel.name != "none":
        kwargs["selection"] = sel.name
        kwargs["selector"] = _hook(sel.params, ctx, where, Selector)
    return StandardMethod(
        make_network(),
        loss,
        num_classes=ctx.num_classes,
        weighting=weighting,
        class_reweighting=classes,
        seed=ctx.seed,
        name=spec.name,
        loss_name=spec.loss.name,
        **kwargs,
    )


def _hook(part: Any, ctx: MethodContext, where: str, protocol: type) -> Any:
    """The :class:`Mixer` or :class:`Selector` a registered part's ``build(ctx)`` makes."""
    try:
        hook = part.build(ctx)
    except UsageError as e:
        raise UsageError(f"{where}: {e}") from None
    if not isinstance(hook, protocol):
        method = "mix" if protocol is Mixer else "select"
        raise UsageError(
            f"{where}: {type(part).__name__}.build(ctx) returned {type(hook).__name__}, "
            f"which has no {method}() method"
        )
    return hook


def _dynamic(
    part: DynamicMixup, ctx: MethodContext, make_network: Callable[[], nn.Module]
) -> DynamicMixupMethod:
    warm = part.warmup_epochs
    if warm is None:
        warm = max(1, math.ceil(DYNAMIC_WARMUP_FRACTION * ctx.num_epochs))
    return DynamicMixupMethod(
        make_network(),
        num_classes=ctx.num_classes,
        num_train=ctx.num_train,
        mixup_alpha=part.alpha,
        warmup_epochs=warm,
        reg_term=part.reg_term,
        bmm_iters=part.bmm_iters,
        seed=ctx.seed,
        device=ctx.device,
    )


def _coteaching(
    spec: MethodSpec,
    part: CoTeaching,
    ctx: MethodContext,
    make_network: Callable[[], nn.Module],
    where: str,
) -> CoTeachingMethod:
    rate = part.forget_rate if part.forget_rate is not None else ctx.noise_rate
    if rate is None:
        raise UsageError(
            "coteaching needs forget_rate (official default: the noise rate, unknown for this "
            "run); pass e.g. forget_rate=0.4"
        )
    loss = _loss(spec, ctx, where)
    return CoTeachingMethod(
        make_network(),
        make_network(),
        loss,
        forget_rate=rate,
        num_gradual=min(part.num_gradual, ctx.num_epochs),
        loss_name=spec.loss.name,
    )
