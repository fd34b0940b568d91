"""Bi-tempered logistic loss (Amid, Warmuth, Anil & Koren, NeurIPS 2019).

Follows the official google/bi-tempered-loss code: tempered logarithm and exponential, a
normaliser found by a fixed-point iteration (``t2 > 1``) or a binary search (``t2 < 1``), the
Bregman-divergence loss and its closed-form gradient (the normaliser is never back-propagated
through; its derivative, the escort distribution, is used instead).
"""

from __future__ import annotations

import math

import torch

from noisylabels.errors import UsageError
from noisylabels.losses.common import (
    PROB_EPS,
    LossModule,
    check_inputs,
    check_range,
    reduce,
)

#: Default iterations of the fixed-point normaliser (``t2 > 1``), as in the official code.
FIXED_POINT_ITERS = 5
#: Default iterations of the binary-search normaliser (``t2 < 1``): each halves the bracket, so
#: 20 leaves it ~1e-6 of its start (the official code's 5 leave ~3%).
BINARY_SEARCH_ITERS = 20


def log_t(u: torch.Tensor, t: float) -> torch.Tensor:
    r"""Tempered logarithm :math:`\log_t u = (u^{1-t} - 1) / (1 - t)`; ``log`` at ``t = 1``."""
    if t == 1.0:
        return torch.log(u)
    # expm1 form: accurate for t near 1
    return torch.expm1((1.0 - t) * torch.log(u)) / (1.0 - t)


def exp_t(u: torch.Tensor, t: float) -> torch.Tensor:
    r"""Tempered exponential :math:`\exp_t u = [1 + (1 - t) u]_+^{1/(1-t)}` (``exp`` at t = 1)."""
    if t == 1.0:
        return torch.exp(u)
    return torch.exp(_log_exp_t(u, t))


def _log_exp_t(u: torch.Tensor, t: float) -> torch.Tensor:
    """``log exp_t(u)`` for ``t != 1`` via log1p (accurate near ``t = 1``).

    Where ``1 + (1 - t) u <= 0`` it is ``-inf`` for ``t < 1`` (outside the finite support) and
    ``+inf`` for ``t > 1`` (past the pole at ``u = 1 / (t - 1)``).
    """
    v = (1.0 - t) * u
    inside = v > -1.0
    off = -torch.inf if t < 1.0 else torch.inf
    return torch.where(inside, torch.log1p(torch.where(inside, v, 0.0)) / (1.0 - t), off)


def _check_iters(num_iters: int | None) -> int | None:
    if num_iters is None:
        return None
    if isinstance(num_iters, bool) or not isinstance(num_iters, int) or num_iters < 1:
        raise UsageError(f"num_iters must be a positive integer or None, got {num_iters!r}")
    return num_iters


@torch.no_grad()
def tempered_normalizer(
    activations: torch.Tensor, t: float, num_iters: int | None = None
) -> torch.Tensor:
    r"""The normaliser :math:`\lambda`, ``(B, 1)``, with :math:`\sum_k \exp_t(a_k - \lambda) = 1`.

    ``t = 1``: log-sum-exp. ``t > 1``: the official fixed-point iteration (default 5 steps).
    ``t < 1``: binary search on ``[0, -\log_t(1/d)]`` above the max activation, where ``d`` is the
    number of classes inside the support (default 20 steps). No gradient.
    """
    t = check_range("t", t, 0.0, lo_open=True)
    num_iters = _check_iters(num_iters)
    if t == 1.0:
        return torch.logsumexp(activations, dim=-1, keepdim=True)
    mu = activations.max(dim=-1, keepdim=True).values
    a0 = activations - mu
    if t > 1.0:
        at = a0
        for _ in range(FIXED_POINT_ITERS if num_iters is None else num_iters):
            z = exp_t(at, t).sum(dim=-1, keepdim=True)
            at = a0 * z.pow(1.0 - t)
        z = exp_t(at, t).sum(dim=-1, keepdim=True)
        return -log_t(1.0 / z, t) + mu
    eff_dim = (a0 > -1.0 / (1.0 - t)).sum(dim=-1, keepdim=True).to(a0.dtype)
    lower = torch.zeros_like(eff_dim)
    upper = -log_t(1.0 / eff_dim, t)
    for _ in range(BINARY_SEARCH_ITERS if num_iters is None else num_iters):
        mid = (lower + upper) / 2.0
        below = exp_t(a0 - mid, t).sum(dim=-1, keepdim=True) < 1.0
        upper = torch.where(below, mid, upper)
        lower = torch.where(below, lower, mid)
    return (lower + upper) / 2.0 + mu


