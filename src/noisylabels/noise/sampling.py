"""Drawing noisy labels from a transition matrix, vectorised (no per-sample Python).

Both samplers split a draw from row ``T[y]`` into "does the label flip?" (probability
``rate_y = 1 - T[y, y]``) and "to which other class?" (the off-diagonal row ``T[y, j != y]``
renormalised), which is the same distribution. They differ only in the first step:

- ``exact``: in every class ``c`` exactly ``round(rate_c * n_c)`` samples flip (halves round up),
  chosen uniformly without replacement (APL's convention; the realised rate equals the nominal
  one up to rounding);
- ``iid``: every sample flips independently with probability ``rate_y`` (Co-teaching's
  ``multiclass_noisify``; right only in expectation).
"""

from __future__ import annotations

import numpy as np

from noisylabels.errors import UsageError

RngLike = np.random.Generator | int | None


def as_rng(rng: RngLike) -> np.random.Generator:
    """``np.random.default_rng(rng)``, passing Generators through (never the global RNG)."""
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def flip_counts(T: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Exact number of flips per class: ``round(rate_c * n_c)`` with halves rounded up."""
    rates = 1.0 - np.diag(T)
    return np.floor(np.clip(rates, 0.0, 1.0) * counts + 0.5).astype(np.int64)


def _k_smallest_per_class(
    labels: np.ndarray, keys: np.ndarray, k: np.ndarray, approx: np.ndarray, width: np.ndarray
) -> np.ndarray:
    """Boolean mask of the ``k[c]`` smallest ``keys`` of every class ``c`` (ties by index).

    ``approx[c] +- width[c]`` is a window expected to hold the ``k[c]``-th smallest key: keys
    below it are taken, keys inside it are sorted (a small set), and a class whose window misses
    falls back to a partition of the whole class. The result is exact either way; the window
    only makes it O(N) with a few cheap passes instead of a sort of all N keys.
    """
    K = k.shape[0]
    lo = approx - width
    hi = approx + width
    buf = np.take(lo, labels)
    sel = keys < buf
    np.take(hi, labels, out=buf)
    win = np.flatnonzero((keys < buf) & ~sel)
    del buf
    below = np.bincount(labels[np.flatnonzero(sel)], minlength=K)
    need = k - below
    win_labels = labels[win]
    in_win = np.bincount(win_labels, minlength=K)
    order = np.lexsort((win, keys[win], win_labels))  # by class, then key, then index
    win, win_labels = win[order], win_labels[order]
    rank = np.arange(win.shape[0]) - (np.cumsum(in_win) - in_win)[win_labels]
    sel[win[rank < need[win_labels]]] = True
    for c in np.flatnonzero((need < 0) | (need > in_win)):  # the window missed (rare)
        idx = np.flatnonzero(labels == c)
        sel[idx] = False
        if k[c] > 0:
            first = np.lexsort((idx, keys[idx]))[: k[c]]
            sel[idx[first]] = True
    return sel


def choose_exact(
    labels: np.ndarray, k: np.ndarray, rng: np.random.Generator, weights: np.ndarray | None = None
) -> np.ndarray:
    """Indices of exactly ``k[c]`` samples of every class ``c``, without replacement.

    Every sample gets an iid uniform key and each class keeps its ``k[c]`` smallest keys: a
    uniformly random ``k[c]``-subset. With ``weights`` the subset is weighted sampling without
    replacement (Efraimidis & Spirakis 2006: the ``k[c]`` largest ``log(u) / w``).

    Returns:
        Sorted ``int64`` indices into ``labels``.
    """
    n = labels.shape[0]
    K = k.shape[0]
    counts = np.bincount(labels, minlength=K)
    if np.any(k > counts) or np.any(k < 0):
        raise ValueError("k must lie in [0, n_c] for every class")
    if weights is None:
        keys = rng.random(n)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.where(counts > 0, k / np.maximum(counts, 1), 0.0)
            # The k-th smallest of n uniforms is Beta(k, n-k+1): mean ~ k/n, sd ~ sqrt(p(1-p)/n).
            width = 8.0 * np.sqrt(np.maximum(p * (1 - p), 1.0 / np.maximum(counts, 1)) /
                                  np.maximum(counts, 1)) + 1e-9
        # k == 0: empty window at 0; k == n_c: every key (< 1) lies below 1.5.
        width = np.where(k == 0, 0.0, np.where(k == counts, 0.5, width))
        approx = np.where(k == 0, 0.0, np.where(k == counts, 2.0, p))
        sel = _k_smallest_per_class(labels, keys, k, approx, width)
    else:
        with np.errstate(divide="ignore"):
            keys = -np.log(rng.random(n)) / weights  # inf where w == 0: never chosen first
        order = np.lexsort((np.arange(n), keys, labels))
        rank = np.arange(n) - (np.cumsum(counts) - counts)[labels[order]]
        sel = np.zeros(n, dtype=bool)
        sel[order[rank < k[labels[order]]]] = True
    return np.flatnonzero(sel)


def _row_cdf(P: np.ndarray) -> np.ndarray:
    """Rows' cumulative sums shifted by the row index, flattened: one sorted array for all rows."""
    K = P.shape[0]
    cdf = np.cumsum(P, axis=1)
    # x / x == 1 exactly, so every row (and its trailing zero-probability classes) ends at
    # exactly 1: row c ends at c + 1 where row c + 1 starts.
    cdf /= cdf[:, -1:]
    return (cdf + np.arange(K)[:, None]).ravel()


def offdiagonal(T: np.ndarray) -> np.ndarray:
    """``T`` with a zero diagonal and rows renormalised: where a flipped label goes.

    Rows with no off-diagonal mass (classes that never flip) become uniform over the other
    classes; they are never used.
    """
    P = np.array(T, dtype=np.float64, copy=True)
    np.fill_diagonal(P, 0.0)
    s = P.sum(axis=1, keepdims=True)
    empty = s[:, 0] <= 0
    P[empty] = 1.0
    P[empty, np.flatnonzero(empty)] = 0.0
    return P / P.sum(axis=1, keepdims=True)


def _uniform_support(P: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """If every row is uniform over its non-zero entries: (support table, support sizes)."""
    support = P > 0
    m = support.sum(axis=1)
    if not np.allclose(P[support], np.repeat(1.0 / m, m), rtol=1e-12, atol=0.0):
        return None
    # Row c's support columns first (stable argsort of ~support keeps them in column order).
    table = np.argsort(~support, axis=1, kind="stable")[:, : m.max()]
    return table, m


def draw_from_rows(P: np.ndarray, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One draw from row ``P[rows[i]]`` for every ``i``, vectorised.

    Zero-probability entries are never drawn. ``P`` must be row-stochastic, shape ``(K, K)``.
    Rows that are uniform over their support (every built-in kind) take a table look-up; any
    other ``P`` takes the inverse CDF with one ``searchsorted`` over all rows.
    """
    K = P.shape[0]
    rows = np.asarray(rows, dtype=np.int64)
    u = rng.random(rows.shape[0])
    fast = _uniform_support(P)
    if fast is not None:
        table, m = fast
        m_rows = m[rows]
        j = (u * m_rows).astype(np.int64)
        np.minimum(j, m_rows - 1, out=j)  # u * m can round up to m
        return table[rows, j]
    flat = _row_cdf(P)
    # rows + u can round up to rows + 1 (u near 1, large row index): keep it strictly inside the
    # row, so that the first CDF entry above it is a class of positive probability of that row.
    x = np.minimum(rows + u, np.nextafter(rows + 1.0, 0.0))
    pos = np.searchsorted(flat, x, side="right")
    return (pos - rows * K).astype(np.int64)


def sample_exact(labels: np.ndarray, T: np.ndarray, rng: RngLike = None) -> np.ndarray:
    """Noisy labels with exactly ``round(rate_c * n_c)`` flips in every class ``c``.

    ``rate_c = 1 - T[c, c]``; the flipped samples are chosen uniformly without replacement and
    relabelled from ``T[c, j != c]`` renormalised.

    Args:
        labels: Clean ``int64`` labels in ``[0, K)``, shape ``(N,)``.
        T: Row-stochastic ``(K, K)`` transition matrix.
        rng: Generator or seed.

    Returns:
        Noisy ``int64`` labels, shape ``(N,)``.

    Example:
        >>> from noisylabels.noise import symmetric_T
        >>> y = np.repeat(np.arange(4), 100)
        >>> noisy = sample_exact(y, symmetric_T(4, 0.25), rng=0)
        >>> int((noisy != y).sum())
        100
    """
    rng = as_rng(rng)
    labels = np.asarray(labels, dtype=np.int64)
    K = T.shape[0]
    k = flip_counts(T, np.bincount(labels, minlength=K))
    chosen = choose_exact(labels, k, rng)
    noisy = labels.copy()
    noisy[chosen] = draw_from_rows(offdiagonal(T), labels[chosen], rng)
    return noisy


def sample_iid(labels: np.ndarray, T: np.ndarray, rng: RngLike = None) -> np.ndarray:
    """Noisy labels drawn independently, ``noisy_i ~ T[labels_i]``.

    Args:
        labels: Clean ``int64`` labels in ``[0, K)``, shape ``(N,)``.
        T: Row-stochastic ``(K, K)`` transition matrix.
        rng: Generator or seed.

    Returns:
        Noisy ``int64`` labels, shape ``(N,)``.
    """
    rng = as_rng(rng)
    labels = np.asarray(labels, dtype=np.int64)
    rates = 1.0 - np.diag(T)
    flip = np.flatnonzero(rng.random(labels.shape[0]) < rates[labels])
    noisy = labels.copy()
    noisy[flip] = draw_from_rows(offdiagonal(T), labels[flip], rng)
    return noisy


def sample_labels(
    labels: np.ndarray, T: np.ndarray, sampling: str = "exact", rng: RngLike = None
) -> np.ndarray:
    """Dispatch to :func:`sample_exact` or :func:`sample_iid`."""
    if sampling == "exact":
        return sample_exact(labels, T, rng)
    if sampling == "iid":
        return sample_iid(labels, T, rng)
    raise UsageError(f"unknown noise sampling {sampling!r}; choose exact or iid")


def confusion_T(clean: np.ndarray, noisy: np.ndarray, K: int) -> np.ndarray:
    """Row-normalised confusion of clean vs noisy labels (the realised T).

    Rows of classes with no samples are identity rows.
    """
    counts = np.bincount(clean * K + noisy, minlength=K * K).reshape(K, K).astype(np.float64)
    n = counts.sum(axis=1, keepdims=True)
    T = np.divide(counts, n, out=np.zeros_like(counts), where=n > 0)
    empty = n[:, 0] == 0
    T[empty, np.flatnonzero(empty)] = 1.0
    return T
