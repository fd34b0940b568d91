"""Stratified folds and cross-validated predicted probabilities."""

import numpy as np
import pytest
import torch

from noisylabels.detect import cross_val_pred_probs, stratified_folds
from noisylabels.errors import UsageError
from noisylabels.train import TrainConfig


@pytest.mark.parametrize("k", [2, 3, 5])
def test_folds_disjoint_cover_and_stratified(k):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 203)
    folds = stratified_folds(y, k, seed=1)
    assert folds.shape == y.shape and set(folds.tolist()) == set(range(k))
    # Every sample in exactly one fold; fold sizes differ by at most one.
    sizes = np.bincount(folds, minlength=k)
    assert sizes.sum() == len(y) and sizes.max() - sizes.min() <= 1
    for c in range(4):
        per = np.bincount(folds[y == c], minlength=k)
        assert per.max() - per.min() <= 1
    np.testing.assert_array_equal(folds, stratified_folds(y, k, seed=1))
    assert not np.array_equal(folds, stratified_folds(y, k, seed=2))


def test_class_smaller_than_folds_is_one_line_error():
    y = np.array([0] * 10 + [1] * 3)
    with pytest.raises(UsageError, match=r"class 'cat' has 3 sample\(s\), fewer than the 5 folds"):
        stratified_folds(y, 5, seed=0, class_names=["dog", "cat"])


def test_pred_probs_out_of_sample_and_in_dataset_order():
    from noisylabels.data import load_dataset

    data = load_dataset("digits")
    y = data.y_train.numpy()
    cfg = TrainConfig(dataset="digits", noise="clean", epochs=3, lr=0.2, device="cpu", method="sce")
    seen = []
    probs, folds = cross_val_pred_probs(
        cfg, data, y, num_folds=2, on_fold=lambda k, r: seen.append(r)
    )
    assert probs.shape == (len(y), 10)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-6)
    assert len(seen) == 2 and all(r["config"]["method"] == "sce" for r in seen)
    # Each fold's network trained on the other fold only.
    assert [r["data"]["num_train"] + r["data"]["num_val"] for r in seen] == [
        int((folds != k).sum()) for k in range(2)
    ]
    # Rows follow the dataset order: accuracy of the argmax on the true labels is high.
    assert (probs.argmax(1) == y).mean() > 0.4  # chance: 0.1
    assert torch.is_tensor(data.x_train)