def tempered_softmax(
    activations: torch.Tensor, t: float, num_iters: int | None = None
) -> torch.Tensor:
    r"""Tempered softmax :math:`p_k = \exp_t(a_k - \lambda(a))` (softmax at ``t = 1``).

    Differentiable: the gradient of :math:`\lambda` is its exact derivative, the escort
    distribution :math:`p^t / \sum p^t` (by implicit differentiation of
    :math:`\sum_k p_k = 1`), not a back-propagation through the iterations.

    Example:
        >>> p = tempered_softmax(torch.tensor([[1.0, 0.0, -1.0]]), t=1.5)
        >>> round(p.sum().item(), 4)
        1.0
    """
    if t == 1.0:
        return activations.softmax(dim=-1)
    lam = tempered_normalizer(activations, t, num_iters)
    with torch.no_grad():
        p = exp_t(activations - lam, t)
        escort = p.pow(t)
        escort = escort / escort.sum(dim=-1, keepdim=True)
    # Value lam, gradient d(lam)/d(a) = escort.
    delta = activations - activations.detach()
    lam = lam + (escort * delta).sum(dim=-1, keepdim=True)
    return exp_t(activations - lam, t)


def _tempered_log_probs(a: torch.Tensor, t2: float, num_iters: int | None) -> torch.Tensor:
    """``log p`` of the tempered softmax (``-inf`` outside the support when ``t2 < 1``)."""
    lam = tempered_normalizer(a, t2, num_iters)
    if t2 == 1.0:
        return a - lam
    return _log_exp_t(a - lam, t2)


def _bitempered_matrix(
    logp: torch.Tensor, labels: torch.Tensor, t1: float, t2: float
) -> torch.Tensor:
    """Per-class terms ``y (log_t1 y - log_t1 p) - (y^(2-t1) - p^(2-t1)) / (2 - t1)``."""
    if t1 == 1.0:
        if t2 < 1.0:  # p = 0 outside the finite support: clamp before the log
            logp = logp.clamp(min=math.log(PROB_EPS))
        y_log_y = torch.xlogy(labels, labels)
        y_log_p = labels * logp
    else:
        y_log_y = labels * torch.expm1((1.0 - t1) * torch.log(labels)) / (1.0 - t1)
        y_log_p = labels * torch.expm1((1.0 - t1) * logp) / (1.0 - t1)
    p_pow = torch.exp((2.0 - t1) * logp)
    return y_log_y - y_log_p - (labels.pow(2.0 - t1) - p_pow) / (2.0 - t1)


