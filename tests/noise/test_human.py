import os
import pickle

import numpy as np
import pytest
import torch

from noisylabels.errors import DataError, UsageError
from noisylabels.noise import corrupt, read_cifar10n

N = 50_000
KEYS = ("aggre_label", "worse_label", "random_label1", "random_label2", "random_label3")
WRONG = {"aggre_label": 0.09, "worse_label": 0.4, "random_label1": 0.17,
         "random_label2": 0.18, "random_label3": 0.176}  # fmt: skip


def _fake_cifar10n(seed=0):
    rng = np.random.default_rng(seed)
    clean = rng.integers(0, 10, N).astype(np.uint8)
    out = {"clean_label": clean}
    for k, r in WRONG.items():
        noisy = clean.copy()
        idx = rng.choice(N, int(r * N), replace=False)
        noisy[idx] = (clean[idx] + rng.integers(1, 10, idx.size)) % 10
        out[k] = noisy.astype(np.uint8)
    return out


@pytest.fixture
def fake_npz(tmp_path):
    data = _fake_cifar10n()
    np.savez(tmp_path / "cifar10n_labels.npz", **data)
    return tmp_path, data


@pytest.mark.parametrize(
    "kind,key",
    [
        ("cifar10n-aggre", "aggre_label"),
        ("cifar10n-worst", "worse_label"),
        ("cifar10n-worse", "worse_label"),
        ("cifar10n-random1", "random_label1"),
        ("cifar10n-rand2", "random_label2"),
        ("cifar10n-random3", "random_label3"),
    ],
)
def test_npz_variants(fake_npz, kind, key):
    root, data = fake_npz
    clean = data["clean_label"].astype(np.int64)
    res = corrupt(clean, kind, num_classes=10, dataset="cifar10", root=root)
    np.testing.assert_array_equal(res.noisy_labels, data[key])
    assert res.realised_rate == pytest.approx(WRONG[key])
    np.testing.assert_array_equal(res.T_nominal, res.T_realised)


@pytest.mark.skipif(
    not hasattr(torch.serialization, "safe_globals"), reason="numpy arrays need torch >= 2.5"
)
def test_official_pt_read_safely(tmp_path):
    data = _fake_cifar10n(1)
    torch.save({k: v.astype(np.int64) for k, v in data.items()}, tmp_path / "CIFAR-10_human.pt")
    clean = data["clean_label"].astype(np.int64)
    res = corrupt(clean, "cifar10n-worst", num_classes=10, root=tmp_path)
    np.testing.assert_array_equal(res.noisy_labels, data["worse_label"])
    # tensors instead of arrays work too
    torch.save({k: torch.from_numpy(v.astype(np.int64)) for k, v in data.items()},
               tmp_path / "t.pt")  # fmt: skip
    np.testing.assert_array_equal(read_cifar10n(tmp_path / "t.pt")["aggre_label"],
                                  data["aggre_label"])  # fmt: skip


def test_pt_of_arrays_on_a_torch_without_safe_globals_names_the_version(tmp_path, monkeypatch):
    data = _fake_cifar10n(1)
    torch.save({k: v.astype(np.int64) for k, v in data.items()}, tmp_path / "a.pt")
    monkeypatch.delattr(torch.serialization, "safe_globals", raising=False)
    with pytest.raises(DataError, match=r"numpy arrays in it need torch >= 2\.5"):
        read_cifar10n(tmp_path / "a.pt")


class _Evil:
    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pt_is_rejected_without_running_code(tmp_path):
    marker = tmp_path / "pwned"
    evil = _Evil()
    evil.marker = marker
    path = tmp_path / "CIFAR-10_human.pt"
    with open(path, "wb") as f:
        pickle.dump({"clean_label": evil}, f, protocol=2)
    with pytest.raises(DataError, match="refused because loading it could run code") as e:
        read_cifar10n(path)
    assert "weights_only" not in str(e.value)
    assert not marker.exists()


def test_wrong_clean_labels(fake_npz):
    root, data = fake_npz
    clean = data["clean_label"].astype(np.int64)
    with pytest.raises(UsageError, match="wrong dataset or image order"):
        corrupt(np.roll(clean, 1), "cifar10n-aggre", num_classes=10, root=root)
    with pytest.raises(UsageError, match="50000"):
        corrupt(clean[:100], "cifar10n-aggre", num_classes=10, root=root)
    with pytest.raises(UsageError, match="cifar10"):
        corrupt(clean % 10, "cifar10n-aggre", num_classes=10, dataset="mnist", root=root)


def test_not_found_says_where_and_how(tmp_path, monkeypatch):
    monkeypatch.delenv("NOISYLABELS_DATA", raising=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError) as e:
        corrupt(np.zeros(N, dtype=np.int64), "cifar10n-worst", num_classes=10, root=empty)
    msg = str(e.value)
    assert str(empty) in msg and "cifar10n_labels.npz" in msg and "CIFAR-10_human.pt" in msg
    assert "\n" not in msg


def test_bad_file_contents(tmp_path):
    np.savez(tmp_path / "cifar10n_labels.npz", clean_label=np.zeros(N, np.uint8))
    with pytest.raises(DataError, match="missing"):
        corrupt(np.zeros(N, dtype=np.int64), "cifar10n-worst", num_classes=10, root=tmp_path)


def test_real_cifar10n_rates(real_data_dir):
    with np.load(real_data_dir / "cifar10.npz") as z:
        clean = z["y_train"].astype(np.int64)
    rates = {}
    for v in ("aggre", "worst", "random1", "random2", "random3"):
        res = corrupt(clean, f"cifar10n-{v}", num_classes=10, dataset="cifar10",
                      root=real_data_dir)  # fmt: skip
        rates[v] = round(res.realised_rate * 100, 2)
    assert rates == {"aggre": 9.01, "worst": 40.21, "random1": 17.23, "random2": 18.12,
                     "random3": 17.64}  # fmt: skip
