r"""Constrained class reweighting (the "C" in CICW; Kumar & Amid, arXiv 2111.05428).

For each sample the one-hot label :math:`e_y` is replaced by the distribution :math:`v` over
classes that minimises the expected class loss within a divergence budget :math:`\gamma`:

.. math::

    v^\star = \arg\min_{v \in \Delta_K} \sum_k v_k c_k
    \quad \text{s.t.} \quad D(e_y, v) \le \gamma,

where :math:`c_k = -\log p_k` (the cross entropy if the label were :math:`k`; any per-class loss
matrix can be passed instead). The sample's loss becomes :math:`\sum_k v^\star_k c_k`, a soft
cross entropy with target :math:`v^\star` (which is held fixed: no gradient flows through it).

The official code solves this with cvxpy for every batch; we use closed forms (derived below),
which need only a sort of the K costs. :math:`k^\star = \arg\min_k c_k` is the class with the
lowest loss (the predicted class). When :math:`k^\star = y` no feasible move lowers the cost
and :math:`v^\star = e_y`.

* **KL** :math:`\mathrm{KL}(e_y \| v) = -\log v_y \le \gamma \iff v_y \ge e^{-\gamma}`, so
  :math:`v^\star_y = e^{-\gamma}` and the rest, :math:`1 - e^{-\gamma}`, goes to :math:`k^\star`:
  hard bootstrapping with :math:`\beta = e^{-\gamma}`.
* **L1** :math:`\|v - e_y\|_1 = 2(1 - v_y) \le \gamma`, so :math:`v^\star_y = \max(1-\gamma/2, 0)`
  and mass :math:`\min(\gamma/2, 1)` moves to :math:`k^\star`. (The official cvxpy path gives
  this; the unused closed form in the official ``get_inner_loss`` moves :math:`\gamma` instead.)
* **L2** the budget is the *squared* Euclidean distance :math:`\|v - e_y\|_2^2 \le \gamma`, as in
  the official code (both its cvxpy and closed-form paths); for a radius :math:`r` pass
  :math:`\gamma = r^2`. See :func:`l2_class_targets` for the derivation.

**Mixed (soft) labels.** With mixup (CICW-M, the official ``dcl_w_mixup``) the official code
solves the same problem with :math:`e_y` replaced by the mixed label distribution :math:`y`,
:math:`D(y, v) \le \gamma`. :func:`soft_class_targets` solves it exactly without a convex
solver: the KL and L2 problems reduce to a one-dimensional search on a dual variable (a
safeguarded Newton search for KL, a bisection for L2, vectorised over the batch) and L1 to a
fractional knapsack. With a KL budget this moves mass between the two mixed classes towards
the one with the lower loss, which mixing the two one-hot solutions cannot do.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from noisylabels.errors import UsageError
from noisylabels.weighting.base import StepState

DIVERGENCES = ("kl", "l1", "l2")


def check_cicw(gamma: object, div: object) -> tuple[float, str]:
    """Validate ``(gamma, div)``; return them normalised."""
    if (
        isinstance(gamma, bool)
        or not isinstance(gamma, (int, float))
        or not (gamma >= 0 and math.isfinite(gamma))
    ):
        raise UsageError(f"cls_gamma (class-reweighting budget) must be >= 0, got {gamma!r}")
    d = str(div).lower()
    if d not in DIVERGENCES:
        raise UsageError(
            f"unknown class-reweighting divergence {div!r}; choose one of: {', '.join(DIVERGENCES)}"
        )
    return float(gamma), d


def _lowest_other(costs: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``k*`` and whether ``k* != y``.

    ``k*`` is the argmin of the costs, or ``y`` itself when ``y`` ties for the minimum.
    """
    kstar = costs.argmin(dim=1)
    c_y = costs.gather(1, target.unsqueeze(1)).squeeze(1)
    moves = costs.gather(1, kstar.unsqueeze(1)).squeeze(1) < c_y
    return torch.where(moves, kstar, target), moves


def _two_point(costs: torch.Tensor, target: torch.Tensor, keep: float) -> torch.Tensor:
    """``v = keep * e_y + (1 - keep) * e_{k*}`` (``e_y`` when ``y`` has the lowest cost)."""
    kstar, _ = _lowest_other(costs, target)
    v = torch.zeros_like(costs)
    v.scatter_(1, target.unsqueeze(1), keep)
    v.scatter_add_(1, kstar.unsqueeze(1), torch.full_like(v[:, :1], 1.0 - keep))
    return v


