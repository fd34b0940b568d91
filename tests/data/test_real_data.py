"""Real-data checks against ../shared/data (run when NOISYLABELS_DATA is set).

Reference values come from the data README and the datasets' published statistics, not from our
own loader. The first cifar10 load decodes the LZMA archive (~8 s); the session-wide cache makes
every later load fast.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from noisylabels.cli import main
from noisylabels.data import dataset_info, load_dataset

pytestmark = pytest.mark.realdata


def _load_timed(name, root):
    t = time.perf_counter()
    b = load_dataset(name, root, download=False)
    return b, time.perf_counter() - t


def test_cifar10(real_data_dir):
    b, first = _load_timed("cifar10", real_data_dir)
    assert b.source == str(real_data_dir / "cifar10.npz")
    assert b.x_train.shape == (50000, 3, 32, 32) and b.x_test.shape == (10000, 3, 32, 32)
    assert b.x_train.dtype == torch.uint8 and b.x_train.is_contiguous()
    assert b.y_train.dtype == torch.int64
    assert b.y_train[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    assert b.y_test[:10].tolist() == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]
    assert torch.bincount(b.y_train).tolist() == [5000] * 10
    assert torch.bincount(b.y_test).tolist() == [1000] * 10
    assert b.mean == pytest.approx((0.4914, 0.4822, 0.4465), abs=1e-4)
    assert b.std == pytest.approx((0.2470, 0.2435, 0.2616), abs=1e-4)
    assert b.classes == ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                         "horse", "ship", "truck")
    # Second load comes from the decoded cache: identical and much faster.
    again, second = _load_timed("cifar10", real_data_dir)
    assert torch.equal(again.x_train, b.x_train) and torch.equal(again.y_test, b.y_test)
    assert second < max(1.5, first / 3)
    # Channels-first conversion against the raw HWC test images of the npz.
    with np.load(real_data_dir / "cifar10.npz", allow_pickle=False) as z:
        x_test_hwc = z["x_test"]
    assert torch.equal(b.x_test, torch.from_numpy(x_test_hwc).permute(0, 3, 1, 2))


def test_mnist(real_data_dir):
    b = load_dataset("mnist", real_data_dir, download=False)
    assert b.source == str(real_data_dir / "mnist.npz")
    assert b.x_train.shape == (60000, 1, 28, 28) and b.x_test.shape == (10000, 1, 28, 28)
    assert b.x_train.dtype == torch.uint8
    assert b.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert torch.bincount(b.y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918,
                                                  6265, 5851, 5949]
    assert torch.bincount(b.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028,
                                                 974, 1009]
    assert b.mean == pytest.approx((0.1307,), abs=1e-4)
    assert b.std == pytest.approx((0.3081,), abs=1e-4)


def test_fashion_mnist(real_data_dir):
    info = dataset_info("fashion-mnist", real_data_dir)
    if not info.found:
        pytest.skip("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
    b = load_dataset("fashion-mnist", real_data_dir, download=False)
    assert b.x_train.shape == (60000, 1, 28, 28) and b.x_test.shape == (10000, 1, 28, 28)
    assert b.y_train[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert torch.bincount(b.y_train).tolist() == [6000] * 10
    assert torch.bincount(b.y_test).tolist() == [1000] * 10
    assert b.mean == pytest.approx((0.2860,), abs=1e-4)
    assert b.std == pytest.approx((0.3530,), abs=1e-4)
    assert b.classes[0] == "T-shirt/top"


def test_datasets_command_on_real_data(real_data_dir, capsys):
    assert main(["datasets", "--root", str(real_data_dir)]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("cifar10 "))
    assert row.split()[1:6] == ["yes", "50000", "10000", "3x32x32", "10"]
    assert str(real_data_dir / "cifar10.npz") in row
