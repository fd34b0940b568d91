"""Training methods: one step from a batch to the loss to back-propagate.

A method is a :class:`MethodSpec`: a composition of parts (loss, weighting, mixup, selection;
:mod:`noisylabels.methods.parts`), each from its own registry. Build one with
:func:`build_method` from a named preset or a loss name plus parameters (every loss name is also
a method; :func:`parse_method` says how the parameters compose) or from a spec.

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
from noisylabels.methods.parts import MIXUPS, SELECTIONS, LossSpec, Part, make_loss, make_part
from noisylabels.methods.registry import build_method, build_spec
from noisylabels.methods.spec import METHODS, PRESETS, MethodSpec, method_names, parse_method
from noisylabels.methods.standard import StandardMethod, class_loss_matrix

__all__ = [
    "METHODS",
    "MIXUPS",
    "PRESETS",
    "SELECTIONS",
    "Batch",
    "CoTeachingMethod",
    "DynamicMixupMethod",
    "LossSpec",
    "Method",
    "MethodContext",
    "MethodSpec",
    "Part",
    "StandardMethod",
    "StepOutput",
    "StepState",
    "build_method",
    "build_spec",
    "class_loss_matrix",
    "make_loss",
    "make_part",
    "method_names",
    "parse_method",
]
