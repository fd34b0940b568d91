"""Checkpoints of a running training run, and resuming from one.

A checkpoint is taken at the end of an epoch and holds everything the rest of the run depends
on: the method (its networks and every piece of method state: mixture fits, per-sample loss
memories, co-teaching schedules, the method's own random generators), the optimiser, the
learning-rate schedule, the trainer's random generators (batch order, augmentation, torch's
global generator as the run sees it), the epoch rows so far and the selection bookkeeping. A run
resumed from the checkpoint of epoch k therefore ends with the same record (timings aside) as
the uninterrupted run, on CPU.

Files hold only tensors, numbers, strings and containers of them, and are read with
``torch.load(weights_only=True)``: method objects are rebuilt from their recorded attributes,
and only classes of the ``noisylabels`` package are rebuilt.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from noisylabels.errors import UsageError
from noisylabels.train.callbacks import Callback
from noisylabels.train.record import EpochRow

if TYPE_CHECKING:
    from noisylabels.train.trainer import RunState

FORMAT = 1
FILENAME = "checkpoint.pt"

_SKIP = {"__skip__": True}
# Module attributes that are callables (hooks) or re-derived; never part of the state.
_MODULE_SKIP = {
    "_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks",
    "_state_dict_hooks", "_load_state_dict_pre_hooks", "_load_state_dict_post_hooks",
    "_state_dict_pre_hooks", "_forward_hooks_with_kwargs", "_forward_pre_hooks_with_kwargs",
    "_forward_hooks_always_called", "_non_persistent_buffers_set",
}  # fmt: skip


def _allowed_class(cls: type) -> bool:
    return cls.__module__.split(".")[0] in ("noisylabels", "torch")


def _encode(value: Any, seen: set[int]) -> Any:
    """Value -> tensors, numbers, strings and containers (what ``weights_only`` loads)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, torch.Tensor):
        return value.detach()
    if isinstance(value, torch.Generator):
        return {"__gen__": value.get_state(), "device": str(value.device)}
    if isinstance(value, np.random.Generator):
        return {"__npgen__": value.bit_generator.state}
    if isinstance(value, np.ndarray):
        return {"__np__": torch.from_numpy(np.ascontiguousarray(value))}
    if isinstance(value, np.generic):
        return value.item()
    if id(value) in seen:
        return _SKIP
    if isinstance(value, dict):
        seen.add(id(value))
        items = [[k, _encode(v, seen)] for k, v in value.items() if isinstance(k, (str, int))]
        return {"__dict__": items}
    if isinstance(value, (list, tuple)):
        seen.add(id(value))
        return {"__list__": [_encode(v, seen) for v in value], "tuple": isinstance(value, tuple)}
    cls = type(value)
    if callable(value) and not isinstance(value, torch.nn.Module):
        return _SKIP  # functions, methods, partials: code, not state
    # Any module (a user's network too) is walked; other objects only from these packages.
    if not hasattr(value, "__dict__") or not (
        isinstance(value, torch.nn.Module) or _allowed_class(cls)
    ):
        return _SKIP
    seen.add(id(value))
    attrs = {
        k: _encode(v, seen)
        for k, v in vars(value).items()
        if not (isinstance(value, torch.nn.Module) and k in _MODULE_SKIP)
    }
    return {"__obj__": f"{cls.__module__}:{cls.__qualname__}", "attrs": attrs}


def _class(path: str) -> type:
    module, _, qualname = path.partition(":")
    if module.split(".")[0] != "noisylabels":
        raise UsageError(f"checkpoint holds a {path} object; only noisylabels classes are rebuilt")
    try:
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        obj = None
    # Only a class defined in the package: `noisylabels.x:os.system` names a function.
    if not isinstance(obj, type) or obj.__module__ != module:
        raise UsageError(f"checkpoint holds a {path} object, which is not a noisylabels class")
    return obj


