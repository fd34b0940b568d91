"""Models by name: ``get_model("seed-cnn", in_shape=(3, 32, 32), num_classes=10)``.

======================  ==========================================================================
name                    what
======================  ==========================================================================
``seed-cnn``            the student report's small CNN (conv 8/16/32, two hidden FC layers)
``apl-cnn``             the 8-layer CNN of the APL paper (Ma et al. 2020), widths 64/128/196
``cnn28``               a small CNN for 28x28 inputs (APL's MNIST model: conv32, conv64, FC 128)
``preact-resnet18``     PreAct ResNet-18 for 32x32 inputs (He et al. 2016), as in CIW/DivideMix
``report-code-cnn``     the CNN the student report's code trains (conv 8/16/32/64/128, FC 512;
                        4.3 M parameters), not the one its text describes (``seed-cnn``)
``mlp``                 a 2-hidden-layer MLP for feature vectors and tiny images (moons, digits)
======================  ==========================================================================

``auto`` trains the model the dataset names as its default (``DatasetBundle.default_model``:
``mlp`` for digits and moons, ``cnn28`` for MNIST and Fashion-MNIST, ``seed-cnn`` for CIFAR);
for data without one (your own), :func:`auto_model` picks by input shape: ``mlp`` for feature
vectors and images up to 16x16, ``cnn28`` for 28x28 and ``seed-cnn`` otherwise.
"""

from __future__ import annotations

import torch
from torch import nn

from noisylabels.errors import UsageError
from noisylabels.models.cnn import APLCNN, CNN28, ReportCodeCNN, SeedCNN
from noisylabels.models.mlp import MLP
from noisylabels.models.resnet import PreActResNet18
from noisylabels.registry import Registry

MODELS: Registry = Registry("model")

MODELS.register("seed-cnn", help="student-report CNN: conv 3-8-16-32, FC, FC")(SeedCNN)
MODELS.register("apl-cnn", help="APL paper 8-layer CNN (64/128/196, FC 256)")(APLCNN)
MODELS.register("cnn28", help="small CNN for 28x28 inputs (conv32, conv64, FC 128)")(CNN28)
MODELS.register("preact-resnet18", help="PreAct ResNet-18 for 32x32 inputs")(PreActResNet18)
MODELS.register(
    "report-code-cnn", help="the student report's code's CNN: conv 8-16-32-64-128, FC 512 (4.3 M)"
)(ReportCodeCNN)
MODELS.register("mlp", help="MLP with two hidden layers (moons, digits)")(MLP)


def auto_model(in_shape: tuple[int, ...]) -> str:
    """The default model name for inputs of shape ``in_shape``."""
    if len(in_shape) == 1 or in_shape[-1] <= 16:
        return "mlp"
    if in_shape[-1] == 28:
        return "cnn28"
    return "seed-cnn"


def get_model(name: str, in_shape: tuple[int, ...], num_classes: int, seed: int = 0) -> nn.Module:
    """Build model ``name`` for inputs of shape ``in_shape`` (``(C, H, W)`` or ``(D,)``).

    The weights are initialised from ``seed`` inside a forked RNG, so building a model never
    changes the caller's global random state and the same seed gives the same weights.

    Example:
        >>> import torch
        >>> m = get_model("seed-cnn", (3, 32, 32), 10)
        >>> m(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """
    if name == "auto":
        name = auto_model(in_shape)
    cls = MODELS.get(name)
    image_only = name in (
        "seed-cnn", "apl-cnn", "cnn28", "preact-resnet18", "report-code-cnn"
    )
    if image_only and len(in_shape) != 3:
        raise UsageError(
            f"model {name!r} needs image inputs (C, H, W); got shape {in_shape}; use mlp"
        )
    if name == "cnn28" and tuple(in_shape[1:]) != (28, 28):
        raise UsageError(f"model cnn28 needs 28x28 inputs, got {in_shape}; use seed-cnn or mlp")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return cls(in_shape=tuple(in_shape), num_classes=num_classes)


__all__ = [
    "APLCNN",
    "CNN28",
    "MLP",
    "MODELS",
    "PreActResNet18",
    "ReportCodeCNN",
    "SeedCNN",
    "auto_model",
    "get_model",
    "load_model",
]


def __getattr__(name: str) -> object:
    # Loading a saved model needs the trainer's modules; import them only when asked.
    if name == "load_model":
        from noisylabels.models.saved import load_model

        return load_model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
