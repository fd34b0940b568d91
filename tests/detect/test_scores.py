"""Scores and confident learning against plain-loop reference computations of the formulas."""

import numpy as np
import pytest

from noisylabels.detect import (
    calibrate_joint,
    confident_joint,
    estimate_noise,
    find_label_issues,
    normalized_margin,
    per_class_thresholds,
    prune_by_noise_rate,
    self_confidence,
)
from noisylabels.errors import UsageError


def _random_problem(seed, n=60, k=4):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, k)) * 2.0
    y_true = rng.integers(0, k, size=n)
    logits[np.arange(n), y_true] += 2.5
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = y_true.copy()
    flip = rng.random(n) < 0.3
    y[flip] = (y[flip] + rng.integers(1, k, size=flip.sum())) % k
    y[:k] = np.arange(k)  # every class present
    return p, y


def _ref_thresholds(p, y):
    k = p.shape[1]
    return [sum(p[i, j] for i in range(len(y)) if y[i] == j) / sum(y == j) for j in range(k)]


def _ref_confident_joint(p, y):
    k = p.shape[1]
    t = _ref_thresholds(p, y)
    c = [[0] * k for _ in range(k)]
    for i in range(len(y)):
        passing = [j for j in range(k) if p[i, j] >= t[j] - 1e-9]
        if not passing:
            continue
        best = max(passing, key=lambda j: p[i, j])
        c[y[i]][best] += 1
    return np.array(c)


def _ref_calibrated(c, y):
    k = len(c)
    n = len(y)
    q = np.zeros((k, k))
    for i in range(k):
        row = sum(c[i])
        for j in range(k):
            q[i, j] = c[i][j] / row * sum(y == i) / n
    return q


def _ref_prune(p, y, q):
    n, k = p.shape
    flagged = set()
    for i in range(k):
        members = [s for s in range(n) if y[s] == i]
        for j in range(k):
            if i == j:
                continue
            m = int(round(n * q[i, j]))
            ranked = sorted(members, key=lambda s: (-(p[s, j] - p[s, i]), s))
            flagged.update(ranked[:m])
    return np.array([s in flagged for s in range(n)])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_self_confidence_and_margin_match_reference(seed):
    p, y = _random_problem(seed)
    sc = [p[i, y[i]] for i in range(len(y))]
    nm = [
        (p[i, y[i]] - max(p[i, j] for j in range(p.shape[1]) if j != y[i]) + 1) / 2
        for i in range(len(y))
    ]
    np.testing.assert_allclose(self_confidence(p, y), sc)
    np.testing.assert_allclose(normalized_margin(p, y), nm)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_confident_learning_matches_reference(seed):
    p, y = _random_problem(seed)
    np.testing.assert_allclose(per_class_thresholds(p, y), _ref_thresholds(p, y))
    c = confident_joint(p, y)
    np.testing.assert_array_equal(c, _ref_confident_joint(p, y))
    q = calibrate_joint(c, y)
    np.testing.assert_allclose(q, _ref_calibrated(c, y))
    np.testing.assert_allclose(q.sum(1), np.bincount(y) / len(y))
    np.testing.assert_array_equal(prune_by_noise_rate(p, y), _ref_prune(p, y, q))


def test_noise_estimate_matches_reference():
    p, y = _random_problem(3, n=200, k=3)
    est = estimate_noise(p, y)
    q = _ref_calibrated(_ref_confident_joint(p, y), y)
    assert est.noise_rate == pytest.approx(1 - np.trace(q))
    assert est.num_issues == round(200 * (1 - np.trace(q)))
    # T[true, noisy] = P(given=noisy | true) = Q[noisy, true] / sum_noisy Q[noisy, true]
    for t in range(3):
        for g in range(3):
            assert est.transition[t, g] == pytest.approx(q[g, t] / q[:, t].sum())
    np.testing.assert_allclose(est.prior, q.sum(0))


def test_estimate_recovers_a_known_transition():
    # Perfectly calibrated probabilities: the estimate is the true noise process.
    rng = np.random.default_rng(0)
    k, n = 3, 3000
    y_true = rng.integers(0, k, n)
    T = np.array([[0.8, 0.2, 0.0], [0.0, 0.9, 0.1], [0.0, 0.0, 1.0]])
    y = np.array([rng.choice(k, p=T[t]) for t in y_true])
    p = np.full((n, k), 0.02)
    p[np.arange(n), y_true] = 0.96
    est = estimate_noise(p, y)
    np.testing.assert_allclose(est.transition, T, atol=0.03)
    assert est.noise_rate == pytest.approx((y != y_true).mean(), abs=1e-9)


def test_docstring_example_by_hand():
    p = np.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.3, 0.7], [0.9, 0.1]])
    y = np.array([0, 0, 1, 1, 1])
    # t0 = 0.85, t1 = (0.8 + 0.7 + 0.1) / 3; sample 1 passes no threshold; sample 4
    # (label 1) is confidently class 0.
    np.testing.assert_array_equal(confident_joint(p, y), [[1, 0], [1, 2]])
    det = find_label_issues(p, y)
    assert det.flagged["cl"].tolist() == [False, False, False, False, True]
    assert det.order()[0] == 4


@pytest.mark.parametrize(
    "p, y, msg",
    [
        (np.ones(3), np.zeros(3, int), "2-D"),
        (np.full((3, 2), 0.5), np.array([0, 1, 2]), "lie in 0..1"),
        (np.full((3, 2), 0.5), np.array([0.0, 1.0, 1.0]), "integers"),
        (np.full((3, 2), np.nan), np.array([0, 1, 1]), "finite"),
    ],
)
def test_bad_inputs_one_line_errors(p, y, msg):
    with pytest.raises(UsageError, match=msg):
        self_confidence(p, y)