def l2_class_targets(costs: torch.Tensor, target: torch.Tensor, gamma: float) -> torch.Tensor:
    r"""Exact minimiser of :math:`\sum_k v_k c_k` on the simplex, :math:`\|v-e_y\|^2 \le \gamma`.

    **Derivation.** The problem is convex; with multipliers :math:`\mu` (sum to one),
    :math:`\nu/2 \ge 0` (ball) and :math:`\eta_k \ge 0` (:math:`v_k \ge 0`) stationarity reads
    :math:`c_k + \mu + \nu (v_k - [k = y]) - \eta_k = 0`, so with :math:`t = -\mu`

    .. math:: v_k = \big([k = y] + (t - c_k)/\nu\big)_+ ,

    i.e. :math:`v^\star` is the Euclidean projection of :math:`e_y - c/\nu` onto the simplex. If
    :math:`c_y` is already the smallest cost, :math:`v^\star = e_y`. If :math:`\gamma \ge 2` the
    ball contains every vertex and :math:`v^\star = e_{k^\star}`. Otherwise the ball is active:

    *Case A* (:math:`v_y > 0`). Summing to one gives
    :math:`(t - c_y) + \sum_{k \ne y} (t - c_k)_+ = 0`, which does not involve :math:`\nu`: the
    threshold :math:`t` is the mean of :math:`c_y` and the :math:`m` smallest other costs, with
    :math:`m` the largest count for which the :math:`m`-th smallest other cost is below that
    mean (the water-filling rule of simplex projection). With the direction
    :math:`d_y = t - c_y`, :math:`d_k = (t - c_k)_+`, the ball fixes
    :math:`\nu = \|d\|_2/\sqrt{\gamma}` and :math:`v = e_y + \sqrt{\gamma}\, d/\|d\|_2`. This
    holds while :math:`v_y \ge 0`, i.e. :math:`\sqrt{\gamma}\,(c_y - t) \le \|d\|_2`, which is
    always true for :math:`\gamma \le 1` (then :math:`\|d\|_2 \ge |d_y|\sqrt{1 + 1/m}`).

    *Case B* (:math:`v_y = 0`, only for :math:`1 < \gamma < 2`). The rest :math:`w` lies on the
    simplex of the other classes with :math:`\|w\|_2^2 \le R = \gamma - 1`, and
    :math:`w_k = (t - c_k)_+ / \sum_j (t - c_j)_+`. With :math:`m` active classes of mean cost
    :math:`a_m` and variance :math:`s_m^2`, :math:`\|w\|^2 = R` gives
    :math:`t = a_m + s_m / \sqrt{R m - 1}`; the right :math:`m` is the one whose :math:`t` lies
    between the :math:`m`-th and :math:`(m+1)`-th smallest other costs. If the smallest other
    costs tie (:math:`m_0` of them) and :math:`R \ge 1/m_0`, :math:`w` is uniform over the tie.

    The official closed form (``get_inner_loss``, unused there) computes Case A and clips
    negative entries without re-solving; this function is exact in both cases (tested against
    a general-purpose solver).

    Args:
        costs: ``(B, K)`` class losses :math:`c_k` (detached).
        target: ``(B,)`` given labels.
        gamma: Budget on the squared L2 distance, ``>= 0``.

    Returns:
        ``(B, K)`` target distributions, in the dtype of ``costs``.
    """
    out_dtype = costs.dtype
    c = costs.detach().to(torch.float64)
    b, k = c.shape
    y = target.long()
    eye = torch.nn.functional.one_hot(y, k).to(c.dtype)
    if gamma <= 0 or b == 0:
        return eye.to(out_dtype)
    c = c - c.min(dim=1, keepdim=True).values  # shift-invariant; keeps the sums small
    c_y = c.gather(1, y.unsqueeze(1))  # (B, 1)
    others = c.masked_fill(eye.bool(), math.inf)
    s, _ = others.sort(dim=1)
    s = s[:, : k - 1]  # sorted costs of the other classes, ascending
    moves = s[:, 0:1] < c_y  # some other class has a lower cost than the given label
    kstar = others.argmin(dim=1)
    if gamma >= 2:
        lp = torch.nn.functional.one_hot(kstar, k).to(c.dtype)
        return torch.where(moves, lp, eye).to(out_dtype)

    ms = torch.arange(1, k, device=c.device, dtype=c.dtype)  # m = 1..K-1
    s1 = s.cumsum(dim=1)
    # Case A: t_m = (c_y + sum of m smallest) / (m + 1); largest m with s_(m) < t_m.
    t_all = (c_y + s1) / (ms + 1)
    valid = s < t_all
    m_a = valid.sum(dim=1, keepdim=True)  # water-filling: the valid m form a prefix
    t_a = torch.where(m_a > 0, t_all.gather(1, (m_a - 1).clamp_min(0)), c_y)  # (B, 1)
    d = (t_a - c).clamp_min(0).masked_fill(eye.bool(), 0.0)
    d = d + eye * (t_a - c_y)
    norm = d.norm(dim=1, keepdim=True)
    root_g = math.sqrt(gamma)
    safe_norm = norm.clamp_min(torch.finfo(c.dtype).tiny)
    v_a = eye + root_g * d / safe_norm
    case_a = root_g * (c_y - t_a) <= norm * (1 + 1e-12)

    # Case B: v_y = 0; w on the other classes with ||w||^2 = R.
    r = gamma - 1.0
    v = torch.where(moves & case_a, v_a.clamp_min(0), eye)
    need_b = moves & ~case_a
    # Case B is only reachable for 1 < gamma < 2; skip its host sync otherwise.
    if gamma > 1 and bool(need_b.any()):
        s2 = (s * s).cumsum(dim=1)
        a = s1 / ms
        var = (s2 / ms - a * a).clamp_min(0)
        denom = r * ms - 1
        t_b = a + torch.sqrt(var / denom.clamp_min(1e-300))
        nxt = torch.cat([s[:, 1:], torch.full_like(s[:, :1], math.inf)], dim=1)
        ok = (denom > 0) & (var > 1e-24) & (s < t_b) & (t_b <= nxt * (1 + 1e-12) + 1e-12)
        first = ok.to(torch.int8).argmax(dim=1, keepdim=True)
        t_sel = t_b.gather(1, first)
        w = (t_sel - others).clamp_min(0)  # inf costs (the label) -> 0
        # A tie of m0 smallest other costs with R >= 1/m0: uniform over the tie.
        ties = others <= s[:, 0:1]
        m0 = ties.sum(dim=1, keepdim=True).to(c.dtype)
        tie_case = r * m0 >= 1
        w = torch.where(tie_case, ties.to(c.dtype), w)
        # Guard against round-off leaving no consistent m (not seen in tests): the LP vertex.
        lost = ~(ok.any(dim=1, keepdim=True) | tie_case)
        w = torch.where(lost, torch.nn.functional.one_hot(kstar, k).to(c.dtype), w)
        w = w / w.sum(dim=1, keepdim=True).clamp_min(torch.finfo(c.dtype).tiny)
        v = torch.where(need_b, w, v)
    return v.to(out_dtype)