def _decode(enc: Any, target: Any) -> Any:
    """Restore ``enc`` into ``target`` where possible (in place: optimisers keep their params)."""
    if isinstance(enc, torch.Tensor):
        if isinstance(target, torch.nn.Parameter) and target.shape != enc.shape:
            raise UsageError(
                f"a network weight of shape {tuple(enc.shape)} where this run's network has "
                f"{tuple(target.shape)}"
            )
        if (
            isinstance(target, torch.Tensor)
            and target.shape == enc.shape
            and target.dtype == enc.dtype
        ):
            with torch.no_grad():
                target.copy_(enc)
            return target
        return enc.clone()
    if not isinstance(enc, dict):
        return enc
    if enc.get("__skip__"):
        return target
    if "__gen__" in enc:
        gen = target if isinstance(target, torch.Generator) else torch.Generator(enc["device"])
        gen.set_state(enc["__gen__"])
        return gen
    if "__npgen__" in enc:
        state = enc["__npgen__"]
        if isinstance(target, np.random.Generator):
            target.bit_generator.state = state
            return target
        gen = np.random.Generator(getattr(np.random, state["bit_generator"])())
        gen.bit_generator.state = state
        return gen
    if "__np__" in enc:
        return enc["__np__"].numpy().copy()
    if "__dict__" in enc:
        out = target if isinstance(target, dict) else {}
        for k, v in enc["__dict__"]:
            out[k] = _decode(v, out.get(k))
        return out
    if "__list__" in enc:
        old = list(target) if isinstance(target, (list, tuple)) else []
        items = [
            _decode(v, old[i] if i < len(old) else None) for i, v in enumerate(enc["__list__"])
        ]
        if isinstance(target, list) and not enc["tuple"]:
            target[:] = items
            return target
        return tuple(items) if enc["tuple"] else items
    if "__obj__" in enc:
        path = enc["__obj__"]
        cls_path = f"{type(target).__module__}:{type(target).__qualname__}"
        obj = target if target is not None and cls_path == path else None
        if obj is None:
            cls = _class(path)
            obj = cls.__new__(cls)
        for k, v in enc["attrs"].items():
            obj.__dict__[k] = _decode(v, obj.__dict__.get(k))
        return obj
    return enc


def state_of(run: RunState) -> dict[str, Any]:
    """The checkpoint of ``run`` at an epoch boundary (call from ``on_epoch_end``)."""
    from noisylabels.train.trainer import run_id

    rng = {
        # Inside fit the run's global stream is torch's live global generator.
        "global": torch.random.get_rng_state(),
        "order": run.order_gen.get_state(),
        "aug": run.aug_gen.get_state(),
    }
    if run.device.type == "cuda":
        rng["cuda"] = torch.cuda.get_rng_state(run.device)
    return {
        "format": FORMAT,
        "run_id": run_id(run.config),
        "config": run.config.to_dict(),
        "epoch": run.epoch,
        "global_step": run.global_step,
        "rows": [r.to_json() for r in run.rows],
        "has_weights": run.has_weights,
        "train_time": run.train_time,
        "eval_time": run.eval_time,
        "last_test_eval_s": run.last_test_eval_s,
        "best_val_so_far": run.best_val_so_far,
        "kept_state": run.kept_state,
        "sample_weights": run.sample_weights,
        "method": _encode(run.method, set()),
        "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict(),
        "rng": rng,
    }


