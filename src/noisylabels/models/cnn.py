"""Small convolutional networks used by the reproductions."""

from __future__ import annotations

import torch
from torch import nn


def _xavier_linear(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)


class SeedCNN(nn.Module):
    """The small CNN of the student report this project started from.

    Three 3x3 conv layers (3->8->16->32, padding 1), each followed by ReLU and 2x2 max-pooling,
    then flatten, two hidden linear layers (256, 128) with ReLU and a linear layer to K classes.
    Linear layers use Xavier-uniform initialisation. About 0.17M parameters for 32x32x3 inputs.

    Args:
        in_shape: ``(C, H, W)`` of one input.
        num_classes: Number of classes K.
        hidden: Widths of the two hidden linear layers.
    """

    def __init__(
        self, in_shape: tuple[int, ...], num_classes: int, hidden: tuple[int, int] = (256, 128)
    ) -> None:
        super().__init__()
        c, h, w = in_shape
        layers: list[nn.Module] = []
        for cin, cout in ((c, 8), (8, 16), (16, 32)):
            layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
        self.features = nn.Sequential(*layers)
        flat = 32 * (h // 8) * (w // 8)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(flat, hidden[0]),
            nn.ReLU(inplace=True),
            nn.Linear(hidden[0], hidden[1]),
            nn.ReLU(inplace=True),
            nn.Linear(hidden[1], num_classes),
        )
        _xavier_linear(self.classifier)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape ``(B, K)``."""
        return self.classifier(self.features(x))


def _conv_bn_relu(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class APLCNN(nn.Module):
    """The 8-layer CNN of the APL paper (Ma et al., ICML 2020; "ToyModel" in its code).

    Three blocks of [conv3x3-BN-ReLU] x 2 with widths 64, 128, 196, 2x2 max-pooling after each
    block, then FC to 256 with BatchNorm1d and ReLU, then FC to K. Convs use Kaiming-uniform and
    linear layers Xavier-uniform initialisation, as the official code.

    Args:
        in_shape: ``(C, H, W)`` of one input.
        num_classes: Number of classes K.
    """

    def __init__(self, in_shape: tuple[int, ...], num_classes: int) -> None:
        super().__init__()
        c, h, w = in_shape
        layers: list[nn.Module] = []
        cin = c
        for width in (64, 128, 196):
            layers += _conv_bn_relu(cin, width) + _conv_bn_relu(width, width)
            layers.append(nn.MaxPool2d(2))
            cin = width
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(196 * (h // 8) * (w // 8), 256),
            nn.BatchNorm1d(256),
            nn.ReLU(inplace=True),
            nn.Linear(256, num_classes),
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
        _xavier_linear(self.classifier)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape ``(B, K)``."""
        return self.classifier(self.features(x))


class CNN28(nn.Module):
    """A small CNN for 28x28 inputs (MNIST, Fashion-MNIST), after the APL code's MNIST model.

    conv3x3(32)-BN-ReLU-maxpool, conv3x3(64)-BN-ReLU-maxpool, FC 3136->128 with BN and ReLU,
    FC to K.

    Args:
        in_shape: ``(C, 28, 28)``.
        num_classes: Number of classes K.
    """

    def __init__(self, in_shape: tuple[int, ...], num_classes: int) -> None:
        super().__init__()
        c = in_shape[0]
        self.features = nn.Sequential(
            *_conv_bn_relu(c, 32), nn.MaxPool2d(2), *_conv_bn_relu(32, 64), nn.MaxPool2d(2)
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, 128),
            nn.BatchNorm1d(128),
            nn.ReLU(inplace=True),
            nn.Linear(128, num_classes),
        )
        _xavier_linear(self.classifier)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape ``(B, K)``."""
        return self.classifier(self.features(x))


class ReportCodeCNN(nn.Module):
    """The CNN the student report's code trains (not the one the report describes).

    Five 3x3 conv layers (padding 1): 3->8, ReLU, 8->16, ReLU, 2x2 max-pool, 16->32, ReLU,
    32->64, ReLU, 64->128 (no ReLU after it), 2x2 max-pool; then flatten, FC 8192->512, ReLU,
    FC 512->K. Linear weights are Xavier-uniform and every other tensor keeps PyTorch's default
    initialisation, as in that code. 4,298,330 parameters for 32x32x3 inputs and 10 classes
    (the FC 8192->512 layer holds 4.19 M of them). ``seed-cnn`` is the model the report's text
    describes.

    Args:
        in_shape: ``(C, H, W)`` of one input.
        num_classes: Number of classes K.
    """

    def __init__(self, in_shape: tuple[int, ...], num_classes: int) -> None:
        super().__init__()
        c, h, w = in_shape
        self.features = nn.Sequential(
            nn.Conv2d(c, 8, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(8, 16, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(64, 128, 3, padding=1),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(128 * (h // 4) * (w // 4), 512),
            nn.ReLU(inplace=True),
            nn.Linear(512, num_classes),
        )
        for m in self.classifier:
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape ``(B, K)``."""
        return self.classifier(self.features(x))
