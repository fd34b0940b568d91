"""Names of the built-in datasets, methods, losses and models, readable without torch.

The registries (:data:`noisylabels.data.DATASETS`, :data:`noisylabels.methods.METHODS`,
:data:`noisylabels.losses.LOSSES`, :data:`noisylabels.models.MODELS`) are the source of truth,
but importing them imports torch (a second or more); ``noisylabels train --help`` lists these
copies instead. ``tests/test_names.py`` fails when a registry and its copy differ. Noise kinds
need no copy: their registry (:data:`noisylabels.noise.NOISE_KINDS`) is torch-free.
"""

from __future__ import annotations

DATASETS = ("cifar10", "cifar100", "digits", "fashion-mnist", "mnist", "moons")
METHODS = (
    "cicw", "cicw-m", "ciw", "ciw-m", "confidence", "coteaching", "dynamic-mixup", "mixup",
    "standard",
)  # fmt: skip
LOSSES = (
    "apl", "bitempered", "bootstrap_hard", "bootstrap_soft", "ce", "fl", "gce",
    "label_smoothing", "mae", "nce", "nfl", "ngce", "nmae", "rce", "report-ce-over-entropy",
    "report-ce-over-entropy-plus-ce", "report-dynamic-weight-ce", "report-focal",
    "report-focal-plus-ce", "sce",
)  # fmt: skip
MODELS = ("apl-cnn", "cnn28", "mlp", "preact-resnet18", "report-code-cnn", "seed-cnn")


def noise_kinds() -> list[str]:
    """Registered noise kinds (built-in and user-registered), sorted."""
    import noisylabels.noise  # noqa: F401  (registers the built-in kinds)
    from noisylabels.noise.spec import NOISE_KINDS

    return sorted(NOISE_KINDS.names())
