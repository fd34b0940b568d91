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

import datetime as _dt
import hashlib
import json
import math
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
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
from noisylabels.train.config import TrainConfig, validate
from noisylabels.train.record import SCHEMA_VERSION

Log = Callable[[str], None]


# Config fields added after results were first published, left out of the id while they hold
# their default so that older records keep their ids (and sweeps resume over them).
_ID_OMIT_AT_DEFAULT = {"test_eval": "every_epoch"}


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


def auroc(scores: torch.Tensor, positive: torch.Tensor) -> float | None:
    """Area under the ROC curve of ``scores`` for telling ``positive`` from the rest.

    Rank-based (Mann-Whitney U) with average ranks for ties; None when a class is empty.
    """
    pos = positive.bool()
    n_pos = int(pos.sum())
    n_neg = pos.numel() - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    s = scores.double().cpu().numpy()
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    # Average ranks over tied runs.
    _, first, counts = np.unique(sorted_s, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(avg, counts)
    u = ranks[pos.cpu().numpy()].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


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
    weights_out: torch.Tensor,
    num_epochs: int,
    source: CropFlipSource | RowSource | None = None,
) -> EpochStats:
    """One pass over ``train`` in seeded random order: slice, augment, normalise, step.

    Per-sample weights the method reports are written into ``weights_out`` by dataset index.
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
        batch = Batch(norm(xb), train.y[idx], idx)
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
                weights_out[idx] = out.weights.detach().float()
    return stats


def _lr_lambda(cfg: TrainConfig, steps_per_epoch: int) -> Callable[[int], float]:
    total = cfg.epochs * steps_per_epoch
    if cfg.schedule == "constant":
        return lambda s: 1.0
    if cfg.schedule == "cosine":
        return lambda s: 0.5 * (1.0 + math.cos(math.pi * min(s, total) / total))
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


def run(config: TrainConfig, *, progress: bool = False, log: Log | None = None) -> dict[str, Any]:
    """Train one configuration and return its JSON-serialisable record.

    See :mod:`noisylabels.train.record` for the record's fields.

    Args:
        config: The resolved configuration.
        progress: Show a progress bar over epochs (stderr).
        log: Called with one line per epoch (e.g. ``print``); None for silence.

    Raises:
        UsageError: Bad configuration (unknown dataset, model, method, noise spec...).
        NonFiniteLossError: The loss became NaN or infinite (names the epoch and step).

    Example:
        >>> from noisylabels.train import TrainConfig, run
        >>> rec = run(TrainConfig(dataset="moons", noise="symmetric:0.2", epochs=1))
        >>> rec["status"], 0.0 <= rec["final"]["test_acc_last"] <= 1.0
        ('ok', True)
    """
    validate(config)
    with torch.random.fork_rng(devices=[]):
        return _run(config, progress=progress, log=log)


def _run(cfg: TrainConfig, *, progress: bool, log: Log | None) -> dict[str, Any]:
    # Imported here: these packages import torch-heavy modules and are only needed for a run.
    from noisylabels.data import load_dataset
    from noisylabels.methods import build_method
    from noisylabels.methods.base import MethodContext, StepState
    from noisylabels.models import auto_model, get_model
    from noisylabels.noise import NoiseSpec, corrupt
    from noisylabels.train.allocator import tune_allocator

    t_start = time.perf_counter()
    tune_allocator()
    started_at = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)  # inside fork_rng: seeds the default init of new modules only

    data = load_dataset(cfg.dataset, root=cfg.data_root)
    k = data.num_classes
    y_all = data.y_train.cpu().numpy()
    noise_seed = cfg.seed if cfg.noise_seed is None else cfg.noise_seed
    spec: Any = cfg.noise
    if not cfg.noise.lower().startswith("file:"):
        spec = NoiseSpec.parse(cfg.noise, sampling=cfg.noise_sampling, seed=noise_seed)
    # Instance-dependent noise reads the inputs; corrupt() standardises them class by class.
    features = data.x_train if getattr(spec, "kind", None) == "instance" else None
    noisy = corrupt(
        y_all,
        spec,
        num_classes=k,
        dataset=cfg.dataset,
        features=features,
        seed=noise_seed,
        root=cfg.data_root,
    )
    y_noisy = torch.as_tensor(np.asarray(noisy.noisy_labels), dtype=torch.long)
    y_clean = data.y_train.long()
    mislabeled = y_noisy != y_clean

    # Noisy validation split: the honest basis for model selection (it carries the same noise).
    split_gen = torch.Generator().manual_seed(cfg.seed + 1_000_003)
    perm = torch.randperm(len(y_clean), generator=split_gen)
    n_val = int(round(cfg.val_fraction * len(y_clean)))
    val_idx, tr_idx = perm[:n_val].sort().values, perm[n_val:].sort().values
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
    if aug == "auto":
        aug = "crop+flip" if data.is_image and tuple(data.input_shape[1:]) == (32, 32) else "none"
    if aug != "none" and not data.is_image:
        raise UsageError(f"augment={aug!r} needs image data; {cfg.dataset} has feature vectors")

    n_train = train.x.shape[0]
    steps_per_epoch = math.ceil(n_train / cfg.batch_size)
    ctx = MethodContext(
        num_classes=k,
        num_train=n_train,
        num_epochs=cfg.epochs,
        steps_per_epoch=steps_per_epoch,
        # The expected share of wrong labels (uniform:0.9 on 10 classes: 0.81), which is what
        # co-teaching's default forget rate must match; also defined for human noise.
        noise_rate=float(noisy.expected_rate),
        seed=cfg.seed,
        device=device,
    )
    model_name = cfg.model
    n_built = 0

    def make_network() -> torch.nn.Module:
        # Each call gets its own init seed: co-teaching's two networks must start apart.
        nonlocal n_built
        n_built += 1
        return get_model(model_name, data.input_shape, k, seed=cfg.seed + 7919 * (n_built - 1))

    method = build_method(cfg.method, ctx, make_network, **dict(cfg.method_params)).to(device)
    # Conv nets train 20-40% faster on this CPU in channels-last layout (same arithmetic).
    channels_last = data.is_image and any(isinstance(m, torch.nn.Conv2d) for m in method.modules())
    if channels_last:
        method = method.to(memory_format=torch.channels_last)
        # Stored uint8 images in the same layout: normalising a batch is then one pass with no
        # re-layout copy.
        train.x, val.x = (s.x.contiguous(memory_format=torch.channels_last) for s in (train, val))
        x_test = x_test.contiguous(memory_format=torch.channels_last)
    norm = Normalizer(mean, std, device, image=data.is_image, channels_last=channels_last)
    opt = _optimizer(cfg, method.parameters())
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(cfg, steps_per_epoch))
    use_amp = cfg.amp and device.type == "cuda"

    def autocast() -> Any:
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_amp)

    order_gen = torch.Generator().manual_seed(cfg.seed + 2_000_003)
    aug_gen = torch.Generator().manual_seed(cfg.seed + 3_000_017)
    # Image batches are one gather from a prepared table (one op instead of slice+pad+crop+flip).
    source = batch_source(train.x, aug)

    epochs: list[dict[str, Any]] = []
    weights_all = torch.ones(n_train, device=device)
    has_weights = False
    train_time = eval_time = 0.0
    last_test_eval_s = 0.0
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=cfg.epochs, desc=f"{cfg.method} {cfg.noise}", unit="epoch", leave=False)

    def score_test() -> float:
        return _evaluate(method.net, x_test, y_test, norm, cfg.eval_batch_size, autocast)[0]

    test_every_epoch = cfg.test_eval == "every_epoch"
    best_val_so_far = -math.inf
    kept_state: dict[str, torch.Tensor] | None = None
    global_step = 0
    for epoch in range(cfg.epochs):
        state = StepState(epoch, global_step, cfg.epochs, steps_per_epoch)
        method.train()
        method.on_epoch_start(state)
        t0 = time.perf_counter()
        stats = train_one_epoch(
            method,
            opt,
            sched,
            train,
            norm,
            aug,
            cfg.batch_size,
            epoch,
            global_step,
            order_gen,
            aug_gen,
            autocast,
            cfg.grad_clip,
            weights_all,
            cfg.epochs,
            source,
        )
        global_step += steps_per_epoch
        has_weights = has_weights or stats.has_weights
        lr_epoch = stats.lr
        method.on_epoch_end(StepState(epoch, global_step, cfg.epochs, steps_per_epoch))
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t_train = time.perf_counter() - t0
        train_time += t_train

        t1 = time.perf_counter()
        val_acc, _ = _evaluate(method.net, val.x, val.y, norm, cfg.eval_batch_size, autocast)
        test_acc: float | None = None
        if test_every_epoch:
            t2 = time.perf_counter()
            test_acc = score_test()
            last_test_eval_s = time.perf_counter() - t2
        elif not math.isnan(val_acc) and val_acc >= best_val_so_far:
            # This epoch is the selection so far (ties go to the later epoch, as below): keep its
            # weights unless it is the last epoch, whose model is still in hand at the end.
            best_val_so_far = val_acc
            if epoch < cfg.epochs - 1:
                kept_state = {n: t.detach().clone() for n, t in method.net.state_dict().items()}
        t3 = time.perf_counter()
        eval_time += t3 - t1

        n_mis = int(train.mislabeled.sum())
        row: dict[str, Any] = {
            "epoch": epoch + 1,
            "lr": lr_epoch,
            "train_loss": float(stats.loss_sum) / n_train,
            "train_acc_noisy": int(stats.correct_noisy) / n_train,
            "train_acc_clean": int(stats.correct_clean) / n_train,
            "memorization": int(stats.memorized) / n_mis if n_mis else None,
            "val_acc_noisy": None if math.isnan(val_acc) else val_acc,
            "test_acc": test_acc,
            "time_s": t_train,
            "eval_time_s": t3 - t1,
        }
        if has_weights:
            w, mis = weights_all, train.mislabeled
            row["weight_mean_clean"] = float(w[~mis].mean()) if (~mis).any() else None
            row["weight_mean_noisy"] = float(w[mis].mean()) if mis.any() else None
            row["weight_auroc"] = auroc(w, ~mis)
        epochs.append(row)
        if log is not None:
            log(_epoch_line(row, cfg.epochs))
        if bar is not None:
            bar.update(1)
            shown = {"val": f"{row['val_acc_noisy'] or 0:.3f}"}
            if test_acc is not None:
                shown["test"] = f"{test_acc:.3f}"
            bar.set_postfix(shown)
    if bar is not None:
        bar.close()

    vals = [r["val_acc_noisy"] for r in epochs]
    if all(v is not None for v in vals):
        # Last epoch among the ties: later models have seen more data at the same noisy accuracy.
        best_val = max(vals)
        sel = max(i for i, v in enumerate(vals) if v == best_val)
    else:
        sel = len(epochs) - 1
    if not test_every_epoch:
        # Score the last model, then the kept weights of the selected epoch (if another one:
        # its weights were kept when it reached the best noisy-validation accuracy so far).
        t2 = time.perf_counter()
        epochs[-1]["test_acc"] = score_test()
        last_test_eval_s = time.perf_counter() - t2
        if sel != len(epochs) - 1:
            assert kept_state is not None
            method.net.load_state_dict(kept_state)
            epochs[sel]["test_acc"] = score_test()
        eval_time += time.perf_counter() - t2
    test_accs = [r["test_acc"] for r in epochs]
    weights_hist = None
    if has_weights:
        w = weights_all.cpu()
        mis = train.mislabeled.cpu()
        hi = max(1.0, float(w.max()))
        bins = torch.linspace(0, hi, 31)
        weights_hist = {
            "bins": [round(float(b), 6) for b in bins],
            "clean": torch.histc(w[~mis], bins=30, min=0, max=hi).int().tolist(),
            "noisy": torch.histc(w[mis], bins=30, min=0, max=hi).int().tolist(),
        }
    n_test = x_test.shape[0]
    return {
        "schema": SCHEMA_VERSION,
        "run_id": run_id(cfg),
        "status": "ok",
        "error": None,
        "config": cfg.to_dict(),
        "method_hparams": _jsonable(method.hparams()),
        "versions": versions(),
        "device": device_description(device),
        "noise": {
            "spec": str(noisy.spec),
            "kind": getattr(noisy.spec, "kind", None),
            "rate": _noise_rate(noisy.spec),
            "sampling": getattr(noisy.spec, "sampling", cfg.noise_sampling),
            "realised_rate": float(noisy.realised_rate),
            "realised_rate_train": float(train.mislabeled.float().mean()),
            "num_noisy": int(mislabeled.sum()),
        },
        "data": {
            "source": data.source,
            "num_train": n_train,
            "num_val": int(val.x.shape[0]),
            "num_test": n_test,
            "num_classes": k,
            "augment": aug,
            "model": model_name if model_name != "auto" else auto_model(data.input_shape),
        },
        "epochs": epochs,
        "final": {
            "test_acc_last": test_accs[-1],
            "test_acc_selected": test_accs[sel],
            "selected_epoch": sel + 1,
            "test_acc_best": max(test_accs) if test_every_epoch else None,
            "train_time_s": train_time,
            "eval_time_s": eval_time,
            "inference_ms_per_1000": 1000.0 * last_test_eval_s / max(1, n_test) * 1000.0,
        },
        "weights": weights_hist,
        "started_at": started_at,
        "wall_time_s": time.perf_counter() - t_start,
    }


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


def _epoch_line(r: dict[str, Any], total: int) -> str:
    val = "  -  " if r["val_acc_noisy"] is None else f"{100 * r['val_acc_noisy']:5.2f}"
    test = "" if r["test_acc"] is None else f"test {100 * r['test_acc']:5.2f}%"
    mem = "" if r["memorization"] is None else f" mem {100 * r['memorization']:5.2f}%"
    w = ""
    if r.get("weight_auroc") is not None:
        w = f" w-auroc {r['weight_auroc']:.3f}"
    return (
        f"epoch {r['epoch']:>3}/{total} loss {r['train_loss']:.4f} "
        f"train(noisy) {100 * r['train_acc_noisy']:5.2f}% val(noisy) {val}% "
        f"{test}{mem}{w} ({r['time_s']:.1f}s)"
    )
