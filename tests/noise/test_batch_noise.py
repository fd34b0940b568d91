"""Per-batch reseeded noise against a port of the student report's ``apply_label_noise``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from noisylabels.data import asymmetric_map
from noisylabels.errors import UsageError
from noisylabels.noise.batch import ReseededBatchNoise
from noisylabels.noise.matrices import ClassMap

NOTEBOOK_FLIPS = {9: 1, 2: 0, 4: 7, 3: 5, 5: 3}


def notebook_apply_label_noise(labels: np.ndarray, epsilon: float, noise_type: str) -> np.ndarray:
    """The notebook's function, with its reseeded global NumPy generator made a local one."""
    rs = np.random.RandomState(10)
    labels = labels.copy()
    num_labels = len(labels)
    num_flips = int(epsilon * num_labels)
    if noise_type == "symmetric":
        flip_indices = rs.choice(num_labels, num_flips, replace=False)
        labels[flip_indices] = rs.randint(0, 10, num_flips)
    elif noise_type == "asymmetric":
        for i in range(num_labels):
            if rs.random() < epsilon:
                labels[i] = NOTEBOOK_FLIPS.get(int(labels[i]), labels[i])
    return labels


def _labels(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 10, n)


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.3, 0.6, 0.9])
@pytest.mark.parametrize("n", [512, 64, 7])
def test_uniform_equals_the_notebook_symmetric(rate, n):
    noise = ReseededBatchNoise("uniform", rate, num_classes=10, seed=10)
    for seed in range(3):
        y = _labels(n, seed)
        got = noise(torch.as_tensor(y)).numpy()
        np.testing.assert_array_equal(got, notebook_apply_label_noise(y, rate, "symmetric"))


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.3, 0.6, 0.9])
@pytest.mark.parametrize("n", [512, 64])
def test_asymmetric_equals_the_notebook_asymmetric(rate, n):
    noise = ReseededBatchNoise(
        "asymmetric", rate, num_classes=10, seed=10, class_map=asymmetric_map("cifar10")
    )
    for seed in range(3):
        y = _labels(n, seed)
        got = noise(torch.as_tensor(y)).numpy()
        np.testing.assert_array_equal(got, notebook_apply_label_noise(y, rate, "asymmetric"))


def test_same_positions_in_every_batch_and_input_untouched():
    noise = ReseededBatchNoise("uniform", 0.3, num_classes=10, seed=10)
    a, b = torch.zeros(512, dtype=torch.long), torch.full((512,), 4)
    na, nb = noise(a), noise(b)
    assert int((a != 0).sum()) == 0 and int((b != 4).sum()) == 0
    mask, new = noise.draws(512)
    assert int(mask.sum()) == int(0.3 * 512)  # 153 positions redrawn
    torch.testing.assert_close(na[mask], new[mask])
    torch.testing.assert_close(nb[mask], new[mask])  # the same new labels, whatever the batch
    assert torch.equal(na[~mask], a[~mask]) and torch.equal(nb[~mask], b[~mask])


def test_realised_share_and_clean():
    y = torch.as_tensor(_labels(40_000, 0))
    share, changed = ReseededBatchNoise("uniform", 0.6, 10, seed=10).realised_rate(y, 512)
    assert changed == round(share * 40_000)
    assert 0.6 * 0.9 - 0.02 < share < 0.6 * 0.9 + 0.02
    clean = ReseededBatchNoise("clean", 0.0, 10, seed=10)
    assert torch.equal(clean(y), y) and clean.realised_rate(y, 512) == (0.0, 0)


def test_bad_inputs():
    with pytest.raises(UsageError, match="not 'symmetric'"):
        ReseededBatchNoise("symmetric", 0.2, 10, seed=0)
    with pytest.raises(UsageError, match="class map"):
        ReseededBatchNoise("asymmetric", 0.2, 10, seed=0)
    many = ClassMap("toy", 3, {0: (1, 2)})
    with pytest.raises(UsageError, match="one-to-one"):
        ReseededBatchNoise("asymmetric", 0.2, 3, seed=0, class_map=many)
    with pytest.raises(UsageError, match="rate"):
        ReseededBatchNoise("uniform", 1.5, 10, seed=0)
