"""The training engine: one configuration in, one JSON record out.

The whole dataset stays in memory as ``uint8`` tensors on the training device. Each epoch draws a
seeded permutation and slices batches from it; crops, flips and normalisation are batched tensor
ops. The method (loss, weighting, mixup, co-teaching...) is a
:class:`~noisylabels.methods.base.Method` step, so the loop below is the same for every method.

Everything random (split, noise, init, order, augmentation, method draws) derives from the
config's seeds, and the global RNG state is restored on exit, so a run is deterministic on CPU and
leaves no trace on the caller's RNG.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime as _dt
import hashlib
import json
import math
import os
import platform
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

import noisylabels
from noisylabels.errors import NonFiniteLossError, UsageError
from noisylabels.train.augment import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    CropFlipSource,
    Normalizer,
    RowSource,
    augment,
    batch_source,
)
from noisylabels.train.callbacks import Callback, CallbackList, EpochLog, ProgressBar
from noisylabels.train.config import TrainConfig, validate
from noisylabels.train.record import (
    SCHEMA_VERSION,
    DataSummary,
    EpochRow,
    FinalScores,
    NoiseSummary,
    RunRecord,
    WeightStats,
    portable_source,
)

Log = Callable[[str], None]


# Config fields added after results were first published, left out of the id while they hold
# their default so that older records keep their ids (and sweeps resume over them).
_ID_OMIT_AT_DEFAULT: dict[str, Any] = {
    "test_eval": "every_epoch",
    "dataset_options": {},
    "exclude": None,
    "relabel": None,
    "edit_top": None,
    "relabel_confidence": 0.5,
    "train_subset": None,
    "subset_seed": 0,
    "batch_noise": "off",
    "t_max_epochs": None,
}


def run_id(config: TrainConfig) -> str:
    """Stable 12-hex-digit id of a resolved config: the sweep's resume key."""
    d = config.to_dict()
    for key, default in _ID_OMIT_AT_DEFAULT.items():
        if d.get(key) == default:
            del d[key]
    blob = json.dumps(d, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; anything else is checked to exist."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise UsageError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"device {name!r} asked for but CUDA is not available; use --device cpu")
    return dev


def device_description(dev: torch.device) -> str:
    """Human-readable device name for the record."""
    if dev.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(dev)})"
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def versions() -> dict[str, str]:
    """Library versions recorded with every run."""
    return {
        "noisylabels": noisylabels.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def auroc(scores: torch.Tensor | np.ndarray, positive: torch.Tensor | np.ndarray) -> float | None:
    """Area under the ROC curve of ``scores`` for telling ``positive`` from the rest.

    scikit-learn's :func:`~sklearn.metrics.roc_auc_score` (ties count one half); None when
    one of the two groups is empty.
    """
    from sklearn.metrics import roc_auc_score

    pos = np.asarray(positive.cpu() if isinstance(positive, torch.Tensor) else positive, bool)
    if pos.all() or not pos.any():
        return None
    s = scores.double().cpu().numpy() if isinstance(scores, torch.Tensor) else scores
    return float(roc_auc_score(pos, np.asarray(s, dtype=np.float64)))


@dataclass
class TrainSplit:
    """Inputs and labels of one split, on the training device."""

    x: torch.Tensor  # stored inputs (uint8 images or float features) on device
    y: torch.Tensor  # labels used for training/selection (noisy), int64 on device
    clean: torch.Tensor  # clean labels, int64 on device
    mislabeled: torch.Tensor  # bool on device


@dataclass
class EpochStats:
    """Sums accumulated on the device during one training epoch (no per-step host syncs)."""

    loss_sum: torch.Tensor
    correct_noisy: torch.Tensor
    correct_clean: torch.Tensor
    memorized: torch.Tensor
    lr: float
    has_weights: bool = False


def train_one_epoch(
    method: Any,
    opt: torch.optim.Optimizer,
    sched: Any,
    train: TrainSplit,
    norm: Normalizer,
    aug: str,
    batch_size: int,
    epoch: int,
    global_step: int,
    order_gen: torch.Generator,
    aug_gen: torch.Generator,
    autocast: Callable[[], Any],
    grad_clip: float | None,
    weights_out: torch.Tensor | None,
    num_epochs: int,
    source: CropFlipSource | RowSource | None = None,
    *,
    on_batch_end: Callable[[Any, Any, Any], None] | None = None,
    relabel: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> EpochStats:
    """One pass over ``train`` in seeded random order: slice, augment, normalise, step.

    Per-sample weights the method reports are written into ``weights_out`` by training-split
    position. ``on_batch_end(batch, out, state)`` is called after every optimiser step.
    ``relabel`` (``batch_noise``) turns each batch's labels into the labels trained on.
    With a ``source`` (see :func:`~noisylabels.train.augment.batch_source`), slicing, cropping
    and flipping are one gather from it.
    """
    from noisylabels.methods.base import Batch, StepState

    device = train.x.device
    n_train = train.x.shape[0]
    steps = math.ceil(n_train / batch_size)
    order = torch.randperm(n_train, generator=order_gen).to(device)
    zero_l = torch.zeros((), device=device, dtype=torch.long)
    stats = EpochStats(
        torch.zeros((), device=device),
        zero_l.clone(),
        zero_l.clone(),
        zero_l.clone(),
        opt.param_groups[0]["lr"],
    )
    for i in range(steps):
        idx = order[i * batch_size : (i + 1) * batch_size]
        if source is not None:
            xb = source.batch(idx, aug_gen)
        else:
            xb = train.x[idx]
            if aug != "none":
                xb = augment(xb, aug, aug_gen)
        yb = train.y[idx] if relabel is None else relabel(train.y[idx])
        batch = Batch(norm(xb), yb, idx)
        state = StepState(epoch, global_step + i, num_epochs, steps)
        with autocast():
            out = method.step(batch, state)
        if not torch.isfinite(out.loss):
            raise NonFiniteLossError(
                f"loss became {float(out.loss.detach())} at epoch {epoch + 1}, step {i + 1} "
                f"(lr {opt.param_groups[0]['lr']:.3g}); lower the learning rate or set grad_clip"
            )
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        if grad_clip:
            torch.nn.utils.clip_grad_norm_(method.parameters(), grad_clip)
        opt.step()
        sched.step()
        with torch.no_grad():
            pred = out.logits.argmax(1)
            hit = pred == batch.y
            stats.loss_sum += out.loss.detach().float() * len(idx)
            stats.correct_noisy += hit.sum()
            stats.correct_clean += (pred == train.clean[idx]).sum()
            stats.memorized += (hit & train.mislabeled[idx]).sum()
            if out.weights is not None:
                stats.has_weights = True
                if weights_out is not None:
                    weights_out[idx] = out.weights.detach().float()
        if on_batch_end is not None:
            on_batch_end(batch, out, state)
    return stats


def _lr_lambda(cfg: TrainConfig, steps_per_epoch: int) -> Callable[[int], float]:
    total = cfg.epochs * steps_per_epoch
    if cfg.schedule == "constant":
        return lambda s: 1.0
    if cfg.schedule == "cosine":
        return lambda s: 0.5 * (1.0 + math.cos(math.pi * min(s, total) / total))
    if cfg.schedule == "cosine-epochs":
        period = cfg.t_max_epochs or cfg.epochs
        return lambda s: 0.5 * (1.0 + math.cos(math.pi * (s // steps_per_epoch) / period))
    if cfg.schedule == "step":
        return lambda s: cfg.gamma ** ((s // steps_per_epoch) // max(1, cfg.step_size))
    # one-cycle: linear warm-up over the first 30% from lr/25 to lr, cosine down to lr/1e4.
    warm = max(1, int(0.3 * total))

    def onecycle(s: int) -> float:
        if s < warm:
            return 1 / 25 + (1 - 1 / 25) * s / warm
        t = min(1.0, (s - warm) / max(1, total - warm))
        return 1e-4 + (1 - 1e-4) * 0.5 * (1 + math.cos(math.pi * t))

    return onecycle


def _optimizer(cfg: TrainConfig, params: Any) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(
            params,
            lr=cfg.lr,
            momentum=cfg.momentum,
            nesterov=cfg.nesterov and cfg.momentum > 0,
            weight_decay=cfg.weight_decay,
        )
    return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def _noise_rate(spec: Any) -> float | None:
    rate = getattr(spec, "rate", None)
    return float(rate) if rate is not None else None


@torch.no_grad()
def _evaluate(
    net: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    norm: Normalizer,
    batch_size: int,
    autocast: Any,
) -> tuple[float, torch.Tensor]:
    """Accuracy of ``net`` on ``(x, y)`` and its predictions."""
    was_training = net.training
    net.eval()
    preds = []
    for i in range(0, x.shape[0], batch_size):
        with autocast():
            preds.append(net(norm(x[i : i + batch_size])).argmax(1))
    net.train(was_training)
    if not preds:
        return float("nan"), torch.empty(0, dtype=torch.long)
    pred = torch.cat(preds)
    return float((pred == y).float().mean()), pred


def weight_stats(weights: torch.Tensor, mislabeled: torch.Tensor) -> WeightStats:
    """Mean weight of clean and of mislabeled samples, and the weights' clean-vs-noisy AUROC."""
    w, mis = weights, mislabeled
    return WeightStats(
        float(w[~mis].mean()) if (~mis).any() else None,
        float(w[mis].mean()) if mis.any() else None,
        auroc(w, ~mis),
    )


def weight_histogram(weights: torch.Tensor, mislabeled: torch.Tensor) -> dict[str, list[Any]]:
    """30-bin histograms of the weights of clean and of mislabeled samples, on shared bins."""
    w, mis = weights.cpu(), mislabeled.cpu()
    hi = max(1.0, float(w.max()))
    bins = torch.linspace(0, hi, 31)
    return {
        "bins": [round(float(b), 6) for b in bins],
        "clean": torch.histc(w[~mis], bins=30, min=0, max=hi).int().tolist(),
        "noisy": torch.histc(w[mis], bins=30, min=0, max=hi).int().tolist(),
    }


@dataclass(eq=False)
class RunState:
    """Everything a run holds between its stages (:func:`prepare`, :func:`fit`, :func:`evaluate`).

    Callbacks receive it. The attributes meant for reading are the first ones below; the rest
    is the trainer's working state.

    Attributes:
        config: The resolved configuration (with ``dataset``/``model`` set to what ran).
        method: The training method; ``method.net`` is the evaluated network.
        train_positions: ``int64`` tensor: training-split position -> row of the dataset's
            training set (``batch.index`` holds training-split positions).
        val_positions: The same for the noisy validation split.
        noisy_labels: Labels trained on, for the whole training set (``int64``, CPU).
        clean_labels: Clean labels of the whole training set (``int64``, CPU).
        epoch: Epochs completed; during an epoch, its 0-based index.
        rows: The finished epochs' record rows.
        sample_weights: Last weight the method gave each training-split position (ones for
            unweighted methods; ``has_weights`` says whether the method reports weights).
        data: The dataset.
        noise: The label-noise record (:class:`~noisylabels.noise.NoisyLabels`).
        device: The training device.
        subset_positions: Sorted rows of the training set that ``train_subset`` drew (both
            splits come from them), or None when the run uses the whole training set.
    """

    config: TrainConfig
    method: Any
    train_positions: torch.Tensor
    val_positions: torch.Tensor
    noisy_labels: torch.Tensor
    clean_labels: torch.Tensor
    data: Any
    noise: Any
    device: torch.device
    train: TrainSplit
    val: TrainSplit
    x_test: torch.Tensor
    y_test: torch.Tensor
    norm: Normalizer
    augment: str
    source: CropFlipSource | RowSource | None
    optimizer: torch.optim.Optimizer
    scheduler: Any
    order_gen: torch.Generator
    aug_gen: torch.Generator
    global_rng: torch.Tensor
    model_name: str
    steps_per_epoch: int
    sample_weights: torch.Tensor
    started_at: str
    t_start: float
    epoch: int = 0
    global_step: int = 0
    rows: list[EpochRow] = field(default_factory=list)
    has_weights: bool = False
    train_time: float = 0.0
    eval_time: float = 0.0
    last_test_eval_s: float = 0.0
    best_val_so_far: float = -math.inf
    kept_state: dict[str, torch.Tensor] | None = None
    label_edit: dict[str, Any] | None = None
    subset_positions: torch.Tensor | None = None
    batch_noise: Any = None

    def autocast(self) -> Any:
        """bf16 autocast on CUDA when ``config.amp`` is set; a no-op context otherwise."""
        enabled = self.config.amp and self.device.type == "cuda"
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=enabled)

    @property
    def num_train(self) -> int:
        """Size of the training split."""
        return int(self.train.x.shape[0])


@contextlib.contextmanager
def _run_rng(run: RunState) -> Iterator[None]:
    """The run's own global-RNG stream: restored on entry, saved on exit, caller's left alone.

    Library modules may draw from torch's global generator (a user model's dropout), so the
    run carries that state from stage to stage (and into checkpoints) instead of sharing the
    caller's.
    """
    with torch.random.fork_rng(devices=[]):
        torch.random.set_rng_state(run.global_rng)
        try:
            yield
        finally:
            run.global_rng = torch.random.get_rng_state()


def _check_dataset(dataset: Any) -> None:
    needed = ("x_train", "y_train", "x_test", "y_test", "classes", "mean", "std", "name")
    missing = [a for a in needed if not hasattr(dataset, a)]
    if missing:
        raise UsageError(
            f"dataset= needs a dataset object as noisylabels.data.load_dataset returns; "
            f"{type(dataset).__name__} lacks {', '.join(missing)}"
        )


def _copy_network(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """A copy of ``model`` re-initialised from ``seed`` (every submodule's reset_parameters)."""
    net = copy.deepcopy(model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for m in net.modules():
            reset = getattr(m, "reset_parameters", None)
            if callable(reset):
                reset()
    return net


def noisy_labels_for(config: TrainConfig, data: Any) -> Any:
    """The :class:`~noisylabels.noise.NoisyLabels` a run of ``config`` trains ``data`` on.

    The spec is parsed once here; its seed is ``noise_seed`` (default: the run's seed). The class
    map and the CIFAR-10N label file come from the data side (``data.asymmetric_map``,
    :func:`~noisylabels.data.cifar10n_file`), never from the dataset's name.
    """
    from noisylabels.data import cifar10n_file
    from noisylabels.noise import NoiseSpec, corrupt, noise_file

    noise_seed = config.seed if config.noise_seed is None else config.noise_seed
    spec: Any = config.noise
    if noise_file(config.noise) is None:
        spec = NoiseSpec.parse(config.noise, sampling=config.noise_sampling, seed=noise_seed)
    # Instance-dependent noise reads the inputs as stored (images: raw 0-255 pixel values).
    features = data.x_train if getattr(spec, "kind", None) == "instance" else None
    human = getattr(spec, "kind", "").startswith("cifar10n")
    return corrupt(
        data.y_train.cpu().numpy(),
        spec,
        num_classes=data.num_classes,
        dataset=config.dataset,
        features=features,
        seed=noise_seed,
        root=config.data_root,
        class_map=getattr(data, "asymmetric_map", None),
        label_file=cifar10n_file(config.data_root) if human else None,
    )


def stratified_subset(labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Sorted rows of a class-stratified random subset of ``size`` of ``labels``' samples.

    Class ``c`` of ``n_c`` samples gets ``floor(size * n_c / n)`` rows, and the remaining rows
    go one each to the classes with the largest remainders (ties: lower class first), so the
    subset keeps the class proportions to within one sample. The rows of each class are the
    first of a permutation drawn with ``numpy.random.default_rng(seed)``, one class after another.

    Example:
        >>> stratified_subset(np.array([0, 0, 0, 0, 1, 1, 1, 1]), 4, seed=0).size
        4
    """
    y = np.asarray(labels, dtype=np.int64)
    counts = np.bincount(y)
    quota = size * counts / len(y)
    take = np.floor(quota).astype(np.int64)
    extra = np.argsort(-(quota - take), kind="stable")[: size - int(take.sum())]
    take[extra] += 1
    rng = np.random.default_rng(seed)
    rows = [rng.permutation(np.flatnonzero(y == c))[: take[c]] for c in range(len(counts))]
    return np.sort(np.concatenate(rows)) if rows else np.empty(0, dtype=np.int64)


def subset_rows(config: TrainConfig, data: Any) -> np.ndarray | None:
    """Rows of ``data``'s training set that a run of ``config`` uses (None: all of them).

    With ``config.train_subset`` N: :func:`stratified_subset` of the dataset's (clean) labels
    with ``config.subset_seed``.

    Raises:
        UsageError: N below twice the number of classes or above the training-set size.
    """
    n = config.train_subset
    if n is None:
        return None
    check_subset_size(n, len(data.y_train), data.num_classes, config.dataset)
    return stratified_subset(data.y_train.cpu().numpy(), n, config.subset_seed)


def check_subset_size(n: int, n_train: int, num_classes: int, dataset: str) -> None:
    """Raise :class:`UsageError` unless ``2 * num_classes <= n <= n_train``."""
    if not 2 * num_classes <= n <= n_train:
        raise UsageError(
            f"train_subset={n} is outside {2 * num_classes}..{n_train} for {dataset} "
            f"({num_classes} classes, {n_train} training samples): give at least 2 samples "
            "per class and at most the training set"
        )


def batch_noise_for(config: TrainConfig, data: Any) -> Any:
    """The per-batch label corruption of ``batch_noise`` (a ``ReseededBatchNoise``).

    Raises:
        UsageError: A noise kind that cannot be re-applied per batch, or a noise file.
    """
    from noisylabels.noise import NoiseSpec, noise_file
    from noisylabels.noise.batch import ReseededBatchNoise

    if noise_file(config.noise) is not None:
        raise UsageError(
            f"batch_noise={config.batch_noise!r} re-applies noise to every batch; a noise file "
            "fixes one label per sample: drop batch_noise or use noise uniform:RATE"
        )
    spec = NoiseSpec.parse(config.noise, sampling=config.noise_sampling)
    seed = config.seed if config.noise_seed is None else config.noise_seed
    return ReseededBatchNoise(
        spec.kind,
        float(spec.rate or 0.0),
        num_classes=data.num_classes,
        seed=seed,
        class_map=getattr(data, "asymmetric_map", None),
    )


def prepare(
    config: TrainConfig,
    *,
    dataset: Any = None,
    model: torch.nn.Module | None = None,
) -> RunState:
    """Stage 1: data, label noise, split, augmentation, method, optimiser and schedule.

    Args:
        config: The configuration.
        dataset: A dataset object (as :func:`noisylabels.data.load_dataset` returns) used
            instead of loading ``config.dataset``; the record's ``config.dataset`` becomes its
            name.
        model: A module used as the (first) network instead of building ``config.model``;
            methods with two networks (co-teaching) train a copy re-initialised from the seed
            as the second. It is trained in place. The record's ``data.model`` is its class name.

    Returns:
        The :class:`RunState`, at epoch 0.
    """
    # Imported here: these packages import torch-heavy modules and are only needed for a run.
    from noisylabels.data import load_dataset
    from noisylabels.methods import build_method
    from noisylabels.methods.base import MethodContext
    from noisylabels.models import auto_model, get_model

    validate(config)
    cfg = config
    if dataset is not None:
        _check_dataset(dataset)
        cfg = cfg.replace(dataset=str(dataset.name))
    if model is not None:
        if not isinstance(model, torch.nn.Module):
            raise UsageError(f"model= must be a torch.nn.Module, got {type(model).__name__}")
        cfg = cfg.replace(model=type(model).__name__)
    t_start = time.perf_counter()
    started_at = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    device = resolve_device(cfg.device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)  # seeds the default init of new modules only

        data = dataset if dataset is not None else load_dataset(
            cfg.dataset, root=cfg.data_root, **cfg.dataset_options
        )
        k = data.num_classes
        batch_noise = None
        if cfg.batch_noise != "off":
            # The split keeps clean labels; the noise is applied to every batch instead.
            batch_noise = batch_noise_for(cfg, data)
            noisy = noisy_labels_for(cfg.replace(noise="clean"), data)
        else:
            noisy = noisy_labels_for(cfg, data)
        y_noisy = torch.as_tensor(np.asarray(noisy.noisy_labels), dtype=torch.long)
        y_clean = data.y_train.long()
        label_edit = None
        keep = None
        if cfg.exclude or cfg.relabel:  # a detection's issues file: drop or relabel samples
            from noisylabels.detect.edit import edit_from_config

            keep_np, edited, label_edit = edit_from_config(cfg, y_noisy.numpy(), num_classes=k)
            y_noisy, keep = torch.as_tensor(edited), torch.as_tensor(keep_np)
        mislabeled = y_noisy != y_clean
        if label_edit is not None:
            label_edit["num_wrong_left"] = int(mislabeled[keep].sum())

        # The noisy labels above are those of the whole training set, so a subset keeps them.
        subset_np = subset_rows(cfg, data)
        subset = None if subset_np is None else torch.as_tensor(subset_np, dtype=torch.long)
        n_pool = len(y_clean) if subset is None else len(subset)

        # Noisy validation split: the honest basis for model selection (it carries the noise).
        split_gen = torch.Generator().manual_seed(cfg.seed + 1_000_003)
        perm = torch.randperm(n_pool, generator=split_gen)
        if subset is not None:
            perm = subset[perm]
        n_val = int(round(cfg.val_fraction * n_pool))
        val_idx, tr_idx = perm[:n_val].sort().values, perm[n_val:].sort().values
        if keep is not None:  # excluded samples leave both splits; positions stay dataset rows
            val_idx, tr_idx = val_idx[keep[val_idx]], tr_idx[keep[tr_idx]]
        if len(tr_idx) == 0:
            raise UsageError(f"val_fraction={cfg.val_fraction} leaves no training samples")

        def take(idx: torch.Tensor) -> TrainSplit:
            return TrainSplit(
                data.x_train[idx].to(device),
                y_noisy[idx].to(device),
                y_clean[idx].to(device),
                mislabeled[idx].to(device),
            )

        train, val = take(tr_idx), take(val_idx)
        x_test, y_test = data.x_test.to(device), data.y_test.long().to(device)

        if cfg.normalization == "imagenet" and data.is_image and data.input_shape[0] == 3:
            mean, std = IMAGENET_MEAN, IMAGENET_STD
        else:
            mean, std = data.mean, data.std
        aug = cfg.augment
        if aug == "auto":  # the dataset's own default, else the rule by input shape
            aug = getattr(data, "default_augment", None) or (
                "crop+flip" if data.is_image and tuple(data.input_shape[1:]) == (32, 32) else "none"
            )
        if aug != "none" and not data.is_image:
            raise UsageError(f"augment={aug!r} needs image data; {cfg.dataset} has feature vectors")

        n_train = train.x.shape[0]
        steps_per_epoch = math.ceil(n_train / cfg.batch_size)
        ctx = MethodContext(
            num_classes=k,
            num_train=n_train,
            num_epochs=cfg.epochs,
            steps_per_epoch=steps_per_epoch,
            # The expected share of wrong labels (uniform:0.9 on 10 classes: 0.81), which is
            # what co-teaching's default forget rate must match; also defined for human noise.
            noise_rate=float(noisy.expected_rate),
            seed=cfg.seed,
            device=device,
        )
        if model is not None:
            model_name = type(model).__name__
        else:
            model_name = cfg.model if cfg.model != "auto" else (
                getattr(data, "default_model", None) or auto_model(data.input_shape)
            )
        n_built = 0

        def make_network() -> torch.nn.Module:
            # Each call gets its own init seed: co-teaching's two networks must start apart.
            nonlocal n_built
            n_built += 1
            seed = cfg.seed + 7919 * (n_built - 1)
            if model is not None:
                return model if n_built == 1 else _copy_network(model, seed)
            return get_model(model_name, data.input_shape, k, seed=seed)

        method = build_method(cfg.method_spec, ctx, make_network).to(device)
        # Conv nets train 20-40% faster on CPU in channels-last layout (same arithmetic).
        channels_last = data.is_image and any(
            isinstance(m, torch.nn.Conv2d) for m in method.modules()
        )
        if channels_last:
            method = method.to(memory_format=torch.channels_last)
            # Stored uint8 images in the same layout: normalising a batch is then one pass with
            # no re-layout copy.
            train.x, val.x = (
                s.x.contiguous(memory_format=torch.channels_last) for s in (train, val)
            )
            x_test = x_test.contiguous(memory_format=torch.channels_last)
        norm = Normalizer(mean, std, device, image=data.is_image, channels_last=channels_last)
        opt = _optimizer(cfg, method.parameters())
        sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(cfg, steps_per_epoch))
        order_gen = torch.Generator().manual_seed(cfg.seed + 2_000_003)
        aug_gen = torch.Generator().manual_seed(cfg.seed + 3_000_017)
        # Image batches are one gather from a prepared table (one op, not slice+pad+crop+flip).
        source = batch_source(train.x, aug)
        global_rng = torch.random.get_rng_state()
    return RunState(
        config=cfg,
        method=method,
        train_positions=tr_idx,
        val_positions=val_idx,
        noisy_labels=y_noisy,
        clean_labels=y_clean.cpu(),
        data=data,
        noise=noisy,
        device=device,
        train=train,
        val=val,
        x_test=x_test,
        y_test=y_test,
        norm=norm,
        augment=aug,
        source=source,
        optimizer=opt,
        scheduler=sched,
        order_gen=order_gen,
        aug_gen=aug_gen,
        global_rng=global_rng,
        model_name=model_name,
        steps_per_epoch=steps_per_epoch,
        sample_weights=torch.ones(n_train, device=device),
        started_at=started_at,
        t_start=t_start,
        label_edit=label_edit,
        subset_positions=subset,
        batch_noise=batch_noise,
    )


def _score_test(run: RunState) -> float:
    cfg = run.config
    return _evaluate(
        run.method.net, run.x_test, run.y_test, run.norm, cfg.eval_batch_size, run.autocast
    )[0]


def fit(run: RunState, callbacks: Iterable[Callback] = ()) -> RunState:
    """Stage 2: train from epoch ``run.epoch`` to ``config.epochs``, evaluating every epoch.

    Each epoch: the method's epoch hooks, one pass over the training split in seeded order,
    noisy-validation accuracy (and test accuracy with ``test_eval=every_epoch``), then the
    epoch's :class:`~noisylabels.train.record.EpochRow` goes to the callbacks.

    Raises:
        NonFiniteLossError: The loss became NaN or infinite (names the epoch and step).
    """
    from noisylabels.methods.base import Batch, StepOutput, StepState

    cbs = callbacks if isinstance(callbacks, CallbackList) else CallbackList(callbacks)
    cfg, method, device = run.config, run.method, run.device
    train, val = run.train, run.val
    n_train = run.num_train
    steps_per_epoch = run.steps_per_epoch
    test_every_epoch = cfg.test_eval == "every_epoch"
    on_batch = None
    if cbs.batch_callbacks:

        def on_batch(batch: Batch, out: StepOutput, state: StepState) -> None:
            cbs.on_batch_end(run, batch, out, state)

    with _run_rng(run):
        cbs.on_train_start(run)
        while run.epoch < cfg.epochs:
            epoch = run.epoch
            state = StepState(epoch, run.global_step, cfg.epochs, steps_per_epoch)
            method.train()
            method.on_epoch_start(state)
            if cfg.batch_noise == "reseeded-repeat-order" and epoch >= 1:
                # Every epoch after the first draws the same order (see TrainConfig.batch_noise).
                run.order_gen.manual_seed(cfg.seed + 2_000_004)
            t0 = time.perf_counter()
            stats = train_one_epoch(
                method,
                run.optimizer,
                run.scheduler,
                train,
                run.norm,
                run.augment,
                cfg.batch_size,
                epoch,
                run.global_step,
                run.order_gen,
                run.aug_gen,
                run.autocast,
                cfg.grad_clip,
                run.sample_weights,
                cfg.epochs,
                run.source,
                on_batch_end=on_batch,
                relabel=run.batch_noise,
            )
            run.global_step += steps_per_epoch
            run.has_weights = run.has_weights or stats.has_weights
            method.on_epoch_end(StepState(epoch, run.global_step, cfg.epochs, steps_per_epoch))
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            t_train = time.perf_counter() - t0
            run.train_time += t_train

            t1 = time.perf_counter()
            val_acc, _ = _evaluate(
                method.net, val.x, val.y, run.norm, cfg.eval_batch_size, run.autocast
            )
            test_acc: float | None = None
            if test_every_epoch:
                t2 = time.perf_counter()
                test_acc = _score_test(run)
                run.last_test_eval_s = time.perf_counter() - t2
            elif not math.isnan(val_acc) and val_acc >= run.best_val_so_far:
                # This epoch is the selection so far (ties go to the later epoch, as in
                # evaluate): keep its weights unless it is the last epoch, whose model is still
                # in hand at the end.
                run.best_val_so_far = val_acc
                if epoch < cfg.epochs - 1:
                    run.kept_state = {
                        n: t.detach().clone() for n, t in method.net.state_dict().items()
                    }
            t3 = time.perf_counter()
            run.eval_time += t3 - t1

            n_mis = int(train.mislabeled.sum())
            row = EpochRow(
                epoch=epoch + 1,
                lr=stats.lr,
                train_loss=float(stats.loss_sum) / n_train,
                train_acc_noisy=int(stats.correct_noisy) / n_train,
                train_acc_clean=int(stats.correct_clean) / n_train,
                memorization=int(stats.memorized) / n_mis if n_mis else None,
                val_acc_noisy=None if math.isnan(val_acc) else val_acc,
                test_acc=test_acc,
                time_s=t_train,
                eval_time_s=t3 - t1,
                weights=(
                    weight_stats(run.sample_weights, train.mislabeled) if run.has_weights else None
                ),
            )
            run.rows.append(row)
            run.epoch = epoch + 1
            cbs.on_epoch_end(run, row)
    return run


def evaluate(run: RunState, callbacks: Iterable[Callback] = ()) -> dict[str, Any]:
    """Stage 3: model selection, final test scores and the run's JSON record.

    The selected epoch is the one with the best noisy-validation accuracy (the last among
    ties); without a validation split it is the last epoch. With ``test_eval=selected`` the
    last model and the kept weights of the selected epoch are scored here.

    Returns:
        The record (see :mod:`noisylabels.train.record`); the callbacks' ``on_train_end`` get it.
    """
    cbs = callbacks if isinstance(callbacks, CallbackList) else CallbackList(callbacks)
    cfg = run.config
    if run.epoch < cfg.epochs:
        raise UsageError(f"evaluate() needs a finished run: {run.epoch} of {cfg.epochs} epochs")
    test_every_epoch = cfg.test_eval == "every_epoch"
    rows = run.rows
    with _run_rng(run):
        vals = [r.val_acc_noisy for r in rows]
        if all(v is not None for v in vals):
            # Last epoch among ties: later models have seen more data at the same accuracy.
            best_val = max(vals)  # type: ignore[type-var]
            sel = max(i for i, v in enumerate(vals) if v == best_val)
        else:
            sel = len(rows) - 1
        if not test_every_epoch:
            # Score the last model, then the kept weights of the selected epoch (if another
            # one: its weights were kept when it reached the best noisy-validation accuracy).
            t2 = time.perf_counter()
            rows[-1] = dataclasses.replace(rows[-1], test_acc=_score_test(run))
            run.last_test_eval_s = time.perf_counter() - t2
            if sel != len(rows) - 1:
                assert run.kept_state is not None
                run.method.net.load_state_dict(run.kept_state)
                rows[sel] = dataclasses.replace(rows[sel], test_acc=_score_test(run))
            run.eval_time += time.perf_counter() - t2
    test_accs = [r.test_acc for r in rows]
    weights_hist = None
    if run.has_weights:
        weights_hist = weight_histogram(run.sample_weights, run.train.mislabeled)
    noisy = run.noise
    n_test = run.x_test.shape[0]
    subset_noise: dict[str, Any] = {}
    if run.subset_positions is not None:
        wrong = (run.noisy_labels != run.clean_labels)[run.subset_positions]
        subset_noise = {
            "realised_rate_subset": float(wrong.double().mean()),
            "num_noisy_subset": int(wrong.sum()),
        }
    noise_summary = NoiseSummary(
        spec=str(noisy.spec),
        kind=getattr(noisy.spec, "kind", None),
        rate=_noise_rate(noisy.spec),
        sampling=getattr(noisy.spec, "sampling", cfg.noise_sampling),
        realised_rate=float(noisy.realised_rate),
        realised_rate_train=float(run.train.mislabeled.float().mean()),
        num_noisy=int((run.noisy_labels != run.clean_labels).sum()),
        **subset_noise,
    )
    if run.batch_noise is not None:
        # Labels change batch by batch: the rates are those of one pass over the training
        # split in its stored order, in batches of the run's size.
        bn = run.batch_noise
        share, changed = bn.realised_rate(run.train.clean, cfg.batch_size)
        noise_summary = NoiseSummary(
            spec=cfg.noise,
            kind=bn.kind,
            rate=bn.rate,
            sampling=f"batch_noise {cfg.batch_noise}",
            realised_rate=share,
            realised_rate_train=share,
            num_noisy=changed,
        )
    record = RunRecord(
        schema=SCHEMA_VERSION,
        run_id=run_id(cfg),
        status="ok",
        error=None,
        config=cfg.to_dict(),
        method_hparams=_jsonable(run.method.hparams()),
        versions=versions(),
        device=device_description(run.device),
        noise=noise_summary,
        data=DataSummary(
            source=portable_source(run.data.source),
            num_train=run.num_train,
            num_val=int(run.val.x.shape[0]),
            num_test=n_test,
            num_classes=run.data.num_classes,
            augment=run.augment,
            model=run.model_name,
            num_subset=None if run.subset_positions is None else len(run.subset_positions),
        ),
        epochs=tuple(rows),
        final=FinalScores(
            test_acc_last=test_accs[-1],  # type: ignore[arg-type]
            test_acc_selected=test_accs[sel],  # type: ignore[arg-type]
            selected_epoch=sel + 1,
            test_acc_best=max(test_accs) if test_every_epoch else None,  # type: ignore
            train_time_s=run.train_time,
            eval_time_s=run.eval_time,
            inference_ms_per_1000=1000.0 * run.last_test_eval_s / max(1, n_test) * 1000.0,
        ),
        weights=weights_hist,
        started_at=run.started_at,
        wall_time_s=time.perf_counter() - run.t_start,
    ).to_json()
    if run.label_edit is not None:
        record["label_edit"] = run.label_edit
    with _run_rng(run):
        cbs.on_train_end(run, record)
    return record


def run(
    config: TrainConfig,
    *,
    callbacks: Iterable[Callback] = (),
    dataset: Any = None,
    model: torch.nn.Module | None = None,
    progress: bool = False,
    log: Log | None = None,
    resume: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Train one configuration and return its JSON-serialisable record.

    The three stages :func:`prepare`, :func:`fit` and :func:`evaluate` in one call. See
    :mod:`noisylabels.train.record` for the record's fields.

    Args:
        config: The resolved configuration.
        callbacks: :class:`~noisylabels.train.callbacks.Callback` objects, called in order.
        dataset: A dataset object used instead of loading ``config.dataset``
            (see :func:`prepare`).
        model: A module used as the (first) network instead of ``config.model``.
        progress: Show a progress bar over epochs (stderr).
        log: Called with one line per epoch (e.g. ``print``); None for silence.
        resume: A checkpoint folder (or file) written by
            :class:`~noisylabels.train.checkpoint.Checkpoint` for this config: training goes
            on from its epoch, and the record equals the uninterrupted run's (timings aside).

    Raises:
        UsageError: Bad configuration (unknown dataset, model, method, noise spec...), or a
            checkpoint of another configuration.
        NonFiniteLossError: The loss became NaN or infinite (names the epoch and step).

    Example:
        >>> from noisylabels.train import TrainConfig, run
        >>> rec = run(TrainConfig(dataset="moons", noise="symmetric:0.2", epochs=1))
        >>> rec["status"], 0.0 <= rec["final"]["test_acc_last"] <= 1.0
        ('ok', True)
    """
    from noisylabels.train.allocator import tune_allocator

    validate(config)
    tune_allocator()
    cbs = list(callbacks)
    bar = ProgressBar() if progress else None
    if log is not None:
        cbs.append(EpochLog(log))
    if bar is not None:
        cbs.append(bar)
    all_cbs = CallbackList(cbs)
    try:
        state = prepare(config, dataset=dataset, model=model)
        if resume is not None:
            from noisylabels.train.checkpoint import load_checkpoint

            load_checkpoint(state, resume)
        fit(state, all_cbs)
        return evaluate(state, all_cbs)
    finally:
        if bar is not None:
            bar.close()


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, v in d.items():
        if isinstance(v, (int, float, str, bool)) or v is None:
            out[key] = v
        elif isinstance(v, (list, tuple)):
            out[key] = [x if isinstance(x, (int, float, str, bool)) else str(x) for x in v]
        else:
            out[key] = str(v)
    return out
