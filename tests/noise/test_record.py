import json
import time
import zipfile

import numpy as np
import pytest

from noisylabels.data.classes import asymmetric_map
from noisylabels.errors import DataError, UsageError
from noisylabels.noise import NoisyLabels, apply_noise_file, asymmetric_T, corrupt


def _labels(K, per_class, seed=0):
    return np.random.default_rng(seed).permutation(np.repeat(np.arange(K), per_class))


def _assert_same(a: NoisyLabels, b: NoisyLabels):
    for f in ("noisy_labels", "clean_labels", "noise_mask", "T_nominal", "T_realised"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
        assert getattr(a, f).dtype == getattr(b, f).dtype
    assert a.realised_rate == b.realised_rate
    assert a.num_classes == b.num_classes
    assert a.spec == b.spec


@pytest.mark.parametrize(
    "spec,K", [("symmetric:0.4", 10), ("asymmetric:0.3", 10), ("uniform:0.5", 300)]
)
def test_save_load_round_trip(tmp_path, spec, K):
    y = _labels(K, 20)
    res = corrupt(
        y, spec, num_classes=K, class_map=asymmetric_map("cifar10"), seed=3, sampling="iid"
    )
    path = res.save(tmp_path / "n.npz")
    assert path == tmp_path / "n.npz"
    back = NoisyLabels.load(path, expected_n=len(y), num_classes=K)
    _assert_same(res, back)
    # no pickle needed, spec is readable JSON
    with np.load(path, allow_pickle=False) as z:
        assert json.loads(str(z["spec"])) == res.spec.to_dict()
        assert z["noisy_labels"].dtype == (np.uint8 if K <= 256 else np.uint16)


def test_same_spec_and_seed_give_byte_identical_file(tmp_path, monkeypatch):
    y = _labels(10, 100)
    a = corrupt(y, "symmetric:0.4", num_classes=10, seed=5).save(tmp_path / "a.npz")
    # a different wall-clock time must not leak into the zip (numpy writes 1980-01-01 stamps)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 86400 * 400)
    b = corrupt(y, "symmetric:0.4", num_classes=10, seed=5).save(tmp_path / "b.npz")
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    c = corrupt(y, "symmetric:0.4", num_classes=10, seed=6).save(tmp_path / "c.npz")
    assert a.read_bytes() != c.read_bytes()
    # load + save reproduces the bytes too
    d = NoisyLabels.load(a).save(tmp_path / "d.npz")
    assert d.read_bytes() == a.read_bytes()


def test_save_keeps_exact_name(tmp_path):
    res = corrupt(_labels(3, 5), "clean", num_classes=3)
    p = res.save(tmp_path / "labels")
    assert p.exists() and p.name == "labels"
    assert not (tmp_path / "labels.npz").exists()


def test_load_mismatch_errors_name_both_numbers(tmp_path):
    res = corrupt(_labels(10, 10), "symmetric:0.2", num_classes=10)
    path = res.save(tmp_path / "n.npz")
    with pytest.raises(UsageError, match=r"100 labels.*1438"):
        NoisyLabels.load(path, expected_n=1438)
    with pytest.raises(UsageError, match=r"10 classes.*100 classes"):
        NoisyLabels.load(path, num_classes=100)
    with pytest.raises(UsageError, match=r"10 classes.*5 classes"):
        NoisyLabels.load(path, num_classes=5)


def test_load_bad_files(tmp_path):
    with pytest.raises(DataError, match="not found"):
        NoisyLabels.load(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip at all")
    with pytest.raises(DataError, match="is a text file; expected a .npz archive"):
        NoisyLabels.load(junk)
    other = tmp_path / "other.npz"
    np.savez(other, x=np.arange(3))
    with pytest.raises(DataError, match="not a noisylabels noise file"):
        NoisyLabels.load(other)
    # truncated file
    good = corrupt(_labels(10, 10), "symmetric:0.2", num_classes=10).save(tmp_path / "g.npz")
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[:300])
    with pytest.raises(DataError):
        NoisyLabels.load(cut)


def test_apply_noise_file_and_file_spec(tmp_path):
    y = _labels(10, 30)
    res = corrupt(y, "pairflip:0.3", num_classes=10, seed=2)
    path = res.save(tmp_path / "labels.npz")
    _assert_same(apply_noise_file(path, y, 10), res)
    _assert_same(corrupt(y, f"file:{path}", num_classes=10), res)
    with pytest.raises(UsageError, match=r"300 labels.*299"):
        corrupt(y[:-1], f"file:{path}", num_classes=10)
    with pytest.raises(UsageError, match="other clean labels"):
        apply_noise_file(path, np.roll(y, 1), 10)
    with pytest.raises(UsageError, match="classes"):
        apply_noise_file(path, y, 12)


def test_to_cleanlab_orientation():
    y = _labels(10, 50)
    res = corrupt(y, "asymmetric:0.4", num_classes=10, class_map=asymmetric_map("cifar10"))
    nm = res.to_cleanlab()
    np.testing.assert_allclose(nm.sum(axis=0), 1.0)  # columns sum to 1 (cleanlab)
    T = asymmetric_T(asymmetric_map("cifar10"), 0.4)
    # noise_matrix[noisy, true] = P(noisy | true): truck (9) -> automobile (1)
    assert nm[1, 9] == pytest.approx(0.4) and nm[9, 1] == 0
    np.testing.assert_array_equal(nm, T.T)
    np.testing.assert_array_equal(res.to_cleanlab(realised=True), res.T_realised.T)


def test_summary_is_json():
    res = corrupt(_labels(10, 10), "symmetric:0.2", num_classes=10, seed=1)
    s = json.loads(json.dumps(res.summary()))
    assert s["spec"] == "symmetric:0.2" and s["num_noisy"] == 20 and s["seed"] == 1
