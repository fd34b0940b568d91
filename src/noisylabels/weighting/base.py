"""The contract between sample weightings and the training step that uses them.

A weighting sees the detached per-sample losses (and logits and targets) of one batch and
returns per-sample weights; the step then minimises :func:`weighted_mean` of the per-sample
losses. :class:`StepState` says where training is (for burn-in, warm-up and annealing) and
:class:`MethodContext` holds the facts about the run that parts are built from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import torch


@dataclass
class StepState:
    """Where training is: lets methods and weightings run burn-in, warm-up and annealing."""

    epoch: int  # 0-based
    step: int  # global step, 0-based
    num_epochs: int
    steps_per_epoch: int


@dataclass(frozen=True)
class MethodContext:
    """Facts about the run a method (and each of its parts) may need when it is built.

    Attributes:
        num_classes: K.
        num_train: Size of the training split (for per-sample state).
        num_epochs: Planned epochs.
        steps_per_epoch: Optimiser steps per epoch.
        noise_rate: Expected share of wrong training labels under the nominal transition matrix
            (co-teaching's default forget rate), if known.
        seed: Seed for the method's own randomness (mixup draws, partner sampling).
        device: Training device.
    """

    num_classes: int
    num_train: int
    num_epochs: int
    steps_per_epoch: int
    noise_rate: float | None = None
    seed: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))


@runtime_checkable
class SampleWeighting(Protocol):
    """What a training step needs from a per-sample weighting.

    Implemented by :class:`~noisylabels.weighting.CIWeighting` and
    :class:`~noisylabels.weighting.ConfidenceWeighting`; a weighting registered in
    :data:`noisylabels.weighting.WEIGHTINGS` builds one of these.
    """

    name: str

    def active(self, state: StepState) -> bool:
        """False during burn-in / warm-up (uniform weights)."""
        ...

    def weights(
        self,
        losses: torch.Tensor,
        state: StepState,
        logits: torch.Tensor | None = None,
        target: torch.Tensor | None = None,
    ) -> torch.Tensor | None:
        """Detached weights ``(B,)`` or None for uniform.

        ``losses`` are the detached per-sample losses, ``logits`` the detached logits and
        ``target`` the integer labels ``(B,)`` or, on a mixed batch, soft targets ``(B, K)``.
        """
        ...

    def extras(self, state: StepState) -> dict[str, float]:
        """Scalars to log."""
        ...

    def hparams(self) -> dict[str, Any]:
        """Resolved hyperparameters."""
        ...


def weighted_mean(per_sample: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    r"""The loss of a weighted step, :math:`\frac1B \sum_i w_i \ell_i` (the mean if no weights).

    Args:
        per_sample: Per-sample losses ``(B,)`` (with gradient).
        weights: Detached weights ``(B,)`` or None for uniform weights.

    Example:
        >>> l = torch.tensor([1.0, 3.0])
        >>> weighted_mean(l, None).item(), weighted_mean(l, torch.tensor([2.0, 0.0])).item()
        (2.0, 1.0)
    """
    if weights is None:
        return per_sample.mean()
    return (weights.to(per_sample.dtype) * per_sample).mean()
