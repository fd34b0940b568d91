"""Class names of the built-in datasets and the CIFAR-100 superclass table.

Names follow the official releases (CIFAR ``batches.meta``/``meta`` files, the Fashion-MNIST
README). CIFAR-100 fine labels are numbered alphabetically, so consecutive indices are *not* the
20 superclasses; :data:`CIFAR100_FINE_TO_COARSE` gives the real superclass of every fine label
(the ``coarse_labels`` of the official python batches).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

    from noisylabels.noise.matrices import ClassMap

DIGIT_CLASSES: tuple[str, ...] = tuple(str(i) for i in range(10))

CIFAR10_CLASSES: tuple[str, ...] = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

# The 20 superclasses with their 5 members each, as listed on the CIFAR page and in ``meta``.
_CIFAR100_SUPERCLASSES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("aquatic_mammals", ("beaver", "dolphin", "otter", "seal", "whale")),
    ("fish", ("aquarium_fish", "flatfish", "ray", "shark", "trout")),
    ("flowers", ("orchid", "poppy", "rose", "sunflower", "tulip")),
    ("food_containers", ("bottle", "bowl", "can", "cup", "plate")),
    ("fruit_and_vegetables", ("apple", "mushroom", "orange", "pear", "sweet_pepper")),
    ("household_electrical_devices", ("clock", "keyboard", "lamp", "telephone", "television")),
    ("household_furniture", ("bed", "chair", "couch", "table", "wardrobe")),
    ("insects", ("bee", "beetle", "butterfly", "caterpillar", "cockroach")),
    ("large_carnivores", ("bear", "leopard", "lion", "tiger", "wolf")),
    ("large_man-made_outdoor_things", ("bridge", "castle", "house", "road", "skyscraper")),
    ("large_natural_outdoor_scenes", ("cloud", "forest", "mountain", "plain", "sea")),
    ("large_omnivores_and_herbivores", ("camel", "cattle", "chimpanzee", "elephant", "kangaroo")),
    ("medium_mammals", ("fox", "porcupine", "possum", "raccoon", "skunk")),
    ("non-insect_invertebrates", ("crab", "lobster", "snail", "spider", "worm")),
    ("people", ("baby", "boy", "girl", "man", "woman")),
    ("reptiles", ("crocodile", "dinosaur", "lizard", "snake", "turtle")),
    ("small_mammals", ("hamster", "mouse", "rabbit", "shrew", "squirrel")),
    ("trees", ("maple_tree", "oak_tree", "palm_tree", "pine_tree", "willow_tree")),
    ("vehicles_1", ("bicycle", "bus", "motorcycle", "pickup_truck", "train")),
    ("vehicles_2", ("lawn_mower", "rocket", "streetcar", "tank", "tractor")),
)

#: The 20 CIFAR-100 superclass names, index = coarse label.
CIFAR100_COARSE_CLASSES: tuple[str, ...] = tuple(name for name, _ in _CIFAR100_SUPERCLASSES)

#: The 100 CIFAR-100 fine class names (alphabetical, as in the official ``meta``), index = label.
CIFAR100_CLASSES: tuple[str, ...] = tuple(
    sorted(member for _, members in _CIFAR100_SUPERCLASSES for member in members)
)

_COARSE_OF_NAME = {
    member: coarse
    for coarse, (_, members) in enumerate(_CIFAR100_SUPERCLASSES)
    for member in members
}

#: ``CIFAR100_FINE_TO_COARSE[fine] == coarse``: the superclass of each fine CIFAR-100 label.
CIFAR100_FINE_TO_COARSE: tuple[int, ...] = tuple(_COARSE_OF_NAME[n] for n in CIFAR100_CLASSES)


#: CIFAR-100 superclass name -> its 5 fine class names.
CIFAR100_SUPERCLASSES: dict[str, tuple[str, ...]] = dict(_CIFAR100_SUPERCLASSES)

# Class maps of the "asymmetric" (class-conditional) noise of the literature.
#: CIFAR-10 (APL/ELR/DivideMix): truck->automobile, bird->airplane, deer->horse, cat<->dog.
CIFAR10_FLIPS: Mapping[int, int] = {9: 1, 2: 0, 4: 7, 3: 5, 5: 3}
#: MNIST (APL, from the GCE/forward-correction papers): 7->1, 2->7, 5<->6, 3->8.
MNIST_FLIPS: Mapping[int, int] = {7: 1, 2: 7, 5: 6, 6: 5, 3: 8}


def _asymmetric_maps() -> dict[str, ClassMap]:
    from noisylabels.noise.matrices import ClassMap

    same_superclass = {
        fine: tuple(
            other
            for other, c in enumerate(CIFAR100_FINE_TO_COARSE)
            if c == CIFAR100_FINE_TO_COARSE[fine] and other != fine
        )
        for fine in range(len(CIFAR100_CLASSES))
    }
    return {
        "cifar10": ClassMap("cifar10", 10, {s: (d,) for s, d in CIFAR10_FLIPS.items()}),
        "mnist": ClassMap("mnist", 10, {s: (d,) for s, d in MNIST_FLIPS.items()}),
        "cifar100": ClassMap("cifar100", 100, same_superclass),
    }


#: Built-in datasets that have an asymmetric class map, with their number of classes.
ASYMMETRIC_DATASETS: Mapping[str, int] = {"cifar10": 10, "cifar100": 100, "mnist": 10}


def asymmetric_map(dataset: str) -> ClassMap | None:
    """The asymmetric-noise class map of a built-in dataset, or None for any other name.

    Built-in maps: ``cifar10``, ``cifar100``, ``mnist`` (case and dashes ignored).

    Only the built-in dataset specs carry a map: a dataset of your own files gets None even
    when its folder is called ``cifar10`` (its classes need not be CIFAR-10's).
    """
    key = str(dataset).lower().replace("-", "").replace("_", "")
    return _asymmetric_maps().get(key) if key in ASYMMETRIC_DATASETS else None


def cifar100_coarse_labels(
    fine_labels: torch.Tensor | np.ndarray | Sequence[int],
) -> torch.Tensor:
    """Map CIFAR-100 fine labels (0..99) to their superclass labels (0..19).

    The frozen :class:`~noisylabels.data.base.DatasetBundle` holds the fine labels only; this
    gives the coarse labels of any label vector (clean or noisy) without reading files, e.g. for
    "flip within the superclass" noise.

    Args:
        fine_labels: Integer fine labels, any shape.

    Returns:
        ``int64`` tensor of the same shape with values in ``0..19`` (on the input's device when
        given a tensor).

    Raises:
        UsageError: If a label is outside ``0..99``.

    Example:
        >>> cifar100_coarse_labels([0, 4, 99]).tolist()  # apple, beaver, worm
        [4, 0, 13]
    """
    import torch  # here, not at the top: class names are read by `--help` without torch

    from noisylabels.errors import UsageError

    labels = torch.as_tensor(fine_labels)
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise UsageError(f"CIFAR-100 fine labels must be integers, got dtype {labels.dtype}")
    labels = labels.long()
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) > 99):
        raise UsageError(
            f"CIFAR-100 fine labels must lie in 0..99, got range "
            f"{int(labels.min())}..{int(labels.max())}"
        )
    table = torch.tensor(CIFAR100_FINE_TO_COARSE, dtype=torch.long, device=labels.device)
    return table[labels]
