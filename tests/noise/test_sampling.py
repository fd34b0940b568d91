import numpy as np
import pytest

from noisylabels.data.classes import asymmetric_map
from noisylabels.noise import (
    asymmetric_T,
    confusion_T,
    pairflip_T,
    sample_exact,
    sample_iid,
    symmetric_T,
    uniform_T,
)
from noisylabels.noise.sampling import (
    _k_smallest_per_class,
    choose_exact,
    draw_from_rows,
    flip_counts,
)


def _labels(K, per_class, seed=0):
    y = np.repeat(np.arange(K), per_class)
    return np.random.default_rng(seed).permutation(y)


def _dense_T(K, seed):
    T = np.random.default_rng(seed).dirichlet(np.ones(K), size=K)
    return 0.5 * T + 0.5 * np.eye(K)


MATRICES = [
    ("symmetric", symmetric_T(10, 0.4)),
    ("uniform", uniform_T(10, 0.6)),
    ("pairflip", pairflip_T(10, 0.3)),
    ("asym-cifar10", asymmetric_T(asymmetric_map("cifar10"), 0.4)),
    ("dense", _dense_T(10, 1)),
]


@pytest.mark.parametrize("T", [m for _, m in MATRICES], ids=[n for n, _ in MATRICES])
def test_exact_flip_counts_per_class(T):
    K = T.shape[0]
    y = np.concatenate([np.full(n, c) for c, n in enumerate(range(101, 101 + 37 * K, 37))])
    y = np.random.default_rng(3).permutation(y)
    noisy = sample_exact(y, T, rng=7)
    counts = np.bincount(y, minlength=K)
    flips = np.bincount(y[noisy != y], minlength=K)
    expected = np.floor((1 - np.diag(T)) * counts + 0.5)
    np.testing.assert_array_equal(flips, expected)
    # a flipped label only goes where T allows it
    assert (T[y[noisy != y], noisy[noisy != y]] > 0).all()


def test_exact_symmetric_realised_equals_nominal():
    y = _labels(10, 500)
    noisy = sample_exact(y, symmetric_T(10, 0.4), rng=0)
    assert (noisy != y).mean() == 0.4


def test_exact_uniform_effective_count():
    K, r, n_c = 10, 0.5, 1000
    y = _labels(K, n_c)
    noisy = sample_exact(y, uniform_T(K, r), rng=0)
    flips = np.bincount(y[noisy != y], minlength=K)
    np.testing.assert_array_equal(flips, round(r * (K - 1) / K * n_c))
    assert (noisy != y).mean() == pytest.approx(r * (K - 1) / K)


@pytest.mark.parametrize("T", [m for _, m in MATRICES], ids=[n for n, _ in MATRICES])
def test_iid_rate_within_binomial_tolerance(T):
    K = T.shape[0]
    y = _labels(K, 5000)
    noisy = sample_iid(y, T, rng=11)
    p = float((1 - np.diag(T)).mean())
    n = y.shape[0]
    assert abs((noisy != y).mean() - p) < 5 * np.sqrt(p * (1 - p) / n)
    # every entry of the realised T within 5 binomial sd of T
    R = confusion_T(y, noisy, K)
    sd = np.sqrt(T * (1 - T) / 5000)
    assert (np.abs(R - T) <= 5 * sd + 1e-12).all()


@pytest.mark.parametrize("T", [m for _, m in MATRICES], ids=[n for n, _ in MATRICES])
def test_exact_destinations_follow_offdiagonal_rows(T):
    K = T.shape[0]
    y = _labels(K, 6000)
    noisy = sample_exact(y, T, rng=5)
    R = confusion_T(y, noisy, K)
    off = T.copy()
    np.fill_diagonal(off, 0.0)
    rates = off.sum(axis=1)
    for c in range(K):
        if rates[c] == 0:
            continue
        m = int(np.floor(rates[c] * 6000 + 0.5))
        expected = off[c] / rates[c]
        got = R[c] * 6000 / m
        got[c] = 0
        sd = np.sqrt(expected * (1 - expected) / m)
        assert (np.abs(got - expected) <= 5 * sd + 1e-12).all(), c