def save_checkpoint(run: RunState, folder: str | os.PathLike[str]) -> Path:
    """Write ``folder/checkpoint.pt`` atomically (a crash mid-write keeps the previous one)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILENAME
    tmp = folder / (FILENAME + ".tmp")
    torch.save(state_of(run), tmp)
    tmp.replace(path)
    return path


def checkpoint_file(where: str | os.PathLike[str]) -> Path:
    """The checkpoint file of ``where``: ``where/checkpoint.pt`` for a folder, else ``where``.

    Raises:
        UsageError: There is no such regular file.
    """
    p = Path(where).expanduser()
    path = p / FILENAME if p.is_dir() else p
    if not path.is_file():
        raise UsageError(f"no checkpoint at {where}: expected a folder with {FILENAME} or the file")
    return path


def load_checkpoint(run: RunState, where: str | os.PathLike[str]) -> RunState:
    """Put a freshly prepared ``run`` into the state saved in ``where`` (folder or file).

    The file is read with ``torch.load(weights_only=True)``: a file that would run code, a
    truncated file, and one whose content does not fit the run (edited, or of another network)
    are refused with a one-line error, before training goes on.

    Raises:
        UsageError: No checkpoint there, an unreadable or damaged file, or the checkpoint of
            another config.
    """
    from noisylabels.safeload import torch_load
    from noisylabels.train.trainer import run_id

    path = checkpoint_file(where)
    ck = torch_load(path, "checkpoint", map_location=run.device)
    if not isinstance(ck, dict) or ck.get("format") != FORMAT:
        raise UsageError(f"{path} is not a noisylabels checkpoint (format {FORMAT})")
    if ck.get("run_id") != run_id(run.config):
        saved = ck.get("config") if isinstance(ck.get("config"), dict) else {}
        changed = sorted(k for k, v in run.config.to_dict().items() if saved.get(k, v) != v)
        raise UsageError(
            f"checkpoint {path} is of another configuration (run {ck.get('run_id')}); it differs "
            f"in {', '.join(changed) or 'its keys'}: resume with the same settings"
        )
    try:
        _restore(run, ck)
    except (UsageError, KeyError, TypeError, ValueError, RuntimeError, AttributeError,
            IndexError) as e:  # fmt: skip
        text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if isinstance(e, KeyError):
            text = f"no {text}"
        raise UsageError(
            f"checkpoint {path} is damaged or was edited ({text[:160]}); resume from an intact "
            "checkpoint, or train without --resume"
        ) from None
    return run


def _restore(run: RunState, ck: dict[str, Any]) -> None:
    epoch, rows = ck["epoch"], ck["rows"]
    if (
        not isinstance(epoch, int)
        or not 0 <= epoch <= run.config.epochs
        or not isinstance(rows, list)
        or len(rows) != epoch
    ):
        n = len(rows) if isinstance(rows, list) else "no list of"
        raise ValueError(f"epoch {epoch!r} and {n} epoch rows, for a {run.config.epochs}-epoch run")
    if ck["sample_weights"].shape != run.sample_weights.shape:
        raise ValueError(
            f"{tuple(ck['sample_weights'].shape)} sample weights for "
            f"{tuple(run.sample_weights.shape)} training samples"
        )
    _decode(ck["method"], run.method)
    run.optimizer.load_state_dict(ck["optimizer"])
    run.scheduler.load_state_dict(ck["scheduler"])
    run.order_gen.set_state(ck["rng"]["order"].cpu())
    run.aug_gen.set_state(ck["rng"]["aug"].cpu())
    run.global_rng = ck["rng"]["global"].cpu()
    if "cuda" in ck["rng"] and run.device.type == "cuda":
        torch.cuda.set_rng_state(ck["rng"]["cuda"].cpu(), run.device)
    run.epoch = epoch
    run.global_step = int(ck["global_step"])
    run.rows = [EpochRow.from_json(r) for r in rows]
    run.has_weights = bool(ck["has_weights"])
    run.train_time = float(ck["train_time"])
    run.eval_time = float(ck["eval_time"])
    run.last_test_eval_s = ck["last_test_eval_s"]
    run.best_val_so_far = float(ck["best_val_so_far"])
    kept = ck["kept_state"]
    if kept is not None:
        live = run.method.net.state_dict()
        if set(kept) != set(live) or any(kept[k].shape != live[k].shape for k in live):
            raise ValueError("the kept weights of the selected epoch do not fit the network")
    run.kept_state = kept
    run.sample_weights.copy_(ck["sample_weights"])


def check_checkpoint_dir(
    folder: str | os.PathLike[str], resume: Any = None, inputs: Any = ()
) -> Path:
    """Check, before training, that checkpoints can go into ``folder`` and destroy nothing.

    A folder that already holds a ``checkpoint.pt`` is refused unless it is the one being
    resumed: writing there would replace the checkpoint of an earlier (maybe unfinished) run.
    ``inputs`` are the files and folders the run reads (see
    :func:`~noisylabels.outputs.check_output_dir`).
    """
    from noisylabels.outputs import check_output_dir, check_output_file

    p = check_output_dir(folder, inputs=inputs, option="--checkpoint-dir")
    existing = p / FILENAME
    check_output_file(existing, option="--checkpoint-dir")
    if existing.exists() and resume is not None:
        with contextlib.suppress(UsageError):
            if os.path.samefile(checkpoint_file(resume), existing):
                return p
    if existing.exists():
        raise UsageError(
            f"--checkpoint-dir {p} already holds {FILENAME} of an earlier run; go on from it "
            f"with --resume {p}, or choose another folder"
        )
    return p


class Checkpoint(Callback):
    """Save a checkpoint every ``every`` epochs (and after the last) into ``folder``.

    Args:
        folder: Where ``checkpoint.pt`` goes (the latest one replaces the previous).
        every: Epochs between checkpoints.
    """

    def __init__(self, folder: str | os.PathLike[str], every: int = 1) -> None:
        if every < 1:
            raise UsageError(f"checkpoint interval must be >= 1 epoch, got {every}")
        self.folder = Path(folder)
        self.every = every

    def on_epoch_end(self, run: RunState, row: EpochRow) -> None:
        """Save when the epoch count is a multiple of ``every`` or training is done."""
        if run.epoch % self.every == 0 or run.epoch == run.config.epochs:
            save_checkpoint(run, self.folder)
