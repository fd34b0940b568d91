"""Sample weightings as method parts: a registry of typed parameter dataclasses.

Each entry of :data:`WEIGHTINGS` is a frozen dataclass (a subclass of :class:`WeightingPart`)
whose fields are the weighting's parameters and whose :meth:`~WeightingPart.build` makes the
weighting for one run. A method spec names one (``weighting: {name: ciw, lam: 0.1}``); the
values are converted to the field types by :func:`noisylabels.params.build_params`.

==============  ==========================================================================
``none``        uniform weights
``confidence``  :class:`~noisylabels.weighting.ConfidenceWeighting` (tau, mode, warmup_epochs,
                normalize)
``ciw``         :class:`~noisylabels.weighting.CIWeighting` (lam, alpha, burnin/anneal steps
                or epochs; Kumar & Amid 2021)
``cicw``        CIW plus :class:`~noisylabels.weighting.ClassReweighting` (cls_div, cls_gamma)
                sharing CIW's burn-in
``class``       class reweighting alone (cls_div, cls_gamma)
==============  ==========================================================================

Register a new weighting::

    @WEIGHTINGS.register("mine")
    @dataclass(frozen=True)
    class MinePart(WeightingPart):
        temperature: float = 1.0

        def build(self, ctx):
            return MyWeighting(self.temperature)   # implements SampleWeighting
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from noisylabels.errors import UsageError
from noisylabels.registry import Registry
from noisylabels.weighting.base import MethodContext, SampleWeighting
from noisylabels.weighting.cicw import ClassReweighting
from noisylabels.weighting.ciw import CIWeighting
from noisylabels.weighting.confidence import ConfidenceWeighting

#: Share of the run spent in CIW burn-in and in the lambda ramp: the official 4000 and 3000
#: of 50000 iterations.
CIW_BURNIN_FRACTION = 4000 / 50000
CIW_ANNEAL_FRACTION = 3000 / 50000


@dataclass(frozen=True)
class WeightingPart:
    """Base of a weighting's parameter dataclass; the base itself means uniform weights.

    Subclasses are frozen dataclasses whose fields (all with defaults) are the parameters, and
    override :meth:`build` (and, for class reweighting, :meth:`build_classes`).
    """

    def build(self, ctx: MethodContext) -> SampleWeighting | None:
        """The per-sample weighting for a run described by ``ctx`` (None: uniform weights)."""
        return None

    def build_classes(self, ctx: MethodContext) -> ClassReweighting | None:
        """The class reweighting of CICW, or None."""
        return None


#: Weighting parts by name: ``name -> WeightingPart subclass``.
WEIGHTINGS: Registry[type[WeightingPart]] = Registry("weighting")


def resolve_steps(
    steps: int | None, epochs: float | None, ctx: MethodContext, fraction: float, key: str
) -> int:
    """A schedule length in steps: ``<key>_steps``, ``<key>_epochs`` or the default share."""
    if steps is not None and epochs is not None:
        raise UsageError(f"give {key}_steps or {key}_epochs, not both")
    if steps is not None:
        if steps < 0:
            raise UsageError(f"{key}_steps must be >= 0, got {steps}")
        return int(steps)
    if epochs is not None:
        if epochs < 0:
            raise UsageError(f"{key}_epochs must be >= 0, got {epochs}")
        return round(epochs * ctx.steps_per_epoch)
    return round(fraction * ctx.num_epochs * ctx.steps_per_epoch)


@WEIGHTINGS.register("none", help="Uniform weights: the plain mean of the per-sample loss")
@dataclass(frozen=True)
class NoWeighting(WeightingPart):
    """Uniform weights."""


@WEIGHTINGS.register(
    "confidence", help="Confidence weights min(1, p_y / tau) (or hard 1[p_y >= tau])"
)
@dataclass(frozen=True)
class ConfidencePart(WeightingPart):
    """Confidence weighting (:class:`~noisylabels.weighting.ConfidenceWeighting`).

    Attributes:
        tau: Threshold in ``(0, 1]``.
        mode: ``soft`` (``min(1, c / tau)``) or ``hard`` (``1[c >= tau]``).
        warmup_epochs: Epochs of uniform weights first; default 0 for soft and 1 for hard mode
            (hard weights are all zero at initialisation, so nothing would be learned).
        normalize: Divide the weights by their batch mean.
    """

    tau: float = 0.6
    mode: Literal["soft", "hard"] = "soft"
    warmup_epochs: int | None = None
    normalize: bool = False

    def build(self, ctx: MethodContext) -> ConfidenceWeighting:
        """The weighting with the warm-up resolved."""
        warm = self.warmup_epochs
        if warm is None:
            warm = 1 if self.mode == "hard" else 0
        return ConfidenceWeighting(
            tau=self.tau, mode=self.mode, warmup_epochs=warm, normalize=self.normalize
        )


@WEIGHTINGS.register("ciw", help="CIW (Kumar & Amid 2021): constrained instance weights")
@dataclass(frozen=True)
class CIWPart(WeightingPart):
    """CIW instance weights (:class:`~noisylabels.weighting.CIWeighting`).

    Attributes:
        lam: Final lambda (official flag default 0.1).
        alpha: Divergence order (1 is KL; official flag default 0.1).
        burnin_steps: Steps of uniform weights; default the official share, 4000/50000 of the run.
        burnin_epochs: The burn-in in epochs instead of steps.
        anneal_steps: Steps of the lambda ramp from ``10 * lam`` to ``lam``; default 3000/50000
            of the run.
        anneal_epochs: The ramp in epochs instead of steps.
    """

    lam: float = 0.1
    alpha: float = 0.1
    burnin_steps: int | None = None
    burnin_epochs: float | None = None
    anneal_steps: int | None = None
    anneal_epochs: float | None = None

    def burnin(self, ctx: MethodContext) -> int:
        """Burn-in steps for the run ``ctx``."""
        return resolve_steps(
            self.burnin_steps, self.burnin_epochs, ctx, CIW_BURNIN_FRACTION, "burnin"
        )

    def build(self, ctx: MethodContext) -> CIWeighting:
        """The weighting with its schedule in steps."""
        return CIWeighting(
            lam=self.lam,
            alpha=self.alpha,
            burnin_steps=self.burnin(ctx),
            anneal_steps=resolve_steps(
                self.anneal_steps, self.anneal_epochs, ctx, CIW_ANNEAL_FRACTION, "anneal"
            ),
        )


@WEIGHTINGS.register("cicw", help="CICW (Kumar & Amid 2021): CIW plus class reweighting")
@dataclass(frozen=True)
class CICWPart(CIWPart):
    """CIW instance weights plus class reweighting that shares CIW's burn-in.

    Attributes:
        cls_div: Divergence of the class budget: ``kl``, ``l1`` or ``l2``.
        cls_gamma: Class budget (official flag default 0.1).
    """

    cls_div: Literal["kl", "l1", "l2"] = "kl"
    cls_gamma: float = 0.1

    def build_classes(self, ctx: MethodContext) -> ClassReweighting:
        """The class reweighting, active after CIW's burn-in."""
        return ClassReweighting(
            gamma=self.cls_gamma, div=self.cls_div, burnin_steps=self.burnin(ctx)
        )


@WEIGHTINGS.register("class", help="Class reweighting alone (the class half of CICW)")
@dataclass(frozen=True)
class ClassPart(WeightingPart):
    """Class reweighting without instance weights, active from the first step.

    Attributes:
        cls_div: ``kl``, ``l1`` or ``l2``.
        cls_gamma: Class budget.
    """

    cls_div: Literal["kl", "l1", "l2"] = "kl"
    cls_gamma: float = 0.1

    def build_classes(self, ctx: MethodContext) -> ClassReweighting:
        """The class reweighting, no burn-in."""
        return ClassReweighting(gamma=self.cls_gamma, div=self.cls_div, burnin_steps=0)


__all__ = [
    "CIW_ANNEAL_FRACTION",
    "CIW_BURNIN_FRACTION",
    "WEIGHTINGS",
    "CICWPart",
    "CIWPart",
    "ClassPart",
    "ConfidencePart",
    "NoWeighting",
    "WeightingPart",
    "resolve_steps",
]
