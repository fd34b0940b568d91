r"""Label-quality scores and confident learning from out-of-sample predicted probabilities.

Every function takes ``pred_probs`` of shape ``(N, K)`` (rows sum to 1, row ``i`` predicted by a
model that never trained on sample ``i``; the layout cleanlab uses) and the given labels
``(N,)``, and works in numpy float64. A *label-quality* score is higher for labels more likely to
be correct; ranking samples by it ascending lists the suspects first.

Confident learning follows Northcutt, Jiang and Chuang, "Confident Learning: Estimating
Uncertainty in Dataset Labels", JAIR 2021 (section 3), written from the paper's formulas:

* per-class threshold :math:`t_j = \frac{1}{|X_{\tilde y=j}|}\sum_{x \in X_{\tilde y=j}}
  \hat p(\tilde y=j; x)`;
* confident joint :math:`C[i][j] = |\{x \in X_{\tilde y=i} : \hat p(\tilde y=j; x) \ge t_j,\;
  j = \arg\max_{l:\, \hat p(\tilde y=l; x) \ge t_l} \hat p(\tilde y=l; x)\}|` (a sample with no
  class above its threshold is not counted);
* calibration :math:`\tilde C[i][j] = C[i][j] \, |X_{\tilde y=i}| / \sum_{j'} C[i][j']`, and the
  joint :math:`\hat Q = \tilde C / \sum \tilde C`, an estimate of :math:`P(\tilde y=i, y^*=j)`;
* prune by noise rate: for each off-diagonal cell, the :math:`\mathrm{round}(N \hat Q[i][j])`
  samples of given label :math:`i` with the largest margin :math:`\hat p_j - \hat p_i` are issues.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from noisylabels.errors import UsageError


def check_pred_probs(pred_probs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate and convert ``(pred_probs, labels)``; a one-line :class:`UsageError` if wrong."""
    p = np.asarray(pred_probs, dtype=np.float64)
    y = np.asarray(labels)
    if p.ndim != 2:
        raise UsageError(f"pred_probs must be a 2-D (N, K) array, got shape {p.shape}")
    if y.shape != (p.shape[0],):
        raise UsageError(f"labels must have shape ({p.shape[0]},) like pred_probs, got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise UsageError(f"labels must be integers, got dtype {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= p.shape[1]):
        raise UsageError(f"labels must lie in 0..{p.shape[1] - 1}, got {y.min()}..{y.max()}")
    if not np.all(np.isfinite(p)) or (p < 0).any():
        raise UsageError("pred_probs must be finite and non-negative")
    return p, y.astype(np.int64)


def self_confidence(pred_probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    r"""Self-confidence :math:`s_i = \hat p_i[\tilde y_i]`, the probability of the given label."""
    p, y = check_pred_probs(pred_probs, labels)
    return p[np.arange(len(y)), y]


def normalized_margin(pred_probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    r"""Normalized margin :math:`(\hat p_i[\tilde y_i] - \max_{k\ne\tilde y_i} \hat p_i[k] + 1)/2`.

    The margin of the given label over its strongest rival, mapped from ``[-1, 1]`` to ``[0, 1]``
    (the convention of cleanlab's ``normalized_margin``).
    """
    p, y = check_pred_probs(pred_probs, labels)
    rows = np.arange(len(y))
    own = p[rows, y]
    others = p.copy()
    others[rows, y] = -np.inf
    return (own - others.max(axis=1) + 1.0) / 2.0


#: Floating-point tolerance of the threshold comparison :math:`\hat p_j \ge t_j`.
THRESHOLD_TOL = 1e-9


def per_class_thresholds(pred_probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    r""":math:`t_j`, the mean of :math:`\hat p_i[j]` over samples given label ``j``, shape ``(K,)``.

    Raises:
        UsageError: If a class has no sample with that given label.
    """
    p, y = check_pred_probs(pred_probs, labels)
    k = p.shape[1]
    counts = np.bincount(y, minlength=k)
    if (counts == 0).any():
        missing = np.flatnonzero(counts == 0).tolist()
        raise UsageError(f"no sample is labelled with class(es) {missing}; cannot set thresholds")
    sums = np.zeros(k)
    np.add.at(sums, y, p[np.arange(len(y)), y])
    return sums / counts


def confident_true_labels(pred_probs: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    r"""Per sample, the class it confidently belongs to, or -1 when no class reaches its threshold.

    :math:`\arg\max_{l:\, \hat p_l \ge t_l} \hat p_l` over the classes at or above their threshold.
    """
    p = np.asarray(pred_probs, dtype=np.float64)
    # A sample whose probability equals the class mean must pass despite the rounding of that
    # mean (all samples of a class predicted alike), hence the tolerance.
    passing = p >= thresholds[None, :] - THRESHOLD_TOL
    masked = np.where(passing, p, -np.inf)
    guess = masked.argmax(axis=1)
    return np.where(passing.any(axis=1), guess, -1)


def confident_joint(pred_probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    r"""The confident joint :math:`C[\text{given}, \text{true}]`, integer counts ``(K, K)``."""
    p, y = check_pred_probs(pred_probs, labels)
    k = p.shape[1]
    guess = confident_true_labels(p, per_class_thresholds(p, y))
    keep = guess >= 0
    c = np.zeros((k, k), dtype=np.int64)
    np.add.at(c, (y[keep], guess[keep]), 1)
    return c


def calibrate_joint(c: np.ndarray, labels: np.ndarray) -> np.ndarray:
    r"""Calibrated joint :math:`\hat Q[\text{given}, \text{true}]` from the confident joint.

    Each row of ``c`` is rescaled to the count of its given label, then the whole is divided by
    ``N`` (so :math:`\hat Q` sums to 1 and its row sums are the given-label frequencies). A row with
    no confident sample keeps its mass on the diagonal (no evidence of noise in that class).
    """
    c = np.asarray(c, dtype=np.float64)
    k = c.shape[0]
    counts = np.bincount(np.asarray(labels), minlength=k).astype(np.float64)
    rows = c.sum(axis=1)
    safe = np.where(rows > 0, rows, 1.0)
    cal = c * (counts / safe)[:, None]
    empty = rows == 0
    cal[empty, :] = 0.0
    cal[empty, np.flatnonzero(empty)] = counts[empty]
    return cal / counts.sum()


@dataclass(frozen=True)
class NoiseEstimate:
    r"""What confident learning estimates about the noise.

    Attributes:
        joint: :math:`\hat Q[\text{given}, \text{true}]`, ``(K, K)``, sums to 1.
        noise_rate: :math:`1 - \operatorname{tr} \hat Q`, the estimated share of wrong labels.
        num_issues: :math:`\mathrm{round}(N (1 - \operatorname{tr} \hat Q))`.
        transition: Estimated :math:`T[\text{true}, \text{noisy}] = P(\tilde y \mid y^*)`,
            row-stochastic (the project's convention; cleanlab's ``noise_matrix`` is its
            transpose), i.e. :math:`\hat Q^\top` with each row normalised.
        prior: Estimated true-class prior :math:`P(y^*=j) = \sum_i \hat Q[i][j]`.
    """

    joint: np.ndarray
    noise_rate: float
    num_issues: int
    transition: np.ndarray
    prior: np.ndarray


def estimate_noise(pred_probs: np.ndarray, labels: np.ndarray) -> NoiseEstimate:
    """Noise rate, transition matrix and true-class prior from the calibrated confident joint."""
    p, y = check_pred_probs(pred_probs, labels)
    q = calibrate_joint(confident_joint(p, y), y)
    rate = float(max(0.0, 1.0 - np.trace(q)))
    prior = q.sum(axis=0)
    qt = q.T.copy()
    row = qt.sum(axis=1, keepdims=True)
    k = q.shape[0]
    t = np.where(row > 0, qt / np.where(row > 0, row, 1.0), np.eye(k))
    return NoiseEstimate(q, rate, int(round(len(y) * rate)), t, prior)


def prune_by_noise_rate(
    pred_probs: np.ndarray, labels: np.ndarray, joint: np.ndarray | None = None
) -> np.ndarray:
    r"""Boolean mask of label issues by confident learning's prune-by-noise-rate rule.

    For every off-diagonal cell ``(i, j)`` of the calibrated joint, the
    :math:`\mathrm{round}(N \hat Q[i][j])` samples with given label ``i`` and the largest margin
    :math:`\hat p_j - \hat p_i` are flagged (a sample may be picked by several cells).

    Args:
        pred_probs: ``(N, K)`` out-of-sample predicted probabilities.
        labels: ``(N,)`` given labels.
        joint: A precomputed :math:`\hat Q`; computed from the inputs when None.
    """
    p, y = check_pred_probs(pred_probs, labels)
    n, k = p.shape
    q = calibrate_joint(confident_joint(p, y), y) if joint is None else np.asarray(joint)
    counts = np.rint(n * q).astype(np.int64)
    mask = np.zeros(n, dtype=bool)
    for i in range(k):
        members = np.flatnonzero(y == i)
        for j in range(k):
            m = min(int(counts[i, j]), len(members))
            if i == j or m <= 0:
                continue
            margin = p[members, j] - p[members, i]
            # Stable order: ties go to the lower index, so the result is deterministic.
            top = np.argsort(-margin, kind="stable")[:m]
            mask[members[top]] = True
    return mask


def suggested_labels(pred_probs: np.ndarray) -> np.ndarray:
    """The most probable class of each sample (the label a relabelling would give it)."""
    return np.asarray(pred_probs).argmax(axis=1)
