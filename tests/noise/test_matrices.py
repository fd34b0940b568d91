import numpy as np
import pytest

from noisylabels.data.classes import (
    CIFAR10_FLIPS,
    CIFAR100_FINE_TO_COARSE,
    CIFAR100_SUPERCLASSES,
    MNIST_FLIPS,
    asymmetric_map,
)
from noisylabels.data.classes import CIFAR100_CLASSES as CIFAR100_FINE_NAMES
from noisylabels.data.classes import CIFAR100_COARSE_CLASSES as CIFAR100_COARSE_NAMES
from noisylabels.errors import UsageError
from noisylabels.noise import (
    ClassMap,
    asymmetric_T,
    check_transition_matrix,
    pairflip_T,
    symmetric_T,
    uniform_T,
)


def _ref_symmetric(K, r):
    return np.array([[1 - r if i == j else r / (K - 1) for j in range(K)] for i in range(K)])


def _ref_uniform(K, r):
    # replace with probability r by a uniform draw over all K classes
    return np.array([[(1 - r) * (i == j) + r / K for j in range(K)] for i in range(K)])


def _ref_pairflip(K, r):
    T = np.zeros((K, K))
    for i in range(K):
        T[i, i] += 1 - r
        T[i, (i + 1) % K] += r
    return T


ALL_T = [
    ("symmetric", lambda: symmetric_T(10, 0.4)),
    ("symmetric-K2", lambda: symmetric_T(2, 0.3)),
    ("uniform", lambda: uniform_T(10, 0.8)),
    ("pairflip", lambda: pairflip_T(7, 0.45)),
    ("asym-cifar10", lambda: asymmetric_T(asymmetric_map("cifar10"), 0.4)),
    ("asym-mnist", lambda: asymmetric_T(asymmetric_map("mnist"), 0.3)),
    ("asym-cifar100", lambda: asymmetric_T(asymmetric_map("cifar100"), 0.5)),
]


@pytest.mark.parametrize("make", [m for _, m in ALL_T], ids=[n for n, _ in ALL_T])
def test_rows_sum_to_one_and_valid(make):
    T = make()
    assert T.dtype == np.float64
    np.testing.assert_allclose(T.sum(axis=1), 1.0, atol=1e-12)
    assert (T >= 0).all()
    check_transition_matrix(T)
    # the true class stays the most likely noisy label
    off = T - np.diag(np.diag(T))
    assert (np.diag(T) > off.max(axis=1)).all()


@pytest.mark.parametrize("K,r", [(2, 0.0), (3, 0.5), (10, 0.4), (100, 0.9)])
def test_symmetric_and_uniform_match_reference(K, r):
    np.testing.assert_allclose(symmetric_T(K, r), _ref_symmetric(K, r), atol=1e-15)
    np.testing.assert_allclose(uniform_T(K, r), _ref_uniform(K, r), atol=1e-15)
    # the uniform kind's realised rate is r (K-1)/K
    assert 1 - uniform_T(K, r)[0, 0] == pytest.approx(r * (K - 1) / K)


@pytest.mark.parametrize("K,r", [(2, 0.2), (5, 0.3), (10, 0.49)])
def test_pairflip_matches_reference(K, r):
    np.testing.assert_allclose(pairflip_T(K, r), _ref_pairflip(K, r), atol=1e-15)


def test_asymmetric_cifar10_map():
    T = asymmetric_T(asymmetric_map("CIFAR-10"), 0.3, 10)
    for src, dst in {9: 1, 2: 0, 4: 7, 3: 5, 5: 3}.items():
        assert T[src, src] == pytest.approx(0.7)
        assert T[src, dst] == pytest.approx(0.3)
    for c in (0, 1, 6, 7, 8):
        np.testing.assert_array_equal(T[c], np.eye(10)[c])
    assert dict(CIFAR10_FLIPS) == {9: 1, 2: 0, 4: 7, 3: 5, 5: 3}


def test_asymmetric_mnist_map():
    T = asymmetric_T(asymmetric_map("mnist"), 0.2)
    assert dict(MNIST_FLIPS) == {7: 1, 2: 7, 5: 6, 6: 5, 3: 8}
    for src, dst in MNIST_FLIPS.items():
        assert T[src, dst] == pytest.approx(0.2)
    for c in (0, 1, 4, 8, 9):
        np.testing.assert_array_equal(T[c], np.eye(10)[c])