def class_targets_from_costs(
    costs: torch.Tensor, target: torch.Tensor, gamma: float, div: str = "kl"
) -> torch.Tensor:
    """CICW target distributions ``v`` ``(B, K)`` from a class-loss matrix ``costs`` ``(B, K)``.

    See the module docstring for the closed forms. ``costs`` is detached inside.
    """
    gamma, div = check_cicw(gamma, div)
    c = costs.detach()
    y = target.long()
    if div == "kl":
        return _two_point(c, y, math.exp(-gamma))
    if div == "l1":
        return _two_point(c, y, max(1.0 - gamma / 2.0, 0.0))
    return l2_class_targets(c, y, gamma)


# -- soft labels (mixup targets) ---------------------------------------------------------------
#: Iteration cap of the one-dimensional dual searches (safeguarded Newton for KL, bisection in
#: log space for L2); the KL search usually stops after a handful of steps.
SOFT_SEARCH_ITERS = 64


def _check_soft(costs: torch.Tensor, soft: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if soft.shape != costs.shape:
        raise UsageError(
            f"soft class-reweighting targets must have the costs' shape {tuple(costs.shape)},"
            f" got {tuple(soft.shape)}"
        )
    c = costs.detach().to(torch.float64)
    y = soft.detach().to(device=c.device, dtype=torch.float64).clamp_min(0)
    y = y / y.sum(dim=1, keepdim=True).clamp_min(torch.finfo(y.dtype).tiny)
    return c, y


def kl_soft_targets(costs: torch.Tensor, soft: torch.Tensor, gamma: float) -> torch.Tensor:
    r"""Exact CICW target for a label distribution: :math:`\mathrm{KL}(y \| v) \le \gamma`.

    Minimises :math:`\sum_k v_k c_k` over the simplex within the budget.

    **Derivation.** Let :math:`S = \{k : y_k > 0\}`, :math:`m = \min_{k\in S} c_k` and
    :math:`c_0 = \min_{k \notin S} c_k` (at class :math:`k_0`). The KL term involves only
    :math:`v_S`, so mass outside :math:`S` can only go to :math:`k_0`. Minimising the Lagrangian
    :math:`\sum_k v_k c_k + \mu(\sum_k v_k - 1) + \nu(\sum_{k \in S} y_k \log(y_k/v_k) - \gamma)`
    over :math:`v` gives :math:`v_k = \nu y_k / (c_k + \mu)` on :math:`S` (with
    :math:`\mu > -m`, and :math:`\mu \ge -c_0` for the classes outside :math:`S`); maximising over
    :math:`\nu` gives :math:`\nu = e^{-\gamma} \prod_{k\in S} (c_k + \mu)^{y_k}`, and the dual
    becomes the concave one-dimensional :math:`h(\mu) = \nu(\mu) - \mu` with
    :math:`h'(\mu) = \sum_{k \in S} v_k(\mu) - 1`. So :math:`\mu^\star` solves
    :math:`\sum_S v_k(\mu) = 1` (a decreasing function of :math:`u = \mu + m`, solved by a
    safeguarded Newton search in :math:`\log u`); if that root lies below :math:`-c_0` the bound
    is active, :math:`\mu = -c_0`, and the missing mass :math:`1 - \sum_S v_k` goes to
    :math:`k_0`. The budget is always spent: :math:`\mathrm{KL}(y \| v^\star) = \gamma` unless
    :math:`y` already has the lowest cost (all of :math:`S` tied at the minimum and nothing
    cheaper outside), where :math:`v^\star = y`. For a one-hot :math:`y` this is the closed
    form :math:`v_y = e^{-\gamma}`, the rest to :math:`k^\star`.

    The official code solves the same problem with cvxpy, with
    :math:`\sum_k y_k(\log(y_k + 10^{-6}) - \log(v_k + 10^{-6}))` as the divergence.

    Args:
        costs: ``(B, K)`` class losses :math:`c_k` (detached).
        soft: ``(B, K)`` label distributions :math:`y` (rows are renormalised to sum 1).
        gamma: Budget ``>= 0``.

    Returns:
        ``(B, K)`` target distributions, in the dtype of ``costs``.
    """
    out_dtype = costs.dtype
    c, y = _check_soft(costs, soft)
    if gamma <= 0 or c.shape[0] == 0:
        return y.to(out_dtype)
    sup = y > 0
    inf = torch.tensor(math.inf, dtype=c.dtype, device=c.device)
    m = torch.where(sup, c, inf).min(dim=1, keepdim=True).values
    c0, k0 = torch.where(sup, inf, c).min(dim=1, keepdim=True)
    d = torch.where(sup, c - m, torch.zeros_like(c))  # >= 0 on S, exactly 0 at its cheapest
    ysafe = torch.where(sup, y, torch.zeros_like(y))
    ybar_d = (ysafe * d).sum(dim=1, keepdim=True)

    def v_on_support(u: torch.Tensor) -> torch.Tensor:
        # v_k = nu y_k / (d_k + u), nu = e^-gamma prod (d_k + u)^y_k, in logs
        du = torch.where(sup, d + u, torch.ones_like(d))
        log_nu = -gamma + (ysafe * du.log()).sum(dim=1, keepdim=True)
        return torch.where(sup, (log_nu + ysafe.clamp_min(1e-300).log() - du.log()).exp(), 0.0)

    def phi(s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # phi = log sum_S v_k at u = e^s (decreasing); dphi/ds = u (A - Bq / A)
        u = s.exp()
        du = torch.where(sup, d + u, torch.ones_like(d))
        a = (ysafe / du).sum(dim=1, keepdim=True)
        bq = (ysafe / du**2).sum(dim=1, keepdim=True)
        val = -gamma + (ysafe * du.log()).sum(dim=1, keepdim=True) + a.log()
        return val, u * (a - bq / a)

    tiny = 1e-300
    u_c = m - c0  # u at the bound mu = -c0 (> 0 only when a cheaper class lies outside S)
    has_bound = u_c > 0
    s_c = torch.where(has_bound, u_c, torch.ones_like(u_c)).log()
    binding = has_bound & (phi(s_c)[0] <= 0)
    # f(u) <= e^-gamma (1 + ybar_d / u): below 1 from u = 2 ybar_d / (e^gamma - 1) on
    hi = (2 * ybar_d / math.expm1(gamma)).clamp_min(tiny).log()
    lo = torch.where(has_bound, s_c, torch.full_like(s_c, math.log(tiny)))
    lo = torch.minimum(lo, hi)
    # start from the large-u expansion log f = -gamma + Var_y(d) / (2 u^2) + O(u^-3)
    var_d = (ysafe * (d - ybar_d) ** 2).sum(dim=1, keepdim=True)
    s = (0.5 * (var_d / (2 * gamma)).clamp_min(tiny).log()).clamp(min=lo, max=hi)
    search = ~binding & (ybar_d > 0)  # rows whose answer is the root
    for _ in range(SOFT_SEARCH_ITERS):
        val, dval = phi(s)
        lo = torch.where(val > 0, s, lo)
        hi = torch.where(val > 0, hi, s)
        nxt = s - val / dval
        ok = torch.isfinite(nxt) & (nxt >= lo) & (nxt <= hi)
        nxt = torch.where(ok, nxt, (lo + hi) / 2)  # bisect where Newton leaves the bracket
        done = ((nxt - s).abs() <= 1e-12 * (1 + s.abs())) | ~search
        s = nxt
        if bool(done.all()):
            break
    v_free = v_on_support(s.exp())
    v_free = v_free / v_free.sum(dim=1, keepdim=True)
    v_bound = v_on_support(torch.where(binding, u_c, torch.ones_like(u_c)))
    rest = (1 - v_bound.sum(dim=1, keepdim=True)).clamp_min(0)
    v_bound = v_bound.scatter_add(1, k0, rest)
    v = torch.where(binding, v_bound, v_free)
    # all of S tied at the minimum and nothing cheaper outside: y is optimal
    v = torch.where((ybar_d <= 0) & ~binding, y, v)
    return v.to(out_dtype)


def l1_soft_targets(costs: torch.Tensor, soft: torch.Tensor, gamma: float) -> torch.Tensor:
    r"""Exact CICW target for a label distribution: :math:`\|v - y\|_1 \le \gamma`.

    Moving mass :math:`\delta` between classes costs :math:`2\delta` of the budget, so at most
    :math:`\gamma/2` moves, all of it to the cheapest class :math:`k^\star`. The problem is a
    fractional knapsack (its LP dual has one threshold on the costs): mass is taken from the
    most expensive classes of :math:`y` first, each giving at most :math:`y_k`. The official
    cvxpy path solves the same problem (its unused closed form moves :math:`\gamma`, for one-hot
    labels only).

    Args:
        costs: ``(B, K)`` class losses (detached).
        soft: ``(B, K)`` label distributions.
        gamma: Budget ``>= 0``.

    Returns:
        ``(B, K)`` target distributions, in the dtype of ``costs``.
    """
    out_dtype = costs.dtype
    c, y = _check_soft(costs, soft)
    if gamma <= 0 or c.shape[0] == 0:
        return y.to(out_dtype)
    cmin, kstar = c.min(dim=1, keepdim=True)
    donor = (y > 0) & (c > cmin)
    order = torch.where(donor, c, torch.full_like(c, -math.inf)).argsort(dim=1, descending=True)
    ys = (y * donor).gather(1, order)
    before = ys.cumsum(dim=1) - ys
    take_sorted = torch.minimum(ys, (gamma / 2.0 - before).clamp_min(0))
    take = torch.zeros_like(y).scatter(1, order, take_sorted)
    v = (y - take).clamp_min(0).scatter_add(1, kstar, take.sum(dim=1, keepdim=True))
    return v.to(out_dtype)


def project_simplex(x: torch.Tensor) -> torch.Tensor:
    """Euclidean projection of each row of ``x`` onto the probability simplex (sort-based)."""
    u, _ = x.sort(dim=1, descending=True)
    css = u.cumsum(dim=1) - 1
    j = torch.arange(1, x.shape[1] + 1, device=x.device, dtype=x.dtype)
    rho = ((u - css / j) > 0).sum(dim=1, keepdim=True).clamp_min(1)
    tau = css.gather(1, rho - 1) / rho.to(x.dtype)
    return (x - tau).clamp_min(0)


def l2_soft_targets(costs: torch.Tensor, soft: torch.Tensor, gamma: float) -> torch.Tensor:
    r"""Exact CICW target for a label distribution: :math:`\|v - y\|_2^2 \le \gamma`.

    Stationarity gives :math:`v(s) = \Pi_\Delta(y - s\,c)` (Euclidean projection onto the
    simplex) with :math:`s = 1/\nu` the inverse multiplier of the ball; the distance
    :math:`\|v(s) - y\|` is non-decreasing in :math:`s` (a property of projected steps), so
    :math:`s^\star` is found by bisection in :math:`\log s` between
    :math:`\sqrt\gamma/\|c - \bar c\|` (inside the ball, since the projection is
    non-expansive) and :math:`2/g` with :math:`g` the gap between the two lowest distinct
    costs (beyond it only the cheapest classes stay active). If even that point lies inside
    the ball it is optimal. The feasible end of the final bracket is returned. Squared
    distance, as the official code's budget.

    Args:
        costs: ``(B, K)`` class losses (detached).
        soft: ``(B, K)`` label distributions.
        gamma: Budget on the squared L2 distance, ``>= 0``.

    Returns:
        ``(B, K)`` target distributions, in the dtype of ``costs``.
    """
    out_dtype = costs.dtype
    c, y = _check_soft(costs, soft)
    if gamma <= 0 or c.shape[0] == 0:
        return y.to(out_dtype)
    c = c - c.mean(dim=1, keepdim=True)
    norm = c.norm(dim=1, keepdim=True)
    cmin = c.min(dim=1, keepdim=True).values
    above = c - cmin
    gap = torch.where(above > 1e-12 * (1 + norm), above, torch.full_like(c, math.inf)).min(
        dim=1, keepdim=True
    ).values
    flat = ~torch.isfinite(gap)  # all costs equal: nothing to gain, y is optimal
    safe_norm = norm.clamp_min(1e-300)
    lo = (math.sqrt(gamma) / safe_norm).log()
    hi = torch.where(flat, torch.ones_like(gap), 2.0 / gap).log()
    hi = torch.maximum(hi, lo)

    def dist2(s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        v = project_simplex(y - s.exp() * c)
        return v, ((v - y) ** 2).sum(dim=1, keepdim=True)

    v_hi, d_hi = dist2(hi)
    inside = d_hi <= gamma
    for _ in range(SOFT_SEARCH_ITERS):
        mid = (lo + hi) / 2
        _, dm = dist2(mid)
        lo = torch.where(dm <= gamma, mid, lo)
        hi = torch.where(dm <= gamma, hi, mid)
    v_lo, _ = dist2(lo)
    v = torch.where(inside, v_hi, v_lo)
    v = torch.where(flat, y, v)
    return v.to(out_dtype)


def soft_class_targets(
    costs: torch.Tensor, soft: torch.Tensor, gamma: float, div: str = "kl"
) -> torch.Tensor:
    r"""CICW targets for label *distributions* ``soft`` ``(B, K)`` (e.g. mixed labels).

    Solves :math:`\min_{v \in \Delta_K} \sum_k v_k c_k` s.t. :math:`D(y, v) \le \gamma` exactly,
    as the official code does with cvxpy on the mixed labels (``dcl_w_mixup``): see
    :func:`kl_soft_targets`, :func:`l1_soft_targets`, :func:`l2_soft_targets`. With a KL budget
    mass can move between the mixed classes, towards the one with the lower loss. For one-hot
    rows the result equals :func:`class_targets_from_costs`.
    """
    gamma, div = check_cicw(gamma, div)
    if div == "kl":
        return kl_soft_targets(costs, soft, gamma)
    if div == "l1":
        return l1_soft_targets(costs, soft, gamma)
    return l2_soft_targets(costs, soft, gamma)


def cicw_targets(
    logits: torch.Tensor,
    target: torch.Tensor,
    gamma: float,
    div: str = "kl",
    class_losses: torch.Tensor | None = None,
) -> torch.Tensor:
    r"""CICW class-reweighted targets :math:`v^\star` ``(B, K)`` (no gradient).

    Args:
        logits: ``(B, K)`` scores.
        target: ``(B,)`` given labels.
        gamma: Budget :math:`\gamma \ge 0` (official flag default 0.1; CICW-M recipe 0.01).
        div: ``"kl"``, ``"l1"`` or ``"l2"`` (squared L2 distance, as in the official code).
        class_losses: Optional ``(B, K)`` loss of every candidate label; default
            :math:`c_k = -\log p_k` (cross entropy), as in the paper.

    Example:
        >>> logits = torch.log(torch.tensor([[0.2, 0.7, 0.1]]))
        >>> v = cicw_targets(logits, torch.tensor([0]), gamma=0.5, div="l1")
        >>> [round(x, 2) for x in v[0].tolist()]
        [0.75, 0.25, 0.0]
    """
    if class_losses is None:
        z = logits.detach()
        z = z.to(torch.float64 if z.dtype == torch.float64 else torch.float32)
        class_losses = -z.log_softmax(dim=1)
    return class_targets_from_costs(class_losses, target, gamma, div)


def class_reweighted_ce(
    logits: torch.Tensor,
    target: torch.Tensor,
    gamma: float,
    div: str = "kl",
    reduction: str = "none",
) -> torch.Tensor:
    r"""CICW inner loss :math:`\sum_k v^\star_k (-\log p_k)` with :math:`v^\star` detached.

    Args:
        logits: ``(B, K)`` scores.
        target: ``(B,)`` given labels.
        gamma: Budget.
        div: ``"kl"``, ``"l1"`` or ``"l2"``.
        reduction: ``"none"`` (``(B,)``), ``"mean"`` or ``"sum"``.
    """
    z = logits.to(torch.float64 if logits.dtype == torch.float64 else torch.float32)
    ce = -z.log_softmax(dim=1)
    v = class_targets_from_costs(ce.detach(), target, gamma, div)
    per = (v * ce).sum(dim=1)
    if reduction == "none":
        return per
    if reduction == "mean":
        return per.mean()
    if reduction == "sum":
        return per.sum()
    raise UsageError(f"unknown reduction {reduction!r}; choose none, mean or sum")


class ClassReweighting:
    """CICW class reweighting as a configurable step component.

    Args:
        gamma: Budget (default 0.1, the official flag default).
        div: ``"kl"`` (default; the CICW-M recipe), ``"l1"`` or ``"l2"``.
        burnin_steps: Steps with plain one-hot targets at the start (the official code shares
            CIW's burn-in).
    """

    def __init__(self, gamma: float = 0.1, div: str = "kl", burnin_steps: int = 0) -> None:
        self.gamma, self.div = check_cicw(gamma, div)
        if isinstance(burnin_steps, bool) or not isinstance(burnin_steps, int) or burnin_steps < 0:
            raise UsageError(f"burnin_steps must be an integer >= 0, got {burnin_steps!r}")
        self.burnin_steps = burnin_steps

    def active(self, state: StepState) -> bool:
        """False during burn-in (or when gamma is 0)."""
        return self.gamma > 0 and state.step + 1 > self.burnin_steps

    def targets(self, costs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``v`` ``(B, K)`` from detached class losses ``costs``.

        ``target`` is either ``(B,)`` labels (closed forms) or ``(B, K)`` label distributions
        such as mixed labels (:func:`soft_class_targets`).
        """
        if target.dim() == 2:
            return soft_class_targets(costs, target, self.gamma, self.div)
        return class_targets_from_costs(costs, target, self.gamma, self.div)

    def hparams(self) -> dict[str, Any]:
        """Resolved hyperparameters."""
        return {"cls_div": self.div, "cls_gamma": self.gamma}
