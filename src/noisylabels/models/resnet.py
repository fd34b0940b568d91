"""PreAct ResNet-18 for 32x32 inputs.

He et al., "Identity Mappings in Deep Residual Networks", ECCV 2016.

The network CIW (Kumar & Amid 2021) and DivideMix use for CIFAR: a 3x3 stem with 64 channels,
four stages of two pre-activation basic blocks (64, 128, 256, 512; stride 2 from stage 2), a final
BN-ReLU, global average pooling and a linear layer.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class _PreActBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.shortcut = (
            nn.Conv2d(cin, cout, 1, stride=stride, bias=False)
            if stride != 1 or cin != cout
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(x))
        # The projection shortcut reads the pre-activated input, as in the paper's Fig. 4(e).
        skip = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + skip


class PreActResNet18(nn.Module):
    """PreAct ResNet-18 (about 11M parameters).

    Args:
        in_shape: ``(C, H, W)`` of one input.
        num_classes: Number of classes K.
    """

    def __init__(self, in_shape: tuple[int, ...], num_classes: int) -> None:
        super().__init__()
        self.stem = nn.Conv2d(in_shape[0], 64, 3, padding=1, bias=False)
        blocks: list[nn.Module] = []
        cin = 64
        for i, width in enumerate((64, 128, 256, 512)):
            stride = 1 if i == 0 else 2
            blocks += [_PreActBlock(cin, width, stride), _PreActBlock(width, width, 1)]
            cin = width
        self.blocks = nn.Sequential(*blocks)
        self.bn = nn.BatchNorm2d(512)
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape ``(B, K)``."""
        out = F.relu(self.bn(self.blocks(self.stem(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))
