"""The parts a training method is composed of, each from its own registry.

================  ===========================================================================
``loss``          any name of :func:`noisylabels.losses.names` (``ce``, ``gce``, ``nce+rce``,
                  ``bitempered``, ...) with that loss's own parameters (:class:`LossSpec`)
``weighting``     :data:`noisylabels.weighting.WEIGHTINGS`: none, confidence, ciw, cicw, class
``mixup``         :data:`MIXUPS`: none, vanilla, sample_w, weight_w, sample_weight_w,
                  label_smoothing_w, dynamic (M-DYR-H)
``selection``     :data:`SELECTIONS`: none, coteaching
================  ===========================================================================

A part is written ``{name: ciw, lam: 0.1}`` (or just its name); :func:`make_part` turns that
into a :class:`Part`, converting the values to the types of the part's parameter dataclass.

Each kind of part has a hook the training step calls, so a part registered from user code
trains like a built-in one: a weighting part's ``build(ctx)`` returns a
:class:`~noisylabels.weighting.base.SampleWeighting`, a mixup part's :meth:`MixupPart.build`
a :class:`Mixer` (``mix(batch, state, generator) -> MixedBatch``) and a selection part's
:meth:`SelectionPart.build` a :class:`Selector` (``select(losses, batch, state) -> mask``).
The built-in mixups and co-teaching follow their official code inside their own steps.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, get_type_hints, runtime_checkable

import torch

from noisylabels import losses
from noisylabels.errors import UsageError
from noisylabels.losses.apl import ACTIVE_LOSSES, PASSIVE_LOSSES, ActivePassiveLoss
from noisylabels.params import METHOD_PARTS, build_params, coerce, field_types, non_default
from noisylabels.registry import Registry
from noisylabels.weighting.base import MethodContext, StepState
from noisylabels.weighting.parts import WEIGHTINGS

if TYPE_CHECKING:
    from noisylabels.methods.base import Batch
    from noisylabels.weighting.mixup import MixedBatch

#: Share of the run that dynamic mixup spends in plain-mixup warm-up (official: 105 of 300).
DYNAMIC_WARMUP_FRACTION = 105 / 300


# -- loss ----------------------------------------------------------------------------------------
_SKIP = ("self", "num_classes", "reduction", "args", "kwargs", "part_hparams")


def _init_types(cls: type) -> dict[str, Any]:
    hints = get_type_hints(cls.__init__)
    sig = inspect.signature(cls.__init__)
    return {
        p.name: hints.get(p.name, Any)
        for p in sig.parameters.values()
        if p.name not in _SKIP and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


def loss_param_types(name: str) -> dict[str, Any] | None:
    """``{parameter: type}`` of the loss ``name`` (None: the loss checks its own parameters).

    An ``active+passive`` pair takes ``alpha``, ``beta`` and the parameters of its two parts.

    Raises:
        UsageError: ``name`` is not a loss.
    """
    key = name.strip().lower()
    if "+" in key:
        active, _, passive = (s.strip() for s in key.partition("+"))
        if active not in ACTIVE_LOSSES or passive not in PASSIVE_LOSSES:
            losses.get(key)  # raises the loss registry's one-line error
        types = {k: v for k, v in _init_types(ActivePassiveLoss).items() if k in ("alpha", "beta")}
        types.update(_init_types(ACTIVE_LOSSES[active]))
        types.update(_init_types(PASSIVE_LOSSES[passive]))
        return types
    cls = losses.LOSSES.get(key)  # unknown name: one-line error listing the losses
    if cls is ActivePassiveLoss:
        return None
    return _init_types(cls)


@dataclass(frozen=True)
class LossSpec:
    """The loss part: a loss name and its parameters (already converted to their types).

    Attributes:
        name: A loss name (``gce``, ``nce+rce``, ...), lower case.
        params: ``(key, value)`` pairs, sorted by key.
    """

    name: str = "ce"
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def kwargs(self) -> dict[str, Any]:
        """The parameters as a dict."""
        return dict(self.params)

    def build(self, ctx: MethodContext) -> losses.LossModule:
        """The loss module for ``ctx.num_classes`` classes."""
        return losses.get(self.name, num_classes=ctx.num_classes, **self.kwargs)

    def to_dict(self) -> dict[str, Any]:
        """``{name: ..., <param>: ...}``."""
        return {"name": self.name, **self.kwargs}


def make_loss(name: str, params: Mapping[str, Any] | None = None) -> LossSpec:
    """A :class:`LossSpec` with values converted to the loss's parameter types.

    Raises:
        UsageError: Unknown loss, unknown parameter (the message lists the valid ones), a value
            of the wrong type, or ``reduction`` (per-sample losses are the contract).

    Example:
        >>> make_loss("gce", {"q": "0.7"})
        LossSpec(name='gce', params=(('q', 0.7),))
    """
    if not isinstance(name, str) or not name.strip():
        raise UsageError(f"loss name must be a non-empty string, got {name!r}")
    key = name.strip().lower()
    params = dict(params or {})
    what = f"loss {key!r}"
    if "reduction" in params:
        raise UsageError(f"{what}: reduction is fixed (per-sample); drop it")
    types = loss_param_types(key)
    out: dict[str, Any] = {}
    if types is None:
        out = params
    else:
        unknown = sorted(str(k) for k in params if k not in types)
        if unknown:
            s = "s" if len(unknown) > 1 else ""
            raise UsageError(
                f"{what}: unknown parameter{s} {', '.join(unknown)}; "
                f"valid: {', '.join(types) or 'none'}"
            )
        for k, v in params.items():
            try:
                out[k] = coerce(v, types[k], k)
            except UsageError as e:
                raise UsageError(f"{what}: {e}") from None
    return LossSpec(key, tuple(sorted(out.items())))


# -- mixup ---------------------------------------------------------------------------------------
@runtime_checkable
class Mixer(Protocol):
    """What the training step needs from a registered mixup.

    The step forwards the clean batch without gradient (for the logged logits and losses),
    calls :meth:`mix`, trains on the mixed batch against its mixed targets, weighs the mixed
    samples if the method has a weighting, and reduces with
    :func:`~noisylabels.weighting.base.weighted_mean`.
    """

    def mix(self, batch: Batch, state: StepState, generator: torch.Generator) -> MixedBatch:
        """The mixed batch: inputs and targets in component form.

        Args:
            batch: The clean batch (``x``, noisy labels ``y``, dataset ``index``).
            state: Where training is (epoch, step).
            generator: The method's seeded generator on the batch's device; draw every random
                number from it.
        """
        ...


@dataclass(frozen=True)
class MixupPart:
    """Base of a mixup's parameter dataclass; the base itself means no mixup.

    A registered subclass is a frozen dataclass whose fields are its parameters and whose
    :meth:`build` returns the :class:`Mixer` the training step calls. The built-in mixups
    (vanilla, the CIW modes, dynamic) are steps of their own and are not built this way.
    """

    def build(self, ctx: MethodContext) -> Mixer:
        """The mixer of one run described by ``ctx``.

        Raises:
            UsageError: The subclass does not define it (nothing would mix the batches).
        """
        raise UsageError(
            f"mixup part {type(self).__name__} has no training step: define build(ctx) "
            "returning an object with mix(batch, state, generator) -> MixedBatch"
        )


#: Mixup parts by name: ``name -> MixupPart subclass``.
MIXUPS: Registry[type[MixupPart]] = Registry("mixup")
MIXUPS.register("none", help="No mixup")(MixupPart)


@MIXUPS.register("vanilla", help="Mixup (Zhang et al. 2018): Beta(alpha, alpha) ratios")
@dataclass(frozen=True)
class VanillaMixup(MixupPart):
    """Vanilla mixup.

    Attributes:
        alpha: Beta parameter of the mixing ratios.
        per_sample_lam: One ratio per sample (CIW code) instead of one per batch.
        clean_forward: Also run the clean batch (no gradient) so the logged logits and losses
            are those of the unmixed batch.
    """

    alpha: float = 1.0
    per_sample_lam: bool = False
    clean_forward: bool = True


@dataclass(frozen=True)
class WeightedMixup(MixupPart):
    """Weight-guided mixup of CIW (needs a per-sample weighting).

    Attributes:
        alpha: Beta parameter of the mixing ratios.
        m_pow: Exponent on the weights that guide the mixing (official ``m_pow``).
        per_sample_lam: One Beta ratio per sample.
        recompute_weights: Re-weight the loss on the mixed batch (official ``dcl_w_mixup``).
    """

    alpha: float = 2.0
    m_pow: float = 1.0
    per_sample_lam: bool = True
    recompute_weights: bool = False


for _mode, _help in (
    ("sample_w", "CIW mixup: partners drawn in proportion to their weights"),
    ("weight_w", "CIW mixup: ratios w_i / (w_i + w_j)"),
    ("sample_weight_w", "CIW mixup: weighted partners and weighted ratios (CICW-M)"),
):
    MIXUPS.register(_mode, help=_help)(WeightedMixup)


@MIXUPS.register("label_smoothing_w", help="CIW mixup on targets smoothed by the weights")
@dataclass(frozen=True)
class LabelSmoothingMixup(WeightedMixup):
    """``label_smoothing_w``: targets smoothed toward the prediction, then mixup.

    Attributes:
        margin: Margin of the min-max scaling of the weights (official 0.01).
    """

    margin: float = 0.01


@MIXUPS.register("dynamic", help="M-DYR-H (Arazo et al. 2019): mixup + BMM hard bootstrapping")
@dataclass(frozen=True)
class DynamicMixup(MixupPart):
    """Dynamic mixup with beta-mixture hard bootstrapping (trains with cross entropy only).

    Attributes:
        alpha: Beta parameter (official 32).
        warmup_epochs: Epochs of plain mixup first; default 105/300 of the run, at least 1.
        reg_term: Weight of the balanced-prediction prior (official 1.0).
        bmm_iters: EM iterations per mixture fit (official 10).
    """

    alpha: float = 32.0
    warmup_epochs: int | None = None
    reg_term: float = 1.0
    bmm_iters: int = 10


# -- selection -----------------------------------------------------------------------------------
@runtime_checkable
class Selector(Protocol):
    """What the training step needs from a registered sample selection.

    The step computes the per-sample losses of one network, calls :meth:`select`, and
    minimises the mean loss of the selected samples; the step's ``weights`` are the mask (1
    selected, 0 dropped), as for co-teaching.
    """

    def select(self, losses: torch.Tensor, batch: Batch, state: StepState) -> torch.Tensor:
        """Boolean mask ``(B,)`` of the samples to train on (at least one).

        Args:
            losses: Detached per-sample losses ``(B,)``.
            batch: The batch (``x``, noisy labels ``y``, dataset ``index`` for per-sample
                memory across epochs).
            state: Where training is (epoch, step).
        """
        ...


@dataclass(frozen=True)
class SelectionPart:
    """Base of a sample selection's parameter dataclass; the base itself means none.

    A registered subclass is a frozen dataclass whose fields are its parameters and whose
    :meth:`build` returns the :class:`Selector` the training step calls. Co-teaching trains two
    networks with a step of its own and is not built this way.
    """

    def build(self, ctx: MethodContext) -> Selector:
        """The selector of one run described by ``ctx``.

        Raises:
            UsageError: The subclass does not define it (nothing would select samples).
        """
        raise UsageError(
            f"selection part {type(self).__name__} has no training step: define build(ctx) "
            "returning an object with select(losses, batch, state) -> boolean mask"
        )


#: Sample-selection parts by name: ``name -> SelectionPart subclass``.
SELECTIONS: Registry[type[SelectionPart]] = Registry("selection")
SELECTIONS.register("none", help="Train one network on every sample")(SelectionPart)


@SELECTIONS.register("coteaching", help="Co-teaching (Han et al. 2018): two nets, small-loss swap")
@dataclass(frozen=True)
class CoTeaching(SelectionPart):
    """Co-teaching.

    Attributes:
        forget_rate: Final share of each batch dropped; default the run's expected noise rate
            (the official default).
        num_gradual: Epochs of the linear ramp of the forget rate (official 10; at most the
            run's epochs).
    """

    forget_rate: float | None = None
    num_gradual: int = 10


# -- one part ------------------------------------------------------------------------------------
#: Registry of each kind of part that is a parameter dataclass (the loss is a :class:`LossSpec`).
PART_REGISTRIES: dict[str, Registry[Any]] = {
    "weighting": WEIGHTINGS,
    "mixup": MIXUPS,
    "selection": SELECTIONS,
}
PART_KINDS = METHOD_PARTS


@dataclass(frozen=True)
class Part:
    """A named part with its typed parameters.

    Attributes:
        name: The registered name (``ciw``, ``vanilla``, ...).
        params: An instance of the registered parameter dataclass.
    """

    name: str
    params: Any

    def to_dict(self) -> dict[str, Any]:
        """``{name: ..., <param>: ...}`` with the parameters that differ from their defaults."""
        return {"name": self.name, **non_default(self.params)}


def make_part(kind: str, name: str, params: Mapping[str, Any] | None = None) -> Part:
    """Build a :class:`Part` of ``kind`` (weighting, mixup, selection) from loose values.

    Example:
        >>> make_part("weighting", "ciw", {"lam": "0.5"}).params.lam
        0.5
    """
    if not isinstance(name, str) or not name.strip():
        raise UsageError(f"{kind} name must be a non-empty string, got {name!r}")
    key = name.strip().lower()
    cls = PART_REGISTRIES[kind].get(key)
    return Part(key, build_params(cls, params, what=f"{kind} {key!r}"))


def owners(param: str) -> list[str]:
    """``["weighting ciw", ...]``: the registered parts that have a parameter ``param``."""
    out = []
    for kind, reg in PART_REGISTRIES.items():
        for name in reg.names():
            if param in field_types(reg.get(name)):
                out.append(f"{kind} {name}")
    return out


def default_part(kind: str) -> Part:
    """The ``none`` part of ``kind`` (uniform weights, no mixup, no selection)."""
    return Part("none", PART_REGISTRIES[kind].get("none")())


__all__ = [
    "DYNAMIC_WARMUP_FRACTION",
    "MIXUPS",
    "PART_KINDS",
    "PART_REGISTRIES",
    "SELECTIONS",
    "CoTeaching",
    "DynamicMixup",
    "LabelSmoothingMixup",
    "LossSpec",
    "Mixer",
    "MixupPart",
    "Part",
    "SelectionPart",
    "Selector",
    "VanillaMixup",
    "WeightedMixup",
    "default_part",
    "loss_param_types",
    "make_loss",
    "make_part",
    "owners",
]