class _BiTemperedFunction(torch.autograd.Function):
    """Loss per sample with the official closed-form gradient w.r.t. the activations."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx,
        activations: torch.Tensor,
        labels: torch.Tensor,
        t1: float,
        t2: float,
        num_iters: int | None,
    ) -> torch.Tensor:
        logp = _tempered_log_probs(activations, t2, num_iters)
        loss = _bitempered_matrix(logp, labels, t1, t2).sum(dim=-1)
        ctx.save_for_backward(logp, labels)
        ctx.t1, ctx.t2 = t1, t2  # type: ignore[attr-defined]
        return loss

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx, grad_loss: torch.Tensor
    ) -> tuple[torch.Tensor | None, ...]:
        logp, labels = ctx.saved_tensors  # type: ignore[attr-defined]
        t1, t2 = ctx.t1, ctx.t2  # type: ignore[attr-defined]
        p = logp.exp()
        # d loss / d p_k = p_k^-t1 (p_k - y_k); d p_k / d a_j = p_k^t2 (delta_kj - escort_j).
        # The forget factor p^(t2 - t1) follows the official custom gradient: with t1 = t2 it is
        # 1 everywhere (0^0 = 1), so a labelled class outside the finite support keeps p - y and
        # the sample keeps training. For t2 > t1 it is 0 there (as officially); for t2 < t1 the
        # official 0^negative gives inf/NaN and we use 0.
        if t1 == t2:
            forget = torch.ones_like(p)
        else:
            forget = torch.where(p > 0, torch.exp((t2 - t1) * logp), torch.zeros_like(p))
        delta = (p - labels) * forget
        escort = torch.exp(t2 * logp)
        escort = escort / escort.sum(dim=-1, keepdim=True)
        grad = delta - escort * delta.sum(dim=-1, keepdim=True)
        return grad * grad_loss.unsqueeze(-1), None, None, None, None


def bitempered_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    t1: float = 1.0,
    t2: float = 1.0,
    label_smoothing: float = 0.0,
    num_iters: int | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Bi-tempered logistic loss.

    With the tempered softmax :math:`p = \exp_{t_2}(a - \lambda(a))` and label distribution
    :math:`y`:

    .. math::
        L = \sum_k \Big[ y_k (\log_{t_1} y_k - \log_{t_1} p_k)
            - \frac{y_k^{2-t_1} - p_k^{2-t_1}}{2 - t_1} \Big].

    ``t1 = t2 = 1`` is cross entropy (computed exactly from ``log_softmax``); ``t1 < 1`` bounds
    the loss by :math:`1/(1-t_1)` for one-hot labels; ``t2 > 1`` gives heavy tails and ``t2 < 1``
    a finite support. Label smoothing maps :math:`y \to (1 - \frac{K}{K-1}\varepsilon) y +
    \frac{\varepsilon}{K-1}` (the official convention: ``eps`` is spread over the other classes).
    A soft target is used as the label distribution ``y`` directly (this loss is not linear in
    ``y``). The gradient is the official closed form (``bi_tempered_logistic_loss_bwd``:
    :math:`g = \delta - \mathrm{escort}\,\sum_k \delta_k` with
    :math:`\delta = (p - y)\,p^{t_2 - t_1}` and escort :math:`p^{t_2}/\sum p^{t_2}`), exact for an
    exact normaliser wherever :math:`p > 0`. Outside a finite support (``t2 < 1``, :math:`p_k = 0`)
    it follows the official code where that is finite: for ``t1 = t2`` the factor
    :math:`p^0 = 1` keeps :math:`p_k - y_k` (so a sample whose labelled class has :math:`p = 0`
    is still pulled towards it; the loss itself is flat there), for ``t2 > t1`` the factor is 0;
    for ``t2 < t1`` the official gradient is inf/NaN and ours uses 0. For ``t1 = 1, t2 < 1``
    ``p`` is clamped at 1e-7 inside the log.

    Args:
        logits: ``(B, K)`` activations.
        target: ``(B,)`` integer labels or ``(B, K)`` label distributions.
        t1: Temperature of the log in the loss, in ``[0, 1]`` (``< 1``: bounded).
        t2: Temperature of the tempered softmax, ``> 0`` (``> 1``: heavy tail).
        label_smoothing: ``eps`` in ``[0, 1)``.
        num_iters: Iterations of the normaliser; None means 5 for the fixed point (``t2 > 1``,
            the official default) and 20 for the binary search (``t2 < 1``).
        reduction: ``"none"`` (shape ``(B,)``), ``"mean"`` or ``"sum"``.

    Example:
        >>> logits = torch.tensor([[2.0, 0.0, 0.0]])
        >>> round(bitempered_loss(logits, torch.tensor([0])).item(), 4)  # t1 = t2 = 1: CE
        0.2395
        >>> bitempered_loss(-1e4 * torch.eye(3), torch.arange(3), t1=0.5, t2=2.0) <= 2.0
        tensor(True)
    """
    t1 = check_range("t1", t1, 0.0, 1.0)
    t2 = check_range("t2", t2, 0.0, lo_open=True)
    eps = check_range("label_smoothing", label_smoothing, 0.0, 1.0, hi_open=True)
    num_iters = _check_iters(num_iters)
    logits, target = check_inputs(logits, target)
    k = logits.shape[1]
    if target.dim() == 1:  # scatter, not F.one_hot: no host sync on accelerators
        labels = torch.zeros_like(logits).scatter_(1, target.unsqueeze(1), 1.0)
    else:
        labels = target
    if eps > 0.0:
        labels = (1.0 - k / (k - 1) * eps) * labels + eps / (k - 1)
    if t1 == 1.0 and t2 == 1.0:
        per_sample = torch.xlogy(labels, labels).sum(1) - (labels * logits.log_softmax(1)).sum(1)
    else:
        per_sample = _BiTemperedFunction.apply(logits, labels, t1, t2, num_iters)
    return reduce(per_sample, reduction)


class BiTemperedLoss(LossModule):
    """Bi-tempered logistic loss (t1 < 1 bounded, t2 > 1 heavy-tailed); t1 = t2 = 1 is CE."""

    kind = "other"

    def __init__(
        self,
        t1: float = 1.0,
        t2: float = 1.0,
        label_smoothing: float = 0.0,
        num_iters: int | None = None,
        *,
        num_classes: int | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(num_classes=num_classes, reduction=reduction)
        self.t1 = check_range("t1", t1, 0.0, 1.0)
        self.t2 = check_range("t2", t2, 0.0, lo_open=True)
        self.label_smoothing = check_range(
            "label_smoothing", label_smoothing, 0.0, 1.0, hi_open=True
        )
        self.num_iters = _check_iters(num_iters)
        self.is_bounded = self.t1 < 1.0

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-sample loss, shape ``(B,)``."""
        return bitempered_loss(
            logits,
            target,
            self.t1,
            self.t2,
            self.label_smoothing,
            self.num_iters,
            reduction="none",
        )
