"""Out-of-sample predicted probabilities by stratified K-fold cross-validation.

Each fold's network is trained by the project's trainer, with any of its methods, on the other
folds (with their given, possibly wrong, labels) and predicts the held-out fold. The result is
``pred_probs`` in cleanlab's layout: ``(N, K)``, rows in dataset order, rows sum to 1.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from noisylabels.errors import UsageError
from noisylabels.train.config import TrainConfig


def stratified_folds(
    labels: np.ndarray,
    num_folds: int,
    seed: int,
    class_names: Sequence[str] | None = None,
) -> np.ndarray:
    """Fold number of every sample: disjoint folds with each class spread evenly over them.

    Each class's samples are shuffled with ``numpy.random.default_rng(seed)`` and dealt to the
    folds in turn, starting where the previous class stopped, so fold sizes differ by at most one
    and every class has ``floor`` or ``ceil`` of ``n_c / num_folds`` samples in every fold.

    Raises:
        UsageError: ``num_folds < 2``, or a class with fewer samples than folds.
    """
    y = np.asarray(labels, dtype=np.int64)
    if num_folds < 2:
        raise UsageError(f"folds must be at least 2, got {num_folds}")
    counts = np.bincount(y, minlength=int(y.max()) + 1 if y.size else 0)
    for c, n in enumerate(counts):
        if 0 < n < num_folds:
            name = class_names[c] if class_names is not None and c < len(class_names) else str(c)
            raise UsageError(
                f"class {name!r} has {n} sample(s), fewer than the {num_folds} folds; "
                f"lower --folds to {max(2, int(n))} or add samples of that class"
            )
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), dtype=np.int64)
    start = 0
    for c in range(len(counts)):
        members = np.flatnonzero(y == c)
        if members.size == 0:
            continue
        members = members[rng.permutation(members.size)]
        fold[members] = (start + np.arange(members.size)) % num_folds
        start = (start + members.size) % num_folds
    return fold


def cross_val_pred_probs(
    config: TrainConfig,
    data: Any,
    labels: np.ndarray,
    *,
    num_folds: int = 5,
    fold_seed: int | None = None,
    progress: bool = False,
    on_fold: Callable[[int, dict[str, Any]], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Predicted probabilities of every training sample from a network that never saw it.

    Args:
        config: Training configuration of each fold's network (method, model, epochs, ...); its
            noise and ``train_subset`` are not applied again: ``labels`` are the labels of
            ``data``'s training set, all of which are cross-validated.
        data: A dataset object (as :func:`noisylabels.data.load_dataset` returns).
        labels: Given labels of ``data``'s training set, ``(N,)``.
        num_folds: K.
        fold_seed: Seed of the fold assignment (default: ``config.seed``).
        progress: Progress bars over folds and epochs (stderr).
        on_fold: Called with ``(fold, record)`` after each fold's training.

    Returns:
        ``(pred_probs, folds)``: ``(N, K)`` float64 and each sample's fold number.
    """
    from noisylabels.detect.training import input_normalizer, predict_proba, train_network

    y = np.asarray(labels, dtype=np.int64)
    folds = stratified_folds(
        y, num_folds, config.seed if fold_seed is None else fold_seed, data.classes
    )
    probs = np.zeros((len(y), data.num_classes))
    fold_config = config.replace(noise="clean", noise_seed=None, train_subset=None)
    y_t = torch.as_tensor(y)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=num_folds, desc="folds", unit="fold")
    for k in range(num_folds):
        held = torch.as_tensor(np.flatnonzero(folds == k))
        rest = torch.as_tensor(np.flatnonzero(folds != k))
        fold_data = dataclasses.replace(
            data,
            x_train=data.x_train[rest],
            y_train=y_t[rest],
            x_test=data.x_train[held],
            y_test=y_t[held],
        )
        record, net = train_network(fold_config, fold_data, progress=progress)
        norm = input_normalizer(fold_config, fold_data, next(net.parameters()).device)
        probs[held.numpy()] = predict_proba(net, fold_data.x_test, norm, config.eval_batch_size)
        if on_fold is not None:
            on_fold(k, record)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return probs, folds
