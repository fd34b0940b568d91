"""Independent reference for the CICW class-reweighting problem, solved numerically by scipy.

    min_v <v, c>   over the simplex,   D(y, v) <= gamma

``y`` is the label as a distribution: a one-hot label is ``y = e_y`` (then KL is
``-log v_y``), a mixup label mixes two. L1 is a linear program (exact, HiGHS); KL and L2 are
solved by SLSQP from several starts (the first near ``y``, the others random). None of this
uses the closed forms in :mod:`noisylabels.weighting.cicw`, which the tests check against it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.optimize import linprog, minimize


def one_hot(label: int, k: int) -> np.ndarray:
    """``e_label`` in ``R^k``."""
    e = np.zeros(k)
    e[label] = 1.0
    return e


def divergence(v: np.ndarray, y: np.ndarray, div: str) -> float:
    """``D(y, v)``: ``sum_k y_k log(y_k / v_k)`` (kl), ``|v - y|_1`` (l1), ``|v - y|_2^2`` (l2)."""
    if div == "kl":
        s = y > 0
        return float((y[s] * (np.log(y[s]) - np.log(np.maximum(v[s], 1e-300)))).sum())
    if div == "l1":
        return float(np.abs(v - y).sum())
    return float(((v - y) ** 2).sum())


def l1_linprog(c: np.ndarray, y: np.ndarray, gamma: float) -> float:
    """The L1 problem as a linear program in ``(v, t)`` with ``t >= |v - y|``."""
    k = len(c)
    eye = np.eye(k)
    a_ub = np.block([[eye, -eye], [-eye, -eye], [np.zeros((1, k)), np.ones((1, k))]])
    b_ub = np.concatenate([y, -y, [gamma]])
    a_eq = np.concatenate([np.ones(k), np.zeros(k)])[None]
    r = linprog(
        np.concatenate([c, np.zeros(k)]), A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=[1.0],
        bounds=[(0, 1)] * k + [(0, None)] * k, method="highs",
    )  # fmt: skip
    assert r.status == 0
    return float(r.fun)


def slsqp_min(
    c: np.ndarray,
    y: np.ndarray,
    gamma: float,
    div: Callable[[np.ndarray], float],
    rng: np.random.Generator,
    *,
    starts: int = 4,
) -> float:
    """``min <v, c>`` over the simplex with ``div(v) <= gamma``: the best feasible SLSQP result.

    ``div`` gets ``v`` clipped to ``[0, 1]``. A result counts if it sums to 1 within 1e-6 and
    meets the budget within 1e-7; ``inf`` if no start does.
    """
    k = len(c)
    cons = [
        {"type": "eq", "fun": lambda v: v.sum() - 1.0},
        {"type": "ineq", "fun": lambda v: gamma - div(np.clip(v, 0, 1))},
    ]
    best = math.inf
    for start in range(starts):
        x0 = 0.98 * y + 0.02 / k if start == 0 else rng.dirichlet(np.ones(k))
        r = minimize(
            lambda v: v @ c,
            x0,
            jac=lambda v: c,
            bounds=[(0.0, 1.0)] * k,
            constraints=cons,
            method="SLSQP",
            options={"ftol": 1e-13, "maxiter": 500},
        )
        if abs(r.x.sum() - 1) < 1e-6 and div(np.clip(r.x, 0, 1)) <= gamma + 1e-7:
            best = min(best, float(r.x @ c))
    return best


def reference_min(
    c: np.ndarray, y: np.ndarray, gamma: float, div: str, rng: np.random.Generator
) -> float:
    """The optimum of the problem for ``div`` in ``kl``, ``l1``, ``l2`` (see the module)."""
    if div == "l1":
        return l1_linprog(c, y, gamma)
    return slsqp_min(c, y, gamma, lambda v: divergence(v, y, div), rng)
