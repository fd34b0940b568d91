r"""Instance-dependent label noise of Xia et al. 2020 (PDN, NeurIPS).

For sample ``i`` with features ``x_i`` (the stored values, flattened) and true class ``y_i``:

.. math::

    q_i &\sim \mathcal{N}(\tau, 0.1^2) \text{ truncated to } [0, 1] \\
    s_i &= x_i^\top W_{y_i}, \quad W_c \in \mathbb{R}^{D \times K}, \quad W_{c,dk} \sim N(0, 1) \\
    p_i(j) &= q_i\, \mathrm{softmax}_{j \ne y_i}(s_i)_j, \qquad p_i(y_i) = 1 - q_i

and ``noisy_i ~ p_i``. Which samples flip depends on ``q_i`` (exact: the per-class count
``round(sum_i q_i)``, drawn by weighted sampling without replacement; iid: Bernoulli(``q_i``)),
and where a flipped label goes depends on the sample's own features. The nominal T of the record
is the mean of the rows ``p_i`` over each class.

**Features as in the reference.** The official code (xiaoboxia/Part-dependent-label-noise,
``tools.get_instance_noisy_label``) multiplies the raw pixel values (``uint8`` images cast to
float, 0-255, flattened in channel-height-width order) by ``W``; so do we, with the dataset's
stored values (images: 0-255, ``(C, H, W)`` flattened; feature tables: as given). Pixel values
are all positive, so every image of a class shares a large component along
:math:`\bar x\, \mathbf{1}^\top W_c`: most flips of a class go to one or two classes. On
CIFAR-10 at 0.4 the share of a class's flips that go to its most common target is 0.64-0.73
(mean over classes, seeds 0-2; ``benchmarks/instance_noise_structure.py``); standardising each
sample's features first removes that component and spreads the flips (0.22-0.27).

Xia, Liu, Han, Wang, Gong, Liu, Tao, Sugiyama: "Part-dependent Label Noise: Towards
Instance-dependent Label Noise", NeurIPS 2020.
"""

from __future__ import annotations

import numpy as np

from noisylabels.errors import UsageError
from noisylabels.noise.matrices import check_informative
from noisylabels.noise.sampling import RngLike, as_rng, choose_exact

FLIP_RATE_STD = 0.1


def truncated_normal(
    mean: float,
    std: float,
    size: int,
    rng: np.random.Generator,
    low: float = 0.0,
    high: float = 1.0,
) -> np.ndarray:
    """Draws of ``N(mean, std^2)`` conditioned on ``[low, high]`` (vectorised rejection)."""
    out = rng.normal(mean, std, size)
    bad = np.flatnonzero((out < low) | (out > high))
    while bad.size:  # acceptance >= ~0.5 for mean in [low, high]: a handful of rounds
        out[bad] = rng.normal(mean, std, bad.size)
        bad = bad[(out[bad] < low) | (out[bad] > high)]
    return out


def as_features(features: object, n: int) -> np.ndarray:
    """Features as a 2-D array ``(N, D)`` (any trailing shape is flattened), or UsageError."""
    if features is None:
        raise UsageError(
            "instance noise needs the samples' features (features=(N, D) array, e.g. the "
            "flattened images); none were given"
        )
    if hasattr(features, "detach"):  # torch tensor
        features = features.detach().cpu().numpy()
    x = np.asarray(features)
    if x.ndim < 2 or x.shape[0] != n:
        raise UsageError(
            f"instance noise needs features of shape (N, D) with N={n} (one row per label), got "
            f"shape {tuple(x.shape)}"
        )
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
        raise UsageError(f"instance noise features must be numeric, got dtype {x.dtype}")
    return x.reshape(n, int(np.prod(x.shape[1:])))


def instance_noise(
    labels: np.ndarray,
    features: object,
    rate: float,
    num_classes: int,
    *,
    sampling: str = "exact",
    rng: RngLike = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Instance-dependent noisy labels (PDN style) and the nominal T (per-class mean rows).

    Args:
        labels: Clean ``int64`` labels in ``[0, K)``, shape ``(N,)``.
        features: ``(N, ...)`` numeric array or tensor, used as stored (flattened), as the
            reference uses raw pixel values.
        rate: Centre ``tau`` of the per-sample flip rates. ``0`` gives no noise. The truncation
            to [0, 1] lifts the mean flip rate above ``tau`` for small ``tau`` (about 0.08 at
            ``tau`` -> 0, 0.10 at 0.1, 0.2 at 0.2).
        num_classes: ``K``.
        sampling: ``exact`` or ``iid`` (see the module docstring).
        rng: Generator or seed.

    Returns:
        ``(noisy_labels, T_nominal)``.

    Raises:
        UsageError: Missing or mis-shaped features, or a rate so high that some class's mean row
            is not dominated by the true class.
    """
    rng = as_rng(rng)
    labels = np.asarray(labels, dtype=np.int64)
    n, K = labels.shape[0], int(num_classes)
    x_all = as_features(features, n)
    D = x_all.shape[1]
    W = rng.standard_normal((K, D, K))
    if rate == 0:
        q = np.zeros(n)
    else:
        q = truncated_normal(rate, FLIP_RATE_STD, n, rng)

    counts = np.bincount(labels, minlength=K)
    if sampling == "exact":
        sums = np.bincount(labels, weights=q, minlength=K)
        k = np.floor(sums + 0.5).astype(np.int64)
        flip = np.zeros(n, dtype=bool)
        flip[choose_exact(labels, k, rng, weights=q)] = True
    elif sampling == "iid":
        flip = rng.random(n) < q
    else:
        raise UsageError(f"unknown noise sampling {sampling!r}; choose exact or iid")

    noisy = labels.copy()
    T = np.eye(K)
    order = np.argsort(labels, kind="stable")
    ends = np.cumsum(counts)
    for c in np.flatnonzero(counts):  # one batched pass per class, not per sample
        idx = order[ends[c] - counts[c] : ends[c]]
        s = x_all[idx].astype(np.float64) @ W[c]  # the raw values, as the reference
        s[:, c] = -np.inf
        s -= s.max(axis=1, keepdims=True)
        p = np.exp(s)
        p /= p.sum(axis=1, keepdims=True)  # softmax over the other classes; p[:, c] == 0
        qc = q[idx]
        T[c] = (qc[:, None] * p).mean(axis=0)
        T[c, c] = 1.0 - qc.mean()
        f = flip[idx]
        if f.any():
            cdf = np.cumsum(p[f], axis=1)
            cdf /= cdf[:, -1:]
            u = rng.random(int(f.sum()))
            noisy[idx[f]] = (cdf <= u[:, None]).sum(axis=1)
    check_informative(T, "instance", rate)
    return noisy, T
