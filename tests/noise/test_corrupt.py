import numpy as np
import pytest
import torch

from noisylabels.data.classes import CIFAR100_FINE_TO_COARSE, asymmetric_map
from noisylabels.errors import UsageError
from noisylabels.noise import (
    NoiseSpec,
    NoisyLabels,
    corrupt,
    symmetric_T,
)
from noisylabels.noise.instance import truncated_normal


def _labels(K, per_class, seed=0):
    return np.random.default_rng(seed).permutation(np.repeat(np.arange(K), per_class))


def test_record_fields():
    y = _labels(10, 100)
    res = corrupt(y, "symmetric:0.3", num_classes=10, seed=1)
    assert isinstance(res, NoisyLabels)
    assert res.noisy_labels.dtype == np.int64 and res.clean_labels.dtype == np.int64
    assert res.noise_mask.dtype == bool
    np.testing.assert_array_equal(res.noise_mask, res.noisy_labels != res.clean_labels)
    np.testing.assert_array_equal(res.clean_labels, y)
    np.testing.assert_allclose(res.T_nominal, symmetric_T(10, 0.3))
    np.testing.assert_allclose(res.T_realised.sum(axis=1), 1)
    assert res.realised_rate == 0.3 == res.num_noisy / len(res)
    assert res.spec == NoiseSpec("symmetric", 0.3, seed=1)
    assert res.num_classes == 10


def test_clean_is_identity():
    y = _labels(5, 20)
    res = corrupt(y, "clean", num_classes=5)
    np.testing.assert_array_equal(res.noisy_labels, y)
    np.testing.assert_array_equal(res.T_nominal, np.eye(5))
    np.testing.assert_array_equal(res.T_realised, np.eye(5))
    assert res.realised_rate == 0.0 and not res.noise_mask.any()


def test_torch_labels_accepted_and_not_modified():
    y = torch.from_numpy(_labels(10, 50))
    before = y.clone()
    res = corrupt(y, "pairflip:0.2", num_classes=10, seed=0)
    assert torch.equal(y, before)
    assert res.realised_rate == 0.2


@pytest.mark.parametrize("kind", ["symmetric:0.4", "uniform:0.6", "pairflip:0.3"])
@pytest.mark.parametrize("sampling", ["exact", "iid"])
def test_determinism(kind, sampling):
    y = _labels(10, 200)
    a = corrupt(y, kind, num_classes=10, seed=3, sampling=sampling)
    b = corrupt(y, kind, num_classes=10, seed=3, sampling=sampling)
    c = corrupt(y, kind, num_classes=10, seed=4, sampling=sampling)
    np.testing.assert_array_equal(a.noisy_labels, b.noisy_labels)
    assert (a.noisy_labels != c.noisy_labels).any()


def test_seed_and_sampling_override_spec():
    y = _labels(10, 100)
    spec = NoiseSpec("symmetric", 0.4, seed=1)
    res = corrupt(y, spec, num_classes=10, seed=2, sampling="iid")
    assert res.spec == NoiseSpec("symmetric", 0.4, sampling="iid", seed=2)
    np.testing.assert_array_equal(
        res.noisy_labels,
        corrupt(y, "symmetric:0.4", num_classes=10, seed=2, sampling="iid").noisy_labels,
    )


@pytest.mark.parametrize("sampling", ["exact", "iid"])
def test_asymmetric_cifar10_only_mapped_classes_flip(sampling):
    y = _labels(10, 1000)
    res = corrupt(
        y, "asymmetric:0.4", num_classes=10, class_map=asymmetric_map("cifar10"), sampling=sampling
    )
    flipped = res.noise_mask
    assert set(np.unique(y[flipped])) <= {9, 2, 4, 3, 5}
    pairs = set(zip(y[flipped].tolist(), res.noisy_labels[flipped].tolist(), strict=True))
    assert pairs <= {(9, 1), (2, 0), (4, 7), (3, 5), (5, 3)}
    if sampling == "exact":  # r per source class, cat<->dog swapped simultaneously
        np.testing.assert_array_equal(np.bincount(y[flipped], minlength=10)[[9, 2, 4, 3, 5]], 400)
        assert res.realised_rate == pytest.approx(0.2)


def test_asymmetric_mnist_only_mapped_classes_flip():
    y = _labels(10, 500)
    res = corrupt(y, "asymmetric:0.3", num_classes=10, class_map=asymmetric_map("mnist"), seed=5)
    flipped = res.noise_mask
    pairs = set(zip(y[flipped].tolist(), res.noisy_labels[flipped].tolist(), strict=True))
    assert pairs == {(7, 1), (2, 7), (5, 6), (6, 5), (3, 8)}
    np.testing.assert_array_equal(np.bincount(y[flipped], minlength=10)[[7, 2, 5, 6, 3]], 150)


