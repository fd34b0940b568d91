"""Training methods: one step from a batch to the loss to back-propagate.

Build one by name with :func:`build_method`; every loss name is also a method. See
:mod:`noisylabels.methods.registry` for how parameters compose (any loss with any weighting).

Example:
    >>> import torch
    >>> from noisylabels.methods import build_method
    >>> from noisylabels.methods.base import Batch, MethodContext, StepState
    >>> ctx = MethodContext(num_classes=3, num_train=64, num_epochs=2, steps_per_epoch=4)
    >>> method = build_method("cicw", ctx, lambda: torch.nn.Linear(5, 3), burnin_steps=0)
    >>> batch = Batch(torch.randn(16, 5), torch.randint(0, 3, (16,)), torch.arange(16))
    >>> out = method.step(batch, StepState(epoch=0, step=0, num_epochs=2, steps_per_epoch=4))
    >>> out.loss.backward()
    >>> out.per_sample_loss.shape, out.weights.shape
    (torch.Size([16]), torch.Size([16]))
"""

from noisylabels.methods.base import Batch, Method, MethodContext, StepOutput, StepState
from noisylabels.methods.coteaching import CoTeachingMethod
from noisylabels.methods.dynamic_mixup import DynamicMixupMethod
from noisylabels.methods.registry import (
    METHODS,
    PRESETS,
    build_method,
    build_standard,
    method_names,
)
from noisylabels.methods.standard import StandardMethod, class_loss_matrix

__all__ = [
    "METHODS",
    "PRESETS",
    "Batch",
    "CoTeachingMethod",
    "DynamicMixupMethod",
    "Method",
    "MethodContext",
    "StandardMethod",
    "StepOutput",
    "StepState",
    "build_method",
    "build_standard",
    "class_loss_matrix",
    "method_names",
]
