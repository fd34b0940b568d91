"""Datasets: one call returns train/test tensors, labels, class names and where they came from.

>>> from noisylabels.data import load_dataset
>>> ds = load_dataset("digits")
>>> ds.x_train.dtype, ds.input_shape, ds.num_classes
(torch.uint8, (1, 8, 8), 10)

See :func:`load_dataset` for the search order, downloads and the decoded-array cache.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from noisylabels._lazy import lazy_imports

if TYPE_CHECKING:  # imported on first use, so `noisylabels --help` needs no torch
    from noisylabels.data.arrays import from_arrays, register_dataset, unregister_dataset
    from noisylabels.data.base import DatasetBundle
    from noisylabels.data.classes import (
        CIFAR10_CLASSES,
        CIFAR100_CLASSES,
        CIFAR100_COARSE_CLASSES,
        CIFAR100_FINE_TO_COARSE,
        FASHION_MNIST_CLASSES,
        asymmetric_map,
        cifar100_coarse_labels,
    )
    from noisylabels.data.datasets import (
        DATASETS,
        DatasetInfo,
        dataset_info,
        list_datasets,
        load_dataset,
    )
    from noisylabels.data.paths import cifar10n_file
    from noisylabels.data.userfiles import load_path

__getattr__, __dir__ = lazy_imports(__name__, __file__)

__all__ = [
    "CIFAR10_CLASSES",
    "CIFAR100_CLASSES",
    "CIFAR100_COARSE_CLASSES",
    "CIFAR100_FINE_TO_COARSE",
    "DATASETS",
    "FASHION_MNIST_CLASSES",
    "DatasetBundle",
    "DatasetInfo",
    "asymmetric_map",
    "cifar10n_file",
    "cifar100_coarse_labels",
    "dataset_info",
    "from_arrays",
    "list_datasets",
    "load_dataset",
    "load_path",
    "register_dataset",
    "unregister_dataset",
]
