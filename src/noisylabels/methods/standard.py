"""One network, one loss, optional class reweighting, sample weighting and mixup.

This single step covers plain robust losses (``ce``, ``gce``, ``nce+rce``, ...), confidence
weighting, CIW / CICW (Kumar & Amid 2021) with or without their weight-guided mixup, and vanilla
mixup, because they are the same pipeline with parts switched on or off::

    logits -> per-sample loss (class-reweighted if CICW) -> weights (detached) -> mean(w * l)

Every branch reduces through :func:`~noisylabels.weighting.base.weighted_mean`.

With a weight-guided mixup (``sample_w``, ``weight_w``, ``sample_weight_w``,
``label_smoothing_w``) the step follows the official CIW code: a forward pass on the clean batch
(without gradient) gives the weights that guide the mixing, then the mixed batch is forwarded
and trained on, either with plain mean loss (default) or re-weighted on the mixed batch
(``recompute_weights``; the official ``dcl_w_mixup``). During the weighting's burn-in the
weighted variants fall back to vanilla mixup (``label_smoothing_w``: no mixup), as officially.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from noisylabels.errors import UsageError
from noisylabels.methods.base import Batch, Method, StepOutput, StepState
from noisylabels.methods.parts import Mixer, Selector
from noisylabels.weighting.base import SampleWeighting, weighted_mean
from noisylabels.weighting.cicw import ClassReweighting
from noisylabels.weighting.mixup import (
    MODES as MIXUP_MODES,
)
from noisylabels.weighting.mixup import (
    WEIGHTED_MODES,
    MixedBatch,
    mixup,
    sample_beta,
    weighted_mixup,
)


def _is_plain_ce(loss: nn.Module) -> bool:
    from noisylabels.losses import CELoss

    return type(loss) is CELoss


def class_loss_matrix(loss: nn.Module, logits: torch.Tensor) -> torch.Tensor:
    """``L[b, k]``: the loss of sample ``b`` if its label were ``k``, shape ``(B, K)``.

    Cross entropy is ``-log_softmax``; other losses are evaluated on every candidate label
    (``B * K`` rows, one call), which keeps gradients and works for any per-sample loss.
    """
    b, k = logits.shape
    if _is_plain_ce(loss):
        z = logits.to(torch.float64 if logits.dtype == torch.float64 else torch.float32)
        return -z.log_softmax(dim=1)
    rows = logits.repeat_interleave(k, dim=0)
    cols = torch.arange(k, device=logits.device).repeat(b)
    return loss(rows, cols, reduction="none").view(b, k)


class StandardMethod(Method):
    """Loss + optional class reweighting + optional sample weighting + optional mixup.

    Args:
        net: The network.
        loss: A per-sample loss module called as ``loss(logits, target, reduction="none")``
            (see :func:`noisylabels.losses.get`).
        num_classes: K (optional; taken from the logits when needed).
        weighting: A sample weighting (:class:`~noisylabels.weighting.base.SampleWeighting`:
            :class:`~noisylabels.weighting.CIWeighting`,
            :class:`~noisylabels.weighting.ConfidenceWeighting`, ...) or None.
        class_reweighting: CICW class reweighting or None.
        mixup: None, ``"vanilla"`` or a weight-guided mode (needs ``weighting``); with
            ``mixer``, the name of the registered mixup.
        mixup_alpha: Beta parameter of the mixing ratios.
        m_pow: Exponent on the weights that guide mixup (official ``m_pow``).
        mixup_margin: Margin of ``label_smoothing_w``'s min-max scaling (official 0.01).
        per_sample_lam: One Beta ratio per sample (CIW code) or one per batch (original mixup).
        recompute_weights: Re-weight the loss on the mixed batch (official ``dcl_w_mixup``).
        clean_forward: For vanilla mixup, also run the clean batch (no gradient) so the
            returned logits/losses are those of ``batch.x``, as :class:`StepOutput` promises;
            False saves that forward and returns the mixed batch's logits and losses.
        seed: Seed of the method's own draws (partners, ratios).
        name: Method name for :meth:`hparams`.
        loss_name: Loss name for :meth:`hparams`.
        mixer: A registered mixup's :class:`~noisylabels.methods.parts.Mixer`: each step
            trains on ``mixer.mix(batch, state, generator)`` as it would on a vanilla mixed
            batch (clean forward for the logs, mixed loss, weights on the mixed batch).
        selection: Name of the registered selection, for :meth:`hparams`.
        selector: A registered selection's :class:`~noisylabels.methods.parts.Selector`: each
            step minimises the mean loss of the samples ``selector.select`` keeps (not with
            mixup or weighting).

    Example:
        >>> from noisylabels import losses
        >>> from noisylabels.methods.base import Batch, StepState
        >>> from noisylabels.weighting import CIWeighting
        >>> net = torch.nn.Linear(4, 3)
        >>> ciw = CIWeighting(lam=1.0, burnin_steps=0)
        >>> m = StandardMethod(net, losses.get("ce"), weighting=ciw)
        >>> batch = Batch(torch.randn(8, 4), torch.randint(0, 3, (8,)), torch.arange(8))
        >>> out = m.step(batch, StepState(epoch=0, step=0, num_epochs=1, steps_per_epoch=1))
        >>> out.logits.shape, out.weights.shape, round(out.weights.mean().item(), 4)
        (torch.Size([8, 3]), torch.Size([8]), 1.0)
    """

    def __init__(
        self,
        net: nn.Module,
        loss: nn.Module,
        *,
        num_classes: int | None = None,
        weighting: SampleWeighting | None = None,
        class_reweighting: ClassReweighting | None = None,
        mixup: str | None = None,
        mixup_alpha: float = 1.0,
        m_pow: float = 1.0,
        mixup_margin: float = 0.01,
        per_sample_lam: bool = True,
        recompute_weights: bool = False,
        clean_forward: bool = True,
        seed: int = 0,
        name: str = "standard",
        loss_name: str | None = None,
        mixer: Mixer | None = None,
        selection: str | None = None,
        selector: Selector | None = None,
    ) -> None:
        super().__init__([net])
        if mixup == "none":
            mixup = None
        if selector is not None and (mixup is not None or mixer is not None or weighting):
            raise UsageError(
                "a sample selection trains on the samples it selects; it does not combine with "
                "a mixup or a weighting"
            )
        if mixer is not None:
            mixup = mixup or type(mixer).__name__
        elif mixup is not None and mixup not in MIXUP_MODES:
            raise UsageError(
                f"unknown mixup {mixup!r}; choose none or one of: {', '.join(MIXUP_MODES)}"
            )
        if mixup in WEIGHTED_MODES and weighting is None:
            raise UsageError(
                f"mixup={mixup!r} is guided by sample weights; set weighting=ciw (or confidence)"
                " or use mixup=vanilla"
            )
        if mixup is not None and not (mixup_alpha > 0):
            raise UsageError(f"mixup_alpha must be > 0, got {mixup_alpha!r}")
        self.loss = loss
        self.num_classes = num_classes
        self.weighting = weighting
        self.class_reweighting = class_reweighting
        self.mixup = mixup
        self.mixup_alpha = float(mixup_alpha)
        self.m_pow = float(m_pow)
        self.mixup_margin = float(mixup_margin)
        self.per_sample_lam = bool(per_sample_lam)
        self.recompute_weights = bool(recompute_weights)
        self.clean_forward = bool(clean_forward)
        self.seed = int(seed)
        self.name = name
        self.loss_name = loss_name or type(loss).__name__
        self.mixer = mixer
        self.selector = selector
        self.selection = selection or (type(selector).__name__ if selector else None)
        self._plain_ce = _is_plain_ce(loss)
        self._gens: dict[str, torch.Generator] = {}

    # -- randomness -----------------------------------------------------------------------------
    def _gen(self, device: torch.device) -> torch.Generator:
        """One generator per device, created lazily (the method may be moved after building)."""
        key = str(device)
        if key not in self._gens:
            offset = 0 if device.type == "cpu" else 1
            self._gens[key] = torch.Generator(device=device).manual_seed(self.seed * 2 + offset)
        return self._gens[key]

    def _draw_lam(self, n: int, device: torch.device) -> torch.Tensor:
        """Beta ratios drawn on the CPU (no device sync) and copied over asynchronously."""
        if "lam" not in self._gens:
            self._gens["lam"] = torch.Generator().manual_seed(self.seed * 2 + 1_000_003)
        draws = sample_beta(
            self.mixup_alpha, self.mixup_alpha, n if self.per_sample_lam else 1, self._gens["lam"]
        )
        return draws.expand(n).to(device, non_blocking=True)

    # -- losses ---------------------------------------------------------------------------------
    def per_sample_loss(
        self, logits: torch.Tensor, target: torch.Tensor, class_rw: bool = False
    ) -> torch.Tensor:
        """Per-sample loss ``(B,)`` for hard labels (class-reweighted if ``class_rw``)."""
        if class_rw and self.class_reweighting is not None:
            costs = class_loss_matrix(self.loss, logits)
            v = self.class_reweighting.targets(costs.detach(), target)
            return (v * costs).sum(dim=1)
        return self.loss(logits, target, reduction="none")

    def mixed_loss(
        self, logits: torch.Tensor, mb: MixedBatch, class_rw: bool = False
    ) -> torch.Tensor:
        """Per-sample loss ``(B,)`` against a mixed (component-form) target.

        With class reweighting the CICW problem is solved exactly on the mixed label
        distribution (:func:`~noisylabels.weighting.cicw.soft_class_targets`), as the official
        code does with cvxpy: with a KL budget mass can move between the mixed classes.
        """
        if class_rw and self.class_reweighting is not None:
            costs = class_loss_matrix(self.loss, logits)
            c = costs.detach()
            v = self.class_reweighting.targets(c, mb.dense(c.shape[1]).to(c.dtype))
            return (v * costs).sum(dim=1)
        if self._plain_ce:
            z = logits.to(torch.float64 if logits.dtype == torch.float64 else torch.float32)
            logp = z.log_softmax(dim=1)
            return -(mb.coefs.to(logp.dtype) * logp.gather(1, mb.labels)).sum(dim=1)
        if getattr(self.loss, "accepts_soft_targets", False):
            return self.loss(logits, mb.dense(logits.shape[1]), reduction="none")
        per = None
        for m in range(mb.labels.shape[1]):
            term = mb.coefs[:, m] * self.loss(logits, mb.labels[:, m], reduction="none")
            per = term if per is None else per + term
        assert per is not None
        return per

    # -- the step -------------------------------------------------------------------------------
    def _mixup_mode(self, weighting_active: bool) -> str | None:
        if self.mixer is not None:
            return "registered"
        if self.mixup is None or self.mixup == "vanilla":
            return self.mixup
        if weighting_active:
            return self.mixup
        # Official behaviour during burn-in: plain mixup, except label_smoothing_w (no mixup).
        return None if self.mixup == "label_smoothing_w" else "vanilla"

    def _extras(self, state: StepState) -> dict[str, float]:
        return self.weighting.extras(state) if self.weighting is not None else {}

    def step(self, batch: Batch, state: StepState) -> StepOutput:
        """Forward, per-sample loss, weights, reduction (see the class docstring)."""
        x, y = batch.x, batch.y
        w_on = self.weighting is not None and self.weighting.active(state)
        cls_on = self.class_reweighting is not None and self.class_reweighting.active(state)
        mode = self._mixup_mode(w_on)
        net = self.net

        if mode is None:
            logits = net(x)
            per = self.per_sample_loss(logits, y, cls_on)
            if self.selector is not None:
                return self._selected(batch, state, logits, per)
            w = None
            if w_on:
                assert self.weighting is not None
                w = self.weighting.weights(per.detach(), state, logits.detach(), y)
            return StepOutput(
                weighted_mean(per, w), logits.detach(), per.detach(), w, self._extras(state)
            )

        gen = self._gen(x.device)
        if mode in ("vanilla", "registered"):
            logits0 = per0 = None
            if self.clean_forward:
                with torch.no_grad():
                    logits0 = net(x)
                    per0 = self.per_sample_loss(logits0, y, cls_on)
            if self.mixer is not None:
                mb = self.mixer.mix(batch, state, gen)
            else:
                lam = self._draw_lam(x.shape[0], x.device)
                mb = mixup(x, y, self.mixup_alpha, gen, lam=lam)
            logits_m = net(mb.x)
            per_m = self.mixed_loss(logits_m, mb, cls_on)
            w = None
            if w_on:
                assert self.weighting is not None
                w = self.weighting.weights(
                    per_m.detach(), state, logits_m.detach(), mb.dense(logits_m.shape[1])
                )
            loss = weighted_mean(per_m, w)
            if logits0 is None or per0 is None:
                logits0, per0 = logits_m, per_m
            return StepOutput(loss, logits0.detach(), per0.detach(), w, self._extras(state))

        # Weight-guided mixup: clean forward for the weights, then the mixed batch.
        assert self.weighting is not None
        with torch.no_grad():
            logits0 = net(x)
            per0 = self.per_sample_loss(logits0, y, cls_on)
            w0 = self.weighting.weights(per0, state, logits0, y)
        if w0 is None:  # a weighting that is active but returns uniform weights
            w0 = torch.ones_like(per0)
        lam = self._draw_lam(x.shape[0], x.device)
        mb = weighted_mixup(
            x,
            y,
            w0,
            mode,
            self.mixup_alpha,
            gen,
            logits=logits0,
            m_pow=self.m_pow,
            margin=self.mixup_margin,
            lam=lam,
        )
        logits_m = net(mb.x)
        # Official: the mixed batch is class-reweighted only with dcl_w_mixup (recompute_weights);
        # otherwise its loss is the plain mean loss against the mixed labels.
        per_m = self.mixed_loss(logits_m, mb, cls_on and self.recompute_weights)
        wm = None
        if self.recompute_weights:
            wm = self.weighting.weights(
                per_m.detach(), state, logits_m.detach(), mb.dense(logits_m.shape[1])
            )
        loss = weighted_mean(per_m, wm)
        return StepOutput(loss, logits0.detach(), per0.detach(), w0, self._extras(state))

    def _selected(
        self, batch: Batch, state: StepState, logits: torch.Tensor, per: torch.Tensor
    ) -> StepOutput:
        """The mean loss of the samples the registered selector keeps; weights = the mask."""
        assert self.selector is not None
        keep = torch.as_tensor(self.selector.select(per.detach(), batch, state))
        if keep.dtype != torch.bool or keep.shape != per.shape:
            raise UsageError(
                f"selection {self.selection!r}: select() must return a boolean mask of shape "
                f"{tuple(per.shape)}, got {keep.dtype} of shape {tuple(keep.shape)}"
            )
        mask = keep.to(per.dtype)
        # Mean over the kept samples, reduced like every step: w_i = 1[kept] * B / n_kept.
        w = mask * (mask.numel() / mask.sum().clamp(min=1.0))
        return StepOutput(
            weighted_mean(per, w), logits.detach(), per.detach(), mask, self._extras(state)
        )

    def hparams(self) -> dict[str, Any]:
        """Resolved hyperparameters: method, loss and its parameters, weighting, mixup."""
        out: dict[str, Any] = {"method": self.name, "loss": self.loss_name}
        loss_hp = getattr(self.loss, "hparams", None)
        if callable(loss_hp):
            out.update(loss_hp())
        out["weighting"] = self.weighting.name if self.weighting is not None else "none"
        if self.weighting is not None:
            out.update(self.weighting.hparams())
        if self.class_reweighting is not None:
            out.update(self.class_reweighting.hparams())
        out["mixup"] = self.mixup or "none"
        for hook in (self.mixer, self.selector):
            hook_hp = getattr(hook, "hparams", None)
            if callable(hook_hp):
                out.update(hook_hp())
        if self.selection is not None:
            out["selection"] = self.selection
        if self.mixer is not None:
            return out
        if self.mixup is not None:
            out.update(mixup_alpha=self.mixup_alpha, per_sample_lam=self.per_sample_lam)
            if self.mixup in WEIGHTED_MODES:
                out.update(m_pow=self.m_pow, recompute_weights=self.recompute_weights)
                if self.mixup == "label_smoothing_w":
                    out["mixup_margin"] = self.mixup_margin
            else:
                out["clean_forward"] = self.clean_forward
        return out
