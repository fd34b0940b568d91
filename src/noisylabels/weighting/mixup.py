r"""Mixup (Zhang et al., ICLR 2018) and its weight-guided variants from CIW (Kumar & Amid 2021).

A mixed sample is :math:`\tilde x_i = \lambda_i x_i + (1-\lambda_i) x_{j(i)}` with target
:math:`\lambda_i t_i + (1-\lambda_i) t_{j(i)}`. Targets are kept in *component form*: class
indices ``labels`` ``(B, M)`` with coefficients ``coefs`` ``(B, M)`` summing to 1 per row, so a
loss can be evaluated on a few hard labels (any loss) or on the dense target
(:meth:`MixedBatch.dense`, for soft-target losses). A one-hot label is ``M = 1``.

Variants (CIW's ``mixup_type``):

* ``vanilla``: partner :math:`j` from a random permutation, :math:`\lambda \sim
  \mathrm{Beta}(a, a)`, one per sample (CIW code) or one per batch (original mixup).
* ``sample_w``: partners drawn with replacement with probability :math:`\propto w`.
* ``weight_w``: permutation partners, :math:`\lambda_i = w_i / (w_i + w_j)`.
* ``sample_weight_w``: both (the CICW-M recipe).
* ``label_smoothing_w``: targets first smoothed toward the prediction,
  :math:`s_i e_{y_i} + (1-s_i) e_{\arg\max p_i}` with :math:`s` the min-max scaled weights,
  then vanilla mixup.

Every function that samples takes an explicit :class:`torch.Generator` (never the global RNG).
Beta draws use our own vectorised Marsaglia-Tsang sampler, because
:class:`torch.distributions.Beta` cannot take a generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from noisylabels.errors import UsageError

#: Weight-guided variants (they need per-sample weights).
WEIGHTED_MODES = ("sample_w", "weight_w", "sample_weight_w", "label_smoothing_w")
MODES = ("vanilla", *WEIGHTED_MODES)


@dataclass
class MixedBatch:
    """Mixed inputs and their targets in component form.

    Attributes:
        x: Mixed inputs, same shape and dtype as the originals.
        labels: ``(B, M)`` int64 class indices.
        coefs: ``(B, M)`` float coefficients, rows sum to 1.
        index: ``(B,)`` partner of each sample.
        lam: ``(B,)`` share of the sample itself (``1 - lam`` is the partner's share).
    """

    x: torch.Tensor
    labels: torch.Tensor
    coefs: torch.Tensor
    index: torch.Tensor
    lam: torch.Tensor

    def dense(self, num_classes: int) -> torch.Tensor:
        """Target probabilities ``(B, K)``."""
        out = torch.zeros(
            self.labels.shape[0], num_classes, device=self.coefs.device, dtype=self.coefs.dtype
        )
        return out.scatter_add_(1, self.labels, self.coefs)


def _check_alpha(alpha: object, name: str = "mixup_alpha") -> float:
    if (
        isinstance(alpha, bool)
        or not isinstance(alpha, (int, float))
        or not (alpha > 0 and math.isfinite(alpha))
    ):
        raise UsageError(f"{name} must be a finite number > 0, got {alpha!r}")
    return float(alpha)


def _log_gamma_variates(shape: float, n: int, generator: torch.Generator) -> torch.Tensor:
    """``log X`` for ``X ~ Gamma(shape, 1)``, float64, by Marsaglia & Tsang (2000).

    For ``shape < 1`` it uses ``Gamma(a) = Gamma(a + 1) * U^(1/a)``, in log space so tiny shapes
    do not underflow. The rejection loop runs until every draw is accepted (acceptance rate
    > 95%, so usually one or two rounds).
    """
    dev = generator.device
    boost = shape < 1.0
    a = shape + 1.0 if boost else shape
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    out = torch.empty(n, dtype=torch.float64, device=dev)
    pending = torch.arange(n, device=dev)
    while pending.numel():
        m = pending.numel()
        z = torch.randn(m, generator=generator, device=dev, dtype=torch.float64)
        u = torch.rand(m, generator=generator, device=dev, dtype=torch.float64)
        v = (1.0 + c * z) ** 3
        ok = (v > 0) & (u.log() < 0.5 * z * z + d - d * v + d * v.clamp_min(1e-300).log())
        out[pending[ok]] = math.log(d) + v[ok].clamp_min(1e-300).log()
        pending = pending[~ok]
    if boost:
        u = torch.rand(n, generator=generator, device=dev, dtype=torch.float64)
        out = out + u.clamp_min(1e-300).log() / shape
    return out


def sample_beta(
    a: float, b: float, n: int, generator: torch.Generator, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    r"""``n`` draws from :math:`\mathrm{Beta}(a, b)` on ``generator``'s device.

    :math:`X/(X+Y)` with :math:`X \sim \Gamma(a)`, :math:`Y \sim \Gamma(b)`, computed as
    ``sigmoid(log X - log Y)``. On CUDA the rejection loop checks acceptance on the host (one
    sync per round); methods draw from a CPU generator instead and copy the result.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = sample_beta(2.0, 2.0, 10000, g)
        >>> abs(x.mean().item() - 0.5) < 0.01
        True
    """
    a = _check_alpha(a, "beta parameter a")
    b = _check_alpha(b, "beta parameter b")
    lx = _log_gamma_variates(a, n, generator)
    ly = _log_gamma_variates(b, n, generator)
    return torch.sigmoid(lx - ly).to(dtype)


def partner_indices(
    n: int, generator: torch.Generator, probs: torch.Tensor | None = None
) -> torch.Tensor:
    """Mixing partners: a random permutation, or ``n`` draws with replacement ``∝ probs``.

    All-zero ``probs`` fall back to uniform draws (with replacement).
    """
    dev = generator.device
    if probs is None:
        return torch.randperm(n, generator=generator, device=dev)
    p = probs.detach().to(torch.float64).clamp_min(0)
    p = torch.where(p.sum() > 0, p, torch.ones_like(p))
    return torch.multinomial(p, n, replacement=True, generator=generator)


def _components(
    y: torch.Tensor | tuple[torch.Tensor, torch.Tensor], dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    if isinstance(y, tuple):
        labels, coefs = y
        return labels.long(), coefs.to(dtype)
    labels = y.long().unsqueeze(1)
    return labels, torch.ones(labels.shape, device=labels.device, dtype=dtype)


def mix_pairs(
    x: torch.Tensor,
    y: torch.Tensor | tuple[torch.Tensor, torch.Tensor],
    index: torch.Tensor,
    lam: torch.Tensor,
) -> MixedBatch:
    r"""Mix each sample with its partner: :math:`\lambda_i x_i + (1-\lambda_i) x_{index_i}`.

    Args:
        x: Inputs ``(B, ...)``.
        y: Labels ``(B,)`` or a component target ``(labels (B, M), coefs (B, M))``.
        index: Partners ``(B,)``.
        lam: ``(B,)`` own share of each sample (a 0-dim tensor is broadcast).

    Returns:
        The mixed batch; its target has ``2M`` components.
    """
    b = x.shape[0]
    lam = lam.to(device=x.device, dtype=torch.float32)
    if lam.dim() == 0:
        lam = lam.expand(b)
    shape = (b,) + (1,) * (x.dim() - 1)
    lx = lam.to(x.dtype).view(shape)
    xm = lx * x + (1 - lx) * x[index]
    labels, coefs = _components(y, torch.float32)
    lc = lam.unsqueeze(1)
    return MixedBatch(
        x=xm,
        labels=torch.cat([labels, labels[index]], dim=1),
        coefs=torch.cat([lc * coefs, (1 - lc) * coefs[index]], dim=1),
        index=index,
        lam=lam,
    )


def _lam(
    alpha: float,
    n: int,
    generator: torch.Generator,
    lam: torch.Tensor | None,
    per_sample: bool,
    device: torch.device,
) -> torch.Tensor:
    if lam is not None:
        return lam.to(device=device, dtype=torch.float32).expand(n) if lam.dim() == 0 else lam
    draws = sample_beta(alpha, alpha, n if per_sample else 1, generator)
    return draws.to(device).expand(n)


def mixup(
    x: torch.Tensor,
    y: torch.Tensor | tuple[torch.Tensor, torch.Tensor],
    alpha: float,
    generator: torch.Generator,
    *,
    per_sample: bool = True,
    lam: torch.Tensor | None = None,
) -> MixedBatch:
    r"""Vanilla mixup: random-permutation partners, :math:`\lambda \sim \mathrm{Beta}(a, a)`.

    Args:
        x: Inputs ``(B, ...)``.
        y: Labels ``(B,)`` or a component target ``(labels, coefs)``.
        alpha: Beta parameter ``a > 0``.
        generator: Source of randomness (on ``x``'s device).
        per_sample: One ratio per sample (CIW code, default) or one per batch (original mixup,
            Arazo et al.).
        lam: Precomputed ratios ``(B,)`` (skips the Beta draw).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> mb = mixup(torch.eye(4), torch.tensor([0, 1, 2, 3]), 1.0, g)
        >>> torch.allclose(mb.dense(4).sum(1), torch.ones(4))
        True
    """
    alpha = _check_alpha(alpha)
    b = x.shape[0]
    index = partner_indices(b, generator)
    return mix_pairs(x, y, index, _lam(alpha, b, generator, lam, per_sample, x.device))


def _guide_weights(weights: torch.Tensor, m_pow: float) -> torch.Tensor:
    """CIW's mixup weights: ``w ** m_pow`` normalised to sum 1 (all-zero -> uniform)."""
    w = weights.detach().to(torch.float32).clamp_min(0)
    if m_pow != 1:
        w = w.pow(m_pow)
    s = w.sum()
    return torch.where(s > 0, w / s.clamp_min(1e-30), torch.full_like(w, 1.0 / max(1, len(w))))


def smoothing_scale(weights: torch.Tensor, margin: float = 0.01) -> torch.Tensor:
    r"""CIW's min-max scaling of (sum-1 normalised) weights to :math:`s \in [0, 1]`.

    :math:`s = (\tilde w - w_{lo}) / (w_{hi} - w_{lo})` with :math:`\tilde w = w / \sum w`,
    :math:`w_{lo} = \max(\min \tilde w - m, 0)`, :math:`w_{hi} = \min(\max \tilde w + m, 1)`.
    The official margin ``m = 0.01`` is large next to sum-1 weights of a batch of 128
    (about 0.008 each), so it compresses :math:`s` away from 1; ``margin=0`` gives plain
    min-max scaling. A constant batch (possible only with ``margin=0``) gets :math:`s = 1`.
    """
    w = _guide_weights(weights, 1.0)
    lo = (w.min() - margin).clamp_min(0)
    hi = (w.max() + margin).clamp_max(1)
    span = hi - lo
    return torch.where(span > 0, (w - lo) / span.clamp_min(1e-30), torch.ones_like(w))


def smoothed_targets(
    y: torch.Tensor, logits: torch.Tensor, weights: torch.Tensor, margin: float = 0.01
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""``label_smoothing_w`` targets :math:`s_i e_{y_i} + (1-s_i) e_{\arg\max p_i}`.

    Returns:
        Component form ``(labels (B, 2), coefs (B, 2))``; no gradient.
    """
    s = smoothing_scale(weights, margin)
    pred = logits.detach().argmax(dim=1)
    labels = torch.stack([y.long(), pred], dim=1)
    coefs = torch.stack([s, 1 - s], dim=1)
    return labels, coefs


def weighted_mixup(
    x: torch.Tensor,
    y: torch.Tensor,
    weights: torch.Tensor,
    mode: str,
    alpha: float,
    generator: torch.Generator,
    *,
    logits: torch.Tensor | None = None,
    m_pow: float = 1.0,
    margin: float = 0.01,
    per_sample: bool = True,
    lam: torch.Tensor | None = None,
) -> MixedBatch:
    r"""Weight-guided mixup (CIW-M / CICW-M), following the official ``mixup_type`` variants.

    Args:
        x: Inputs ``(B, ...)``.
        y: Given labels ``(B,)``.
        weights: Per-sample weights ``(B,)`` (e.g. CIW weights of the clean batch), detached.
        mode: ``sample_w``, ``weight_w``, ``sample_weight_w`` or ``label_smoothing_w``.
        alpha: Beta parameter for the ratios of ``sample_w`` and ``label_smoothing_w``.
        generator: Source of randomness (on ``x``'s device).
        logits: Clean-batch logits; required by ``label_smoothing_w``.
        m_pow: Exponent applied to the weights before use (official ``m_pow``, default 1).
        margin: Min-max margin of ``label_smoothing_w`` (see :func:`smoothing_scale`).
        per_sample: One Beta ratio per sample (official CIW code) or per batch.
        lam: Precomputed Beta ratios ``(B,)`` (ignored by ``weight_w``-type modes).

    Returns:
        The mixed batch.

    Example:
        >>> g = torch.Generator().manual_seed(1)
        >>> w = torch.tensor([1.0, 3.0])
        >>> mb = weighted_mixup(torch.eye(2), torch.tensor([0, 1]), w, "weight_w", 1.0, g)
        >>> mb.lam.tolist(), mb.index.tolist()
        ([0.25, 0.75], [1, 0])
    """
    if mode not in WEIGHTED_MODES:
        raise UsageError(f"unknown weighted mixup {mode!r}; choose one of: {', '.join(MODES)}")
    b = x.shape[0]
    w = _guide_weights(weights, m_pow)
    if mode == "label_smoothing_w":
        if logits is None:
            raise UsageError("label_smoothing_w mixup needs the clean-batch logits")
        target = smoothed_targets(y, logits, weights if m_pow == 1 else w, margin)
        return mixup(x, target, alpha, generator, per_sample=per_sample, lam=lam)
    sampled = mode in ("sample_w", "sample_weight_w")
    index = partner_indices(b, generator, w if sampled else None)
    if mode in ("weight_w", "sample_weight_w"):
        wj = w[index]
        tot = w + wj
        ratio = torch.where(tot > 0, w / tot.clamp_min(1e-30), torch.full_like(w, 0.5))
    else:
        ratio = _lam(_check_alpha(alpha), b, generator, lam, per_sample, x.device)
    return mix_pairs(x, y, index, ratio)
