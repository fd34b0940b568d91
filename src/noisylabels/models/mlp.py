"""A plain multilayer perceptron for feature vectors and tiny images."""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn


class MLP(nn.Module):
    """Linear-ReLU-Linear-ReLU-Linear; inputs of any shape are flattened.

    Args:
        in_shape: Shape of one input (``(D,)`` or ``(C, H, W)``).
        num_classes: Number of classes K.
        hidden: Widths of the hidden layers.
    """

    def __init__(
        self, in_shape: tuple[int, ...], num_classes: int, hidden: tuple[int, ...] = (128, 128)
    ) -> None:
        super().__init__()
        dims = [math.prod(in_shape), *hidden]
        layers: list[nn.Module] = [nn.Flatten()]
        for a, b in itertools.pairwise(dims):
            layers += [nn.Linear(a, b), nn.ReLU(inplace=True)]
        layers.append(nn.Linear(dims[-1], num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape ``(B, K)``."""
        return self.net(x)