@pytest.mark.parametrize("sampling", ["exact", "iid"])
def test_asymmetric_cifar100_stays_in_superclass(sampling):
    y = _labels(100, 100)
    res = corrupt(
        y,
        "asymmetric:0.4",
        num_classes=100,
        class_map=asymmetric_map("cifar100"),
        sampling=sampling,
    )
    coarse = np.asarray(CIFAR100_FINE_TO_COARSE)
    np.testing.assert_array_equal(coarse[res.noisy_labels], coarse[y])
    assert res.noise_mask.any()
    # it really moves between fine classes: every superclass member is reached from apple
    targets = set(res.noisy_labels[(y == 0) & res.noise_mask].tolist())
    assert targets == {51, 53, 57, 83}  # mushroom, orange, pear, sweet_pepper


def test_asymmetric_needs_dataset_with_map():
    y = _labels(10, 10)
    with pytest.raises(UsageError, match="cifar10, cifar100, mnist") as e:
        corrupt(y, "asymmetric:0.3", num_classes=10, dataset="digits")
    assert "'digits'" in str(e.value)
    with pytest.raises(UsageError, match="class map"):
        corrupt(y, "asymmetric:0.3", num_classes=10)
    # The map is never looked up by name: a dataset called cifar10 without one gets none.
    with pytest.raises(UsageError, match="class map"):
        corrupt(y, "asymmetric:0.3", num_classes=10, dataset="cifar10")


@pytest.mark.parametrize(
    "spec,match",
    [
        ("symmetric:1.5", r"\[0, 1\]"),
        ("symmetric:0.95", "independent"),
        ("uniform:1.0", "independent"),
        ("pairflip:0.5", "below 0.5"),
        ("what:0.1", "choose one of"),
    ],
)
def test_bad_specs(spec, match):
    with pytest.raises(UsageError, match=match):
        corrupt(_labels(10, 10), spec, num_classes=10)


@pytest.mark.parametrize(
    "labels,K,match",
    [
        (np.array([0, 1, 10]), 10, r"\[0, 10\)"),
        (np.array([-1, 0]), 10, r"\[0, 10\)"),
        (np.array([0.0, 1.0]), 10, "integers"),
        (np.zeros((2, 2), dtype=int), 10, "1-D"),
        (np.array([0, 1]), 1, ">= 2"),
    ],
)
def test_bad_labels(labels, K, match):
    with pytest.raises(UsageError, match=match):
        corrupt(labels, "symmetric:0.1", num_classes=K)


# ---- instance-dependent noise ------------------------------------------------------------


def _features(n, d, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d))


