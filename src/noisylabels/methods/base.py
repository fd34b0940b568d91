"""The contract between training methods and the trainer.

A *method* is a training step: given a batch (inputs, noisy labels, dataset indices) it runs its
model(s), computes the loss to back-propagate and returns per-sample diagnostics. The trainer owns
data, optimiser, schedule, evaluation and logging; the method owns everything between logits and
the scalar loss (loss function, sample weighting, mixup, sample selection, extra networks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

# The step's schedule state and the run's facts belong to the weighting contract, which methods
# build on; they are re-exported here because every method signature uses them.
from noisylabels.weighting.base import MethodContext, StepState

__all__ = ["Batch", "Method", "MethodContext", "StepOutput", "StepState"]


@dataclass
class Batch:
    """One training batch, already normalised and augmented, on the training device.

    Attributes:
        x: Inputs, float, shape ``(B, ...)``.
        y: Given (noisy) labels, ``int64`` of shape ``(B,)``.
        index: Position of each sample in the training set, ``int64`` of shape ``(B,)``; methods
            that keep per-sample state (dynamic mixup) key it by this.
    """

    x: torch.Tensor
    y: torch.Tensor
    index: torch.Tensor


@dataclass
class StepOutput:
    """What a method returns for one batch.

    Attributes:
        loss: Scalar to back-propagate (for multi-network methods, the sum of their losses).
        logits: Detached logits of the evaluated (first) network on ``batch.x``, ``(B, K)``.
        per_sample_loss: Detached unweighted per-sample loss of the first network, ``(B,)``.
        weights: Detached per-sample weights actually used, ``(B,)`` (None for unweighted
            methods); for sample selection, 1 for selected and 0 for dropped samples.
        extras: Scalar diagnostics to log (e.g. current lambda, forget rate).
    """

    loss: torch.Tensor
    logits: torch.Tensor
    per_sample_loss: torch.Tensor
    weights: torch.Tensor | None = None
    extras: dict[str, float] = field(default_factory=dict)


class Method(nn.Module):
    """Base class: holds the network(s) as submodules so ``.parameters()`` covers all of them.

    Subclasses implement :meth:`step`. The trainer evaluates ``self.networks[0]``.
    """

    def __init__(self, networks: list[nn.Module]) -> None:
        super().__init__()
        self.networks = nn.ModuleList(networks)

    @property
    def net(self) -> nn.Module:
        """The network that is evaluated and reported."""
        return self.networks[0]

    def step(self, batch: Batch, state: StepState) -> StepOutput:  # pragma: no cover
        """Compute the loss for one batch."""
        raise NotImplementedError

    def on_epoch_start(self, state: StepState) -> None:
        """Hook called before each epoch (e.g. to refit a mixture model); no-op by default."""

    def on_epoch_end(self, state: StepState) -> None:
        """Hook called after each epoch; no-op by default."""

    def hparams(self) -> dict[str, Any]:
        """Hyperparameters to record with the run."""
        return {}
