"""Check a config's names and combinations before any data is loaded.

A sweep validates every run of its grid with :func:`check_config` before the first run starts, so
a typo or an impossible combination (asymmetric noise on a dataset with no class map, a symmetric
rate with no signal left, an unknown method parameter) fails in a second, not an hour in.
"""

from __future__ import annotations

import numpy as np
import torch

from noisylabels.errors import UsageError
from noisylabels.train.config import TrainConfig, validate


def check_config(cfg: TrainConfig) -> None:
    """Raise :class:`UsageError` if ``cfg`` names something unknown or impossible.

    Checks the value ranges, the dataset, the model (and that it fits the dataset's inputs), the
    noise spec against the dataset's classes (via the noise module's own validation on a small
    synthetic label vector), and the method with its parameters (built on a stand-in network).
    No dataset file is read.
    """
    from noisylabels.data import DATASETS, asymmetric_map, dataset_info
    from noisylabels.methods import build_method
    from noisylabels.methods.base import MethodContext
    from noisylabels.models import get_model
    from noisylabels.noise import NoiseSpec, corrupt, noise_file

    validate(cfg)
    info = dataset_info(cfg.dataset, root=cfg.data_root, **cfg.dataset_options)
    k, shape = int(info.num_classes), tuple(info.input_shape)
    if cfg.train_subset is not None:
        from noisylabels.train.trainer import check_subset_size

        n_train = info.n_train if info.n_train is not None else cfg.train_subset
        check_subset_size(cfg.train_subset, n_train, k, cfg.dataset)
    with torch.random.fork_rng(devices=[]):
        get_model(info.default_model if cfg.model == "auto" and info.default_model else cfg.model,
                  shape, k)
    noise = cfg.noise.strip()
    # What the trainer hands the method: the expected share of wrong labels under the nominal T.
    # Human and file noise get theirs from labels read at run time (always a share below 1); any
    # such share builds the method alike, so a stand-in validates it without reading data.
    noise_rate = 0.5
    if noise_file(noise) is None:
        spec = NoiseSpec.parse(noise, sampling=cfg.noise_sampling, seed=0)
        if spec.kind.startswith("cifar10n"):
            if cfg.dataset != "cifar10":
                raise UsageError(
                    f"noise {noise!r} is CIFAR-10N human noise and needs dataset cifar10, "
                    f"not {cfg.dataset!r}"
                )
        else:
            labels = np.repeat(np.arange(k), 4)
            features = np.random.default_rng(0).standard_normal((len(labels), 8))
            # Only a built-in dataset has a class map; own files never get one by their name.
            class_map = asymmetric_map(cfg.dataset) if cfg.dataset in DATASETS else None
            noisy = corrupt(
                labels, spec, num_classes=k, dataset=cfg.dataset, features=features, seed=0,
                class_map=class_map,
            )
            noise_rate = noisy.expected_rate
    if cfg.batch_noise != "off":
        from noisylabels.noise.batch import ReseededBatchNoise

        if noise_file(noise) is not None:
            raise UsageError(
                f"batch_noise={cfg.batch_noise!r} re-applies noise to every batch; a noise "
                "file fixes one label per sample: drop batch_noise or use noise uniform:RATE"
            )
        spec = NoiseSpec.parse(noise, sampling=cfg.noise_sampling, seed=0)
        class_map = asymmetric_map(cfg.dataset) if cfg.dataset in DATASETS else None
        ReseededBatchNoise(spec.kind, float(spec.rate or 0.0), k, 0, class_map)
    ctx = MethodContext(
        num_classes=k,
        num_train=100,
        num_epochs=cfg.epochs,
        steps_per_epoch=10,
        noise_rate=noise_rate,
    )
    with torch.random.fork_rng(devices=[]):
        build_method(cfg.method_spec, ctx, lambda: torch.nn.Linear(4, k))