def test_cifar100_taxonomy():
    assert len(CIFAR100_FINE_NAMES) == 100 == len(CIFAR100_FINE_TO_COARSE)
    assert list(CIFAR100_FINE_NAMES) == sorted(CIFAR100_FINE_NAMES)  # labels are alphabetical
    assert len(CIFAR100_COARSE_NAMES) == 20
    counts = np.bincount(CIFAR100_FINE_TO_COARSE, minlength=20)
    np.testing.assert_array_equal(counts, 5)
    # the explicit table agrees with the official superclass list, by name
    for coarse, (name, members) in enumerate(CIFAR100_SUPERCLASSES.items()):
        assert CIFAR100_COARSE_NAMES[coarse] == name
        for m in members:
            assert CIFAR100_FINE_TO_COARSE[CIFAR100_FINE_NAMES.index(m)] == coarse
    known = {
        "apple": "fruit_and_vegetables",
        "aquarium_fish": "fish",
        "baby": "people",
        "bear": "large_carnivores",
        "worm": "non-insect_invertebrates",
        "tractor": "vehicles_2",
    }
    for fine, coarse in known.items():
        i = CIFAR100_FINE_NAMES.index(fine)
        assert CIFAR100_COARSE_NAMES[CIFAR100_FINE_TO_COARSE[i]] == coarse
    assert CIFAR100_FINE_NAMES[:4] == ("apple", "aquarium_fish", "baby", "bear")


def test_cifar100_table_agrees_with_data_package():
    classes = pytest.importorskip("noisylabels.data.classes")
    assert tuple(classes.CIFAR100_FINE_TO_COARSE) == CIFAR100_FINE_TO_COARSE
    assert tuple(classes.CIFAR100_CLASSES) == CIFAR100_FINE_NAMES


def test_asymmetric_cifar100_within_superclass():
    T = asymmetric_T(asymmetric_map("cifar100"), 0.4)
    coarse = np.asarray(CIFAR100_FINE_TO_COARSE)
    for i in range(100):
        support = np.flatnonzero(T[i])
        assert set(coarse[support]) == {coarse[i]}
        assert len(support) == 5
        others = [j for j in support if j != i]
        np.testing.assert_allclose(T[i, others], 0.1)
    # not APL's consecutive blocks: apple (0) and aquarium_fish (1) are in different superclasses
    assert T[0, 1] == 0


@pytest.mark.parametrize("rate", [-0.1, 1.5, float("nan"), "abc"])
@pytest.mark.parametrize("make", [symmetric_T, uniform_T, pairflip_T])
def test_rate_outside_range(make, rate):
    with pytest.raises(UsageError, match=r"\[0, 1\]"):
        make(10, rate)


def test_symmetric_uninformative_rate_rejected_with_explanation():
    with pytest.raises(UsageError) as e:
        symmetric_T(10, 0.9)
    msg = str(e.value)
    assert "independent" in msg and "uniform" in msg and "0.9" in msg and "\n" not in msg
    with pytest.raises(UsageError, match="0.5"):
        symmetric_T(2, 0.5)
    symmetric_T(10, 0.89)  # just below is fine


def test_uniform_rate_one_and_pairflip_half_rejected():
    with pytest.raises(UsageError, match="independent"):
        uniform_T(10, 1.0)
    uniform_T(10, 0.99)
    with pytest.raises(UsageError, match="below 0.5"):
        pairflip_T(10, 0.5)


def test_asymmetric_errors():
    with pytest.raises(UsageError, match="cifar10, cifar100, mnist") as e:
        asymmetric_T("digits", 0.3)
    assert "digits" in str(e.value)
    assert asymmetric_map("digits") is None
    with pytest.raises(UsageError, match="K=10"):
        asymmetric_T(asymmetric_map("cifar10"), 0.3, K=100)
    with pytest.raises(UsageError, match=r"\[0, 1\]"):
        asymmetric_T(asymmetric_map("cifar10"), 1.5)


@pytest.mark.parametrize("rate", [0.5, 0.6, 0.9, 1.0])
def test_asymmetric_high_rates_allowed_and_only_mapped_classes_change(rate):
    # The student report's grid runs asymmetric 0.6 and 0.9: hard, but still informative.
    T = asymmetric_T(asymmetric_map("cifar10"), rate)
    assert np.allclose(T.sum(1), 1)
    assert T[9, 1] == pytest.approx(rate) and T[3, 5] == pytest.approx(rate)
    unmapped = [0, 1, 6, 7, 8]
    assert np.array_equal(T[unmapped][:, unmapped], np.eye(10)[unmapped][:, unmapped])
    T100 = asymmetric_T(asymmetric_map("cifar100"), rate)
    assert np.allclose(T100.sum(1), 1) and np.allclose(np.diag(T100), 1 - rate)


@pytest.mark.parametrize("K", [1, 0, 2.5, True])
def test_bad_K(K):
    with pytest.raises(UsageError, match="classes"):
        symmetric_T(K, 0.1)


def test_asymmetric_T_of_a_custom_map_is_uniform_over_targets():
    cmap = ClassMap("toy", 4, {0: (1, 2), 3: (0,)})
    T = asymmetric_T(cmap, 0.3)
    ref = np.eye(4)
    ref[0] = [0.7, 0.15, 0.15, 0.0]
    ref[3] = [0.3, 0.0, 0.0, 0.7]
    np.testing.assert_allclose(T, ref, atol=1e-15)
