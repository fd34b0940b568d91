"""Shared pieces of every loss: input checks, the compute dtype, clamped probabilities, reduction.

Conventions used by all losses in :mod:`noisylabels.losses`:

* Inputs are ``logits`` of shape ``(B, K)`` (any floating dtype, ``K >= 2``) and a ``target``
  that is either integer class indices of shape ``(B,)`` in ``[0, K)`` or, for the losses that
  accept them, a soft target of shape ``(B, K)`` whose rows are probability distributions.
* Losses are computed in float32 (float64 when the logits are float64): float16 and bfloat16
  logits are upcast, so their loss is float32 and their gradient flows back in their own dtype.
* Every loss is first written as a *loss matrix* ``L[b, k]``: the loss of sample ``b`` if its
  label were ``k``. A hard target picks one column; a soft target ``t`` gives ``sum_k t_k L[b, k]``,
  the same as mixing the per-label losses (what mixup needs).
"""

from __future__ import annotations

import inspect
import math
import numbers
from typing import Any, ClassVar

import torch
from torch import nn

from noisylabels.errors import UsageError

#: Lower clamp for probabilities before ``log`` or ``pow`` (the APL/SCE code's 1e-7).
PROB_EPS = 1e-7

REDUCTIONS = ("none", "mean", "sum")


def compute_dtype(logits: torch.Tensor) -> torch.dtype:
    """float64 for float64 logits, float32 for every other floating dtype."""
    return torch.float64 if logits.dtype == torch.float64 else torch.float32


