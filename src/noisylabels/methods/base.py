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
class StepState:
    """Where training is: lets methods run burn-in, warm-up and annealing schedules."""

    epoch: int  # 0-based
    step: int  # global step, 0-based
    num_epochs: int
    steps_per_epoch: int


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


@dataclass(frozen=True)
class MethodContext:
    """Facts about the run a method may need when it is built.

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
