"""Transition matrices: the primary object of label noise.

``T`` is row-stochastic, ``T[true, noisy] = P(noisy label = noisy | true class = true)``, the
orientation of APL, Co-teaching and noisypy. cleanlab uses the transpose (its ``noise_matrix`` is
column-stochastic); :meth:`noisylabels.noise.NoisyLabels.to_cleanlab` converts.

Every constructor is pure (no randomness), returns a ``float64`` array of shape ``(K, K)`` and
rejects rates at which the noisy label no longer points to the true class (the true class must
stay strictly the most likely noisy label of every row), because nothing can be learned there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from noisylabels.errors import UsageError


@dataclass(frozen=True)
class ClassMap:
    """Where each class of a dataset flips under "asymmetric" (class-conditional) noise.

    The noise package holds no dataset facts: a dataset's map comes with the dataset (the
    built-in datasets' maps are ``DatasetBundle.asymmetric_map``, from
    :func:`noisylabels.data.asymmetric_map`) and is passed to :func:`asymmetric_T` / ``corrupt``.

    Attributes:
        name: Dataset the map belongs to (for messages).
        num_classes: ``K`` of that dataset.
        targets: Source class -> the classes it flips to, uniformly; classes not listed keep
            their label.
    """

    name: str
    num_classes: int
    targets: Mapping[int, tuple[int, ...]]


def _check_K(K: int) -> int:
    if isinstance(K, bool) or not isinstance(K, (int, np.integer)) or K < 2:
        raise UsageError(f"number of classes must be an integer >= 2, got {K!r}")
    return int(K)


def check_rate(rate: float, what: str = "noise") -> float:
    """Validate a noise rate: a finite number in [0, 1].

    Raises:
        UsageError: If ``rate`` is not a number in [0, 1].
    """
    try:
        r = float(rate)
    except (TypeError, ValueError):
        raise UsageError(f"{what} rate must be a number in [0, 1], got {rate!r}") from None
    if not (0.0 <= r <= 1.0):  # also catches NaN
        raise UsageError(
            f"{what} rate {rate!r} is outside the valid range [0, 1]: give the share of labels "
            "to corrupt, e.g. symmetric:0.4"
        )
    return r


def symmetric_T(K: int, rate: float) -> np.ndarray:
    r"""Symmetric ("exclusive") noise: flip to a uniformly chosen *other* class.

    .. math:: T_{ii} = 1 - r, \qquad T_{ij} = r / (K - 1) \quad (i \ne j)

    The realised noise rate is ``r`` (APL, SCE, Co-teaching, CIW ``random_flip``).

    Args:
        K: Number of classes.
        rate: Flip probability ``r``; must be below ``(K-1)/K``.

    Raises:
        UsageError: If ``rate`` is outside [0, 1] or ``>= (K-1)/K`` (the noisy label would carry no
            information about the true class).

    Example:
        >>> symmetric_T(3, 0.3).round(2).tolist()
        [[0.7, 0.15, 0.15], [0.15, 0.7, 0.15], [0.15, 0.15, 0.7]]
    """
    K = _check_K(K)
    r = check_rate(rate, "symmetric")
    limit = (K - 1) / K
    if r >= limit - 1e-12:
        raise UsageError(
            f"symmetric rate {r:g} is too high for K={K} classes: at rate (K-1)/K = "
            f"{limit:.4g} the noisy label is independent of the true one (every noisy label is "
            "equally likely whatever the true class) and above it the true class is the least "
            f"likely label, so nothing can be learned; use a rate below {limit:.4g}, or kind "
            "'uniform' (replace by a uniform draw that may keep the true class), which keeps "
            "signal up to rate < 1"
        )
    T = np.full((K, K), r / (K - 1), dtype=np.float64)
    np.fill_diagonal(T, 1.0 - r)
    return T


def uniform_T(K: int, rate: float) -> np.ndarray:
    r"""Uniform noise: with probability ``r`` replace the label by a uniform draw over all classes.

    .. math:: T_{ii} = 1 - r + r / K, \qquad T_{ij} = r / K \quad (i \ne j)

    The draw may return the true class, so the realised noise rate is ``r (K-1) / K``: the
    DivideMix/ELR/CIW ``random`` convention ("symmetric 80%" on CIFAR-10 there is 72% wrong).

    Raises:
        UsageError: If ``rate`` is outside [0, 1) (at 1 the noisy label is independent of the true).

    Example:
        >>> uniform_T(2, 0.5).tolist()
        [[0.75, 0.25], [0.25, 0.75]]
    """
    K = _check_K(K)
    r = check_rate(rate, "uniform")
    if r >= 1.0:
        raise UsageError(
            "uniform rate 1 replaces every label by a uniform draw: the noisy label is then "
            "independent of the true one (every label equally likely whatever the true class), so "
            "nothing can be learned; use a rate below 1"
        )
    T = np.full((K, K), r / K, dtype=np.float64)
    np.fill_diagonal(T, 1.0 - r + r / K)
    return T


def pairflip_T(K: int, rate: float) -> np.ndarray:
    r"""Pair-flip noise (Co-teaching): class ``i`` flips to ``i+1 mod K`` with probability ``r``.

    .. math:: T_{ii} = 1 - r, \qquad T_{i, (i+1) \bmod K} = r

    Raises:
        UsageError: If ``rate`` is outside [0, 0.5) (at 0.5 the next class is as likely as
            the true one).

    Example:
        >>> pairflip_T(3, 0.2).tolist()
        [[0.8, 0.2, 0.0], [0.0, 0.8, 0.2], [0.2, 0.0, 0.8]]
    """
    K = _check_K(K)
    r = check_rate(rate, "pairflip")
    if r >= 0.5:
        raise UsageError(
            f"pairflip rate {r:g} is too high: at rate >= 0.5 every class is labelled as the next "
            "class at least as often as itself, so the true class cannot be told from its "
            "neighbour; use a rate below 0.5"
        )
    T = np.zeros((K, K), dtype=np.float64)
    idx = np.arange(K)
    T[idx, idx] = 1.0 - r
    T[idx, (idx + 1) % K] += r  # += so that K=1 would still sum to one (K>=2 is enforced)
    return T


def normalize_dataset_name(name: str) -> str:
    """``"CIFAR-10"`` -> ``"cifar10"``; used to compare dataset names."""
    return name.lower().replace("-", "").replace("_", "")


def asymmetric_T(class_map: ClassMap, rate: float, K: int | None = None) -> np.ndarray:
    r"""Class-conditional ("asymmetric") noise from a dataset's class map.

    Each source class ``i`` of the map keeps its label with probability ``1 - r`` and flips to
    each of its ``m_i`` targets with probability ``r / m_i``; other classes stay clean. The
    built-in maps (:func:`noisylabels.data.asymmetric_map`) are those of the literature:

    - ``cifar10``: truck->automobile (9->1), bird->airplane (2->0), deer->horse (4->7),
      cat<->dog (3<->5). Each source class flips with probability ``r`` (APL/ELR convention: ``r``
      per source class, not of all samples as in DivideMix); cat and dog swap simultaneously.
    - ``mnist``: 7->1, 2->7, 5<->6, 3->8, ``r`` per source class.
    - ``cifar100``: each class flips with probability ``r`` to one of the 4 other fine classes of
      its real superclass, uniformly (CIW ``random_flip_asym``; not APL's consecutive-index blocks,
      which ignore the alphabetical order of the fine labels).

    Args:
        class_map: The dataset's :class:`ClassMap`.
        rate: Flip probability of every source class.
        K: Number of classes; checked against the map's (default: the map's).

    Raises:
        UsageError: If there is no class map, ``K`` does not match, or the rate is outside
            [0, 1].

    Rates of 0.5 and above are allowed (the student report's grid runs 0.6 and 0.9): the noisy
    labels still carry information, since only the mapped classes change, but a mapped source
    class is then labelled as its target more often than as itself (cifar100: from 0.8 on), so
    plain argmax training predicts the target for it. Unlike ``symmetric`` at ``(K-1)/K``, this
    is a hard corruption, not an uninformative one.

    Example:
        >>> cmap = ClassMap("cifar10", 10, {9: (1,), 2: (0,), 4: (7,), 3: (5,), 5: (3,)})
        >>> T = asymmetric_T(cmap, 0.4)
        >>> float(T[9, 1]), float(T[9, 9]), float(T[1, 1])
        (0.4, 0.6, 1.0)
    """
    if not isinstance(class_map, ClassMap):
        raise UsageError(
            f"asymmetric noise needs the dataset's class map, got {class_map!r}; built-in "
            "datasets with one: cifar10, cifar100, mnist (use symmetric, uniform, pairflip or "
            "instance)"
        )
    K_data = class_map.num_classes
    if K is not None and _check_K(K) != K_data:
        raise UsageError(
            f"asymmetric noise for {class_map.name} needs K={K_data} classes, got K={K}; "
            "is the dataset right?"
        )
    r = check_rate(rate, "asymmetric")
    T = np.eye(K_data, dtype=np.float64)
    for src, dsts in class_map.targets.items():
        T[src, src] = 1.0 - r
        for dst in dsts:
            T[src, dst] = r / len(dsts)
    return T


def check_transition_matrix(T: np.ndarray, K: int | None = None) -> np.ndarray:
    """Validate a row-stochastic matrix (finite, non-negative, rows summing to 1).

    Returns:
        ``T`` as a ``float64`` array.

    Raises:
        UsageError: If ``T`` is not a valid ``(K, K)`` transition matrix.
    """
    T = np.asarray(T, dtype=np.float64)
    if T.ndim != 2 or T.shape[0] != T.shape[1] or (K is not None and T.shape[0] != K):
        raise UsageError(f"transition matrix must have shape (K, K) with K={K}, got {T.shape}")
    if not np.all(np.isfinite(T)) or np.any(T < 0):
        raise UsageError("transition matrix must be finite and non-negative")
    if not np.allclose(T.sum(axis=1), 1.0, atol=1e-8):
        raise UsageError("transition matrix rows must sum to 1 (T[true, noisy] is row-stochastic)")
    return T


def check_informative(T: np.ndarray, kind: str, rate: float | None = None) -> None:
    """Reject ``T`` unless the true class is strictly the most likely noisy label of every row.

    Raises:
        UsageError: Naming the first offending class.
    """
    T = np.asarray(T, dtype=np.float64)
    off = T.copy()
    np.fill_diagonal(off, -np.inf)
    j = off.argmax(axis=1)
    diag = np.diag(T)
    bad = np.flatnonzero(off[np.arange(len(T)), j] >= diag - 1e-12)
    if bad.size:
        c = int(bad[0])
        at = f" at rate {rate:g}" if rate is not None and math.isfinite(rate) else ""
        raise UsageError(
            f"{kind} noise{at} labels class {c} as class {int(j[c])} at least as often as "
            f"itself (T[{c},{c}]={diag[c]:.3f}, T[{c},{int(j[c])}]={T[c, j[c]]:.3f}), so the "
            "noisy labels no longer point to the true class; use a lower rate"
        )
