"""The pieces of a training run that detection reuses: noisy labels, one trained network, inference.

Networks are trained by the project's trainer (:func:`noisylabels.train.run`) with a dataset
object passed in and a train-end callback that keeps the evaluated network, so every method the
trainer knows (CE, GCE, CIW, co-teaching, ...) can produce predicted probabilities.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from noisylabels.train.callbacks import Callback
from noisylabels.train.config import TrainConfig


def input_normalizer(config: TrainConfig, data: Any, device: torch.device) -> Any:
    """The normaliser the trainer applies to ``data``'s stored inputs under ``config``."""
    from noisylabels.train.augment import IMAGENET_MEAN, IMAGENET_STD, Normalizer

    if config.normalization == "imagenet" and data.is_image and data.input_shape[0] == 3:
        mean, std = IMAGENET_MEAN, IMAGENET_STD
    else:
        mean, std = data.mean, data.std
    return Normalizer(tuple(mean), tuple(std), device, image=data.is_image)


@torch.no_grad()
def predict_proba(
    net: torch.nn.Module, x: torch.Tensor, normalizer: Any, batch_size: int = 1024
) -> np.ndarray:
    """Softmax probabilities of ``net`` in eval mode on stored inputs ``x``, ``(N, K)`` float64."""
    was_training = net.training
    net.eval()
    device = next(net.parameters()).device
    out = []
    for i in range(0, x.shape[0], batch_size):
        logits = net(normalizer(x[i : i + batch_size].to(device)))
        out.append(torch.softmax(logits.float(), dim=1).double().cpu())
    net.train(was_training)
    if not out:
        return np.zeros((0, 0))
    return torch.cat(out).numpy()


def train_network(
    config: TrainConfig,
    dataset: Any,
    *,
    callbacks: Sequence[Any] = (),
    progress: bool = False,
) -> tuple[dict[str, Any], torch.nn.Module]:
    """Train ``config`` on ``dataset`` with the project's trainer; return (record, network).

    The network is the one the trainer evaluates (``method.net``) as it stands at the end of
    training, taken by a train-end callback.
    """
    from noisylabels.train import run

    grab = _KeepNetwork()
    record = run(config, callbacks=(*callbacks, grab), dataset=dataset, progress=progress)
    assert grab.net is not None
    return record, grab.net


class _KeepNetwork(Callback):
    """Keeps a reference to the evaluated network when training ends."""

    def __init__(self) -> None:
        self.net: torch.nn.Module | None = None

    def on_train_end(self, run: Any, record: Any) -> None:
        self.net = run.method.net