def check_inputs(
    logits: object,
    target: object,
    *,
    num_classes: int | None = None,
    allow_soft: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate ``(logits, target)`` and return them ready for computing.

    Args:
        logits: Unnormalised scores, floating tensor of shape ``(B, K)`` with ``K >= 2``.
        target: Integer class indices ``(B,)`` in ``[0, K)``, or (if ``allow_soft``) a floating
            ``(B, K)`` tensor of non-negative rows summing to 1. Values are checked for CPU
            tensors only (on an accelerator the check would cost a host sync per call).
        num_classes: If given, ``K`` must equal it.
        allow_soft: Whether a soft ``(B, K)`` target is acceptable.

    Returns:
        ``(logits, target)``: logits upcast to the compute dtype (see :func:`compute_dtype`);
        the target as ``int64`` indices, or as soft probabilities in the compute dtype.

    Raises:
        UsageError: On any mismatch of type, shape, range or class count.
    """
    if not isinstance(logits, torch.Tensor) or not isinstance(target, torch.Tensor):
        raise UsageError(
            f"loss inputs must be torch tensors, got logits {type(logits).__name__} and "
            f"target {type(target).__name__}"
        )
    if logits.dim() != 2 or not logits.is_floating_point():
        raise UsageError(
            f"logits must be a floating tensor of shape (B, K), got shape {tuple(logits.shape)} "
            f"and dtype {logits.dtype}"
        )
    b, k = logits.shape
    if k < 2:
        raise UsageError(f"logits need at least 2 classes, got shape {tuple(logits.shape)}")
    if num_classes is not None and k != num_classes:
        raise UsageError(
            f"logits have {k} classes but the loss was built with num_classes={num_classes}"
        )
    dtype = compute_dtype(logits)
    logits = logits.to(dtype)
    if target.is_floating_point():
        if not allow_soft:
            raise UsageError(
                f"this loss needs integer class indices of shape ({b},), got a floating target "
                f"of shape {tuple(target.shape)}; soft targets are not supported here"
            )
        if target.shape != (b, k):
            raise UsageError(
                f"a soft target must have the logits' shape ({b}, {k}), got "
                f"{tuple(target.shape)}; integer class indices need shape ({b},)"
            )
        tol = 1e-2 if target.dtype in (torch.float16, torch.bfloat16) else 1e-3
        target = target.to(dtype)
        if b and _check_values(target):
            lo, hi = torch.aminmax(target.sum(1))
            if target.min() < 0 or lo < 1 - tol or hi > 1 + tol:
                raise UsageError("soft target rows must be non-negative and sum to 1")
        return logits, target
    if target.dtype == torch.bool or target.is_complex():
        raise UsageError(f"target must hold integer class indices, got dtype {target.dtype}")
    if target.shape != (b,):
        raise UsageError(
            f"target must be integer class indices of shape ({b},), got shape "
            f"{tuple(target.shape)} ({target.dtype})"
        )
    if b and _check_values(target):
        lo, hi = (int(v) for v in torch.aminmax(target))
        if lo < 0 or hi >= k:
            raise UsageError(
                f"target class indices must lie in [0, {k}), got values in [{lo}, {hi}]"
            )
    return logits, target.long()


def _check_values(target: torch.Tensor) -> bool:
    # Value checks read the tensor on the host; on an accelerator that would stall the step
    # (a sync per loss call), so there we rely on the kernels' own index checks (gather and
    # scatter assert on out-of-range classes) and trust soft targets.
    return target.device.type == "cpu"


def clamped_softmax(logits: torch.Tensor, eps: float = PROB_EPS) -> torch.Tensor:
    """Softmax probabilities clamped to ``[eps, 1]`` (safe before ``log`` and ``pow``)."""
    return logits.softmax(dim=1).clamp(min=eps, max=1.0)


def pick(matrix: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample loss from a loss matrix ``L[b, k]`` (the loss if the label of ``b`` were ``k``).

    Integer targets ``(B,)`` select ``L[b, y_b]``; soft targets ``(B, K)`` give
    ``sum_k t[b, k] L[b, k]``.
    """
    if target.dim() == 1:
        return matrix.gather(1, target.unsqueeze(1)).squeeze(1)
    return (matrix * target).sum(dim=1)


def reduce(per_sample: torch.Tensor, reduction: str) -> torch.Tensor:
    """Reduce per-sample losses ``(B,)``: ``"none"`` (unchanged), ``"mean"`` or ``"sum"``.

    Raises:
        UsageError: For an unknown reduction, or ``"mean"`` of an empty batch.
    """
    if reduction == "none":
        return per_sample
    if reduction == "mean":
        if per_sample.numel() == 0:
            raise UsageError("cannot take the mean loss of an empty batch")
        return per_sample.mean()
    if reduction == "sum":
        return per_sample.sum()
    raise UsageError(f"unknown reduction {reduction!r}; choose one of: {', '.join(REDUCTIONS)}")


def check_reduction(reduction: str) -> str:
    """Return ``reduction`` if it is one of ``"none"``, ``"mean"``, ``"sum"``."""
    if reduction not in REDUCTIONS:
        raise UsageError(f"unknown reduction {reduction!r}; choose one of: {', '.join(REDUCTIONS)}")
    return reduction


def check_range(
    name: str,
    value: object,
    lo: float,
    hi: float = math.inf,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> float:
    """Return ``float(value)`` if it is a finite real number in the given interval."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise UsageError(f"{name} must be a number, got {value!r}")
    v = float(value)
    ok = math.isfinite(v) and (v > lo if lo_open else v >= lo)
    ok = ok and (v < hi if hi_open else v <= hi)
    if not ok:
        left = "(" if lo_open else "["
        right = ")" if hi_open or hi == math.inf else "]"
        hi_txt = "inf" if hi == math.inf else f"{hi:g}"
        raise UsageError(f"{name} must lie in {left}{lo:g}, {hi_txt}{right}, got {value!r}")
    return v


class LossModule(nn.Module):
    """Base of the loss modules: stores hyperparameters, calls the pure loss function.

    Subclasses set the class attributes and implement :meth:`per_sample`.

    Attributes:
        kind: ``"active"``, ``"passive"`` (Ma et al. 2020) or ``"other"``.
        is_bounded: Whether the per-sample loss is bounded above for any logits.
        accepts_soft_targets: Whether ``target`` may be a ``(B, K)`` probability tensor.
        num_classes: ``K`` if given at construction; inputs are checked against it.
        reduction: Default reduction, overridable per call.
    """

    kind: ClassVar[str] = "other"
    is_bounded: bool = False
    accepts_soft_targets: ClassVar[bool] = True

    def __init__(self, *, num_classes: int | None = None, reduction: str = "mean") -> None:
        super().__init__()
        if num_classes is not None and (
            isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2
        ):
            raise UsageError(f"num_classes must be an integer >= 2, got {num_classes!r}")
        self.num_classes = num_classes
        self.reduction = check_reduction(reduction)

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The loss of each sample, shape ``(B,)``."""
        raise NotImplementedError

    def forward(
        self, logits: torch.Tensor, target: torch.Tensor, reduction: str | None = None
    ) -> torch.Tensor:
        """Loss of ``logits`` ``(B, K)`` against ``target``; ``reduction`` overrides the default."""
        if self.num_classes is not None and isinstance(logits, torch.Tensor):
            if logits.dim() == 2 and logits.shape[1] != self.num_classes:
                raise UsageError(
                    f"logits have {logits.shape[1]} classes but the loss was built with "
                    f"num_classes={self.num_classes}"
                )
        red = self.reduction if reduction is None else check_reduction(reduction)
        return reduce(self.per_sample(logits, target), red)

    def hparams(self) -> dict[str, Any]:
        """The constructor hyperparameters of this loss and their current values."""
        names = [
            p
            for p in inspect.signature(type(self).__init__).parameters
            if p not in ("self", "num_classes", "reduction", "args", "kwargs")
        ]
        return {n: getattr(self, n) for n in names if hasattr(self, n)}

    def extra_repr(self) -> str:
        """Hyperparameters shown by ``repr``."""
        return ", ".join(f"{k}={v!r}" for k, v in self.hparams().items())