def test_draw_from_rows_matches_probabilities_both_paths():
    rng = np.random.default_rng(0)
    K = 7
    P = rng.dirichlet(np.ones(K) * 0.7, size=K)  # generic path (searchsorted)
    P[:, 2] = 0.0  # a zero-probability class is never drawn
    P /= P.sum(axis=1, keepdims=True)
    U = np.zeros((K, K))  # uniform-support fast path
    for c in range(K):
        U[c, [(c + 1) % K, (c + 3) % K, (c + 4) % K]] = 1 / 3
    n = 60_000
    rows = np.repeat(np.arange(K), n // K)
    for M in (P, U):
        out = draw_from_rows(M, rows, rng)
        freq = np.zeros((K, K))
        np.add.at(freq, (rows, out), 1)
        freq /= n // K
        sd = np.sqrt(M * (1 - M) / (n // K))
        assert (np.abs(freq - M) <= 5 * sd + 1e-12).all()
        assert (M[rows, out] > 0).all()


def test_draw_from_rows_u_near_one_stays_in_row():
    class AlmostOne:
        def random(self, n):
            return np.full(n, np.nextafter(1.0, 0.0))

    K = 200
    P = np.zeros((K, K))
    P[:, 0] = 0.5
    P[:, 1] = 0.5
    P[0] = 0
    P[0, 1] = 0.7
    P[0, 2] = 0.3
    P = P / P.sum(axis=1, keepdims=True)
    rows = np.arange(K)
    out = draw_from_rows(P, rows, AlmostOne())
    assert (P[rows, out] > 0).all()


def test_choose_exact_edge_counts_and_uniformity():
    y = np.repeat(np.arange(3), 10)
    k = np.array([0, 10, 3])
    hits = np.zeros(30)
    for seed in range(1500):
        idx = choose_exact(y, k, np.random.default_rng(seed))
        np.testing.assert_array_equal(np.bincount(y[idx], minlength=3), k)
        hits[idx] += 1
    np.testing.assert_array_equal(hits[:10], 0)
    np.testing.assert_array_equal(hits[10:20], 1500)
    freq = hits[20:] / 1500
    assert np.abs(freq - 0.3).max() < 5 * np.sqrt(0.3 * 0.7 / 1500)


def test_k_smallest_fallback_is_exact():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 4, 2000)
    keys = rng.random(2000)
    k = np.array([0, 50, 300, np.sum(y == 3)])
    # deliberately wrong windows: every class must fall back and still be exact
    sel = _k_smallest_per_class(y, keys, k, approx=np.full(4, 0.9), width=np.full(4, 1e-6))
    for c in range(4):
        idx = np.flatnonzero(y == c)
        ref = set(idx[np.argsort(keys[idx], kind="stable")[: k[c]]])
        assert set(np.flatnonzero(sel & (y == c))) == ref


def test_flip_counts_round_half_up():
    T = symmetric_T(2, 0.25)
    np.testing.assert_array_equal(flip_counts(T, np.array([2, 6])), [1, 2])  # 0.5 -> 1, 1.5 -> 2


def test_determinism_and_seed_sensitivity():
    y = _labels(10, 300)
    T = symmetric_T(10, 0.3)
    for fn in (sample_exact, sample_iid):
        a, b, c = fn(y, T, rng=1), fn(y, T, rng=1), fn(y, T, rng=2)
        np.testing.assert_array_equal(a, b)
        assert (a != c).any()


def test_empty_class_and_confusion_identity_rows():
    y = np.array([0, 0, 2, 2, 2])
    noisy = np.array([0, 2, 2, 0, 2])
    R = confusion_T(y, noisy, 4)
    np.testing.assert_allclose(R[0], [0.5, 0, 0.5, 0])
    np.testing.assert_array_equal(R[1], [0, 1, 0, 0])
    np.testing.assert_array_equal(R[3], [0, 0, 0, 1])
    np.testing.assert_allclose(R.sum(axis=1), 1)