@pytest.mark.parametrize("sampling", ["exact", "iid"])
def test_instance_shape_and_rate(sampling):
    K, n = 10, 5000
    y = _labels(K, n // K)
    x = _features(n, 32)
    res = corrupt(y, "instance:0.4", num_classes=K, features=x, seed=0, sampling=sampling)
    assert res.noisy_labels.shape == (n,)
    assert abs(res.realised_rate - 0.4) < 0.03
    np.testing.assert_allclose(res.T_nominal.sum(axis=1), 1)
    assert abs(res.expected_rate - 0.4) < 0.01


def test_instance_accepts_images_and_tensors():
    y = _labels(10, 30)
    x = torch.randint(0, 256, (300, 1, 8, 8), dtype=torch.uint8, generator=torch.Generator())
    res = corrupt(y, "instance:0.3", num_classes=10, features=x, seed=0)
    assert res.noisy_labels.shape == (300,)


def test_instance_depends_on_features():
    K, n = 10, 2000
    y = _labels(K, n // K)
    a = corrupt(y, "instance:0.4", num_classes=K, features=_features(n, 16, 1), seed=0)
    b = corrupt(y, "instance:0.4", num_classes=K, features=_features(n, 16, 2), seed=0)
    # which samples flip depends on the per-sample rates only (same seed); where they go, on x
    np.testing.assert_array_equal(a.noise_mask, b.noise_mask)
    assert (a.noisy_labels != b.noisy_labels).mean() > 0.1
    # identical features within a class: every flipped sample draws from the same softmax row,
    # which is then also the class's nominal off-diagonal row
    x = np.repeat(_features(K, 16, 3), n // K, axis=0)
    yc = np.repeat(np.arange(K), n // K)
    c = corrupt(yc, "instance:0.4", num_classes=K, features=x, seed=0)
    for k in range(K):
        dest = c.noisy_labels[(yc == k) & c.noise_mask]
        p = c.T_nominal[k].copy()
        p[k] = 0
        p /= p.sum()
        freq = np.bincount(dest, minlength=K) / dest.size
        # binomial tolerance; the 2 / n term covers single draws of a rare target
        assert (np.abs(freq - p) <= 5 * np.sqrt(p * (1 - p) / dest.size) + 2 / dest.size).all()
    # and differs between classes with different features
    assert np.abs(c.T_nominal[0, 1:] / c.T_nominal[0, 1:].sum() - 1 / (K - 1)).max() > 0.05


def test_instance_T_nominal_matches_per_sample_reference():
    K, n, D, seed = 4, 60, 5, 9
    y = _labels(K, n // K)
    x = np.random.default_rng(1).integers(0, 256, size=(n, D)).astype(np.uint8)  # "pixels"
    res = corrupt(y, "instance:0.3", num_classes=K, features=x, seed=seed)
    # reference: the PDN recipe (tools.get_instance_noisy_label), one sample at a time, on the
    # raw pixel values cast to float, with the same random stream
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((K, D, K))
    q = truncated_normal(0.3, 0.1, n, rng)
    rows = np.zeros((n, K))
    for i in range(n):
        xi = x[i].astype(np.float64)
        s = xi @ W[y[i]]
        s[y[i]] = -np.inf
        p = np.exp(s - s.max())
        p = q[i] * p / p.sum()
        p[y[i]] = 1 - q[i]
        rows[i] = p
    ref = np.stack([rows[y == c].mean(axis=0) for c in range(K)])
    np.testing.assert_allclose(res.T_nominal, ref, atol=1e-12)
    # flipped samples only go where their own row puts mass
    m = res.noise_mask
    assert (rows[np.flatnonzero(m), res.noisy_labels[m]] > 0).all()


def _top_target_share(clean, noisy, k):
    shares = []
    for c in range(k):
        moved = noisy[(clean == c) & (noisy != c)]
        shares.append(np.bincount(moved, minlength=k).max() / moved.size)
    return np.array(shares)


def test_instance_noise_on_pixels_concentrates_each_class_on_few_targets():
    # positive pixel values share a large component along mean(x) * 1^T W_c, as real images do:
    # most flips of a class go to one target (the reference's structure), unlike symmetric noise
    K, n, D = 6, 3000, 48
    rng = np.random.default_rng(0)
    y = _labels(K, n // K)
    x = (rng.uniform(60, 200, size=(n, 1)) + rng.normal(0, 40, size=(n, D))).clip(0, 255)
    x = x.astype(np.uint8)
    raw = corrupt(y, "instance:0.4", num_classes=K, features=x, seed=0).noisy_labels
    assert _top_target_share(y, raw, K).mean() > 0.6
    # standardising each sample (not what the reference does) removes that shared component
    z = x.astype(np.float64)
    z = (z - z.mean(1, keepdims=True)) / z.std(1, keepdims=True)
    std = corrupt(y, "instance:0.4", num_classes=K, features=z, seed=0).noisy_labels
    assert _top_target_share(y, std, K).mean() < 0.45


def test_instance_exact_count_per_class():
    K, n = 5, 1000
    y = _labels(K, n // K)
    res = corrupt(y, "instance:0.3", num_classes=K, features=_features(n, 8), seed=4)
    rng = np.random.default_rng(4)
    rng.standard_normal((K, 8, K))
    q = truncated_normal(0.3, 0.1, n, rng)
    expected = np.floor(np.bincount(y, weights=q, minlength=K) + 0.5)
    np.testing.assert_array_equal(np.bincount(y[res.noise_mask], minlength=K), expected)


def test_instance_rate_zero_is_clean():
    y = _labels(5, 20)
    res = corrupt(y, "instance:0.0", num_classes=5, features=_features(100, 3))
    assert res.realised_rate == 0.0


def test_truncated_normal_in_range_and_mean():
    z = truncated_normal(0.4, 0.1, 100_000, np.random.default_rng(0))
    assert z.min() >= 0 and z.max() <= 1
    assert abs(z.mean() - 0.4) < 0.002
    z0 = truncated_normal(0.0, 0.1, 100_000, np.random.default_rng(0))
    assert abs(z0.mean() - 0.1 * np.sqrt(2 / np.pi)) < 0.002  # half-normal mean


def test_instance_errors():
    y = _labels(10, 10)
    with pytest.raises(UsageError, match="features"):
        corrupt(y, "instance:0.3", num_classes=10)
    with pytest.raises(UsageError, match="N=100"):
        corrupt(y, "instance:0.3", num_classes=10, features=np.zeros((50, 4)))
    with pytest.raises(UsageError, match="lower rate"):
        corrupt(np.repeat([0, 1], 50), "instance:0.6", num_classes=2, features=_features(100, 4))
