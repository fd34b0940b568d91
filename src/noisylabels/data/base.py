"""The in-memory dataset record every loader returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from noisylabels.noise.matrices import ClassMap


@dataclass(frozen=True)
class DatasetBundle:
    """Train and test split of one dataset, held as tensors in memory.

    Images are ``uint8`` tensors of shape ``(N, C, H, W)`` (normalised on the fly by the trainer
    with :attr:`mean` and :attr:`std`, given on the [0, 1] scale); images that ``uint8`` cannot
    hold exactly (see :func:`~noisylabels.data.from_arrays`) are ``float32`` on the same [0, 255]
    scale. Non-image datasets (``moons``, tables) hold ``float32`` features of shape ``(N, D)``
    with ``mean``/``std`` per feature.

    Attributes:
        name: Registry name of the dataset ("cifar10", "digits", ...).
        x_train: Training inputs.
        y_train: Clean training labels, ``int64`` of shape ``(N,)``.
        x_test: Test inputs.
        y_test: Test labels, ``int64``.
        classes: Class names, index = label.
        source: Where the data came from (a file path, or how it was generated).
        mean: Per-channel (or per-feature) mean used for normalisation.
        std: Per-channel (or per-feature) standard deviation used for normalisation.
        default_model: The model ``model="auto"`` trains on this dataset, or None for the
            rule by input shape (:func:`noisylabels.models.auto_model`).
        default_augment: The augmentation ``augment="auto"`` uses, or None for the rule by
            input shape (crop+flip on 32x32 images, none otherwise).
        asymmetric_map: Class map of ``asymmetric`` noise; only the built-in ``cifar10``,
            ``cifar100`` and ``mnist`` have one (a dataset of your own files has None, whatever
            its name).
        sample_names: For a dataset read from your own files, the name of every row of
            ``x_train`` and of ``x_test``, in order: an image's path relative to the folder,
            ``row N`` of a table (1 = its first data row), ``x_train[i]``/``x_test[i]`` of an
            ``.npz``; None for the built-in datasets. ``noisylabels predict`` writes them.
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: tuple[str, ...]
    source: str
    mean: tuple[float, ...]
    std: tuple[float, ...]
    default_model: str | None = None
    default_augment: str | None = None
    asymmetric_map: ClassMap | None = None
    sample_names: tuple[tuple[str, ...], tuple[str, ...]] | None = None

    @property
    def num_classes(self) -> int:
        """Number of classes K."""
        return len(self.classes)

    @property
    def is_image(self) -> bool:
        """True for image tensors ``(N, C, H, W)``, False for feature vectors ``(N, D)``."""
        return self.x_train.dim() == 4

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input: ``(C, H, W)`` for images, ``(D,)`` for features."""
        return tuple(self.x_train.shape[1:])
