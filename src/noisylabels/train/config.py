"""Typed, frozen training configuration.

Precedence: dataclass defaults < YAML file < command-line flags. The resolved config is saved
with every run record, so a record alone says how to reproduce it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from noisylabels.errors import UsageError
from noisylabels.params import split_method_mapping

if TYPE_CHECKING:
    from noisylabels.methods.spec import MethodSpec


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines one training run.

    Attributes:
        dataset: Dataset name (``noisylabels datasets`` lists them), or the path of your own
            data: an image folder, a ``.csv``/``.parquet`` table or an ``.npz``.
        dataset_options: Options of the dataset: ``label_column``, ``image_size``,
            ``test_fraction``, ``seed`` for your own files (see ``docs/own-data.md``);
            ``test_fraction``, ``seed`` for digits; ``n_train``, ``n_test``, ``noise``, ``seed``
            for moons.
        noise: Noise spec: ``clean``, ``KIND:RATE`` (``symmetric:0.4``, ``uniform:0.9``,
            ``asymmetric:0.3``, ``pairflip:0.2``, ``instance:0.4``), a human-noise name
            (``cifar10n-worst``) or ``file:PATH`` (a saved noisy-label file).
        noise_sampling: ``exact`` (exactly round(rate*n_c) flips per class) or ``iid``.
        noise_seed: Seed of the label corruption; None means "same as ``seed``".
        batch_noise: ``off`` (each training sample keeps one noisy label for the run), or the
            student report's code's protocol (:mod:`noisylabels.noise.batch`): the training
            labels stay clean and ``noise`` (``uniform:R``, ``asymmetric:R`` or ``clean``) is
            re-applied to every batch from a generator restarted at ``noise_seed``, so the same
            batch positions are corrupted in every batch. ``reseeded``: a fresh batch order
            every epoch, so the corrupted samples change every epoch; ``reseeded-repeat-order``:
            the order of the second epoch is repeated in every later epoch (what that code's
            reseeding of torch's global generator does to its data loader), so the corrupted
            samples of epoch 1 differ and are then fixed. The validation split keeps clean labels.
        method: Method preset or loss name (``ce``, ``nfl+rce``, ``ciw``, ``coteaching``, ...).
            Also accepted: a mapping of parts, ``{loss: {name: gce, q: 0.7}, weighting: {name:
            ciw, lam: 0.1}}`` (optionally with ``preset``; default ``standard``), or a
            :class:`~noisylabels.methods.spec.MethodSpec`; either is stored as the preset name
            plus the parts in ``method_params``.
        method_params: Part mappings (``{weighting: {lam: 0.5}}``) and/or flat parameters of
            the preset (``alpha``, ``beta``, ``q``, ``lam``, ...); see
            :func:`~noisylabels.methods.spec.parse_method`. :attr:`method_spec` is the
            parsed result.
        model: Model name, or ``auto`` to pick one for the dataset.
        epochs: Training epochs.
        batch_size: Training batch size.
        optimizer: ``sgd`` or ``adam``.
        lr: Peak learning rate.
        momentum: SGD momentum.
        nesterov: Nesterov momentum for SGD.
        weight_decay: L2 weight decay.
        schedule: ``constant``, ``cosine``, ``step``, ``onecycle`` or ``cosine-epochs``
            (cosine annealing with period ``t_max_epochs``, stepped once per epoch:
            ``lr * (1 + cos(pi * epoch / t_max_epochs)) / 2`` for 0-based ``epoch``, like
            ``torch.optim.lr_scheduler.CosineAnnealingLR`` stepped after each epoch).
        t_max_epochs: Period of ``cosine-epochs`` in epochs (None: the run's ``epochs``).
        step_size: Epochs between decays for ``step``.
        gamma: Decay factor for ``step``.
        grad_clip: Max gradient norm, or None for no clipping.
        val_fraction: Share of the (noisy) training set held out for model selection.
        augment: ``auto`` (crop+flip on 32x32 colour images, none otherwise), ``none``,
            ``flip``, ``crop`` or ``crop+flip``.
        normalization: ``dataset`` (the dataset's own mean/std) or ``imagenet``.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        amp: bf16 autocast on CUDA (ignored on CPU).
        seed: Seed of model init, data order, augmentation and split.
        data_root: Folder to look in first for dataset files.
        eval_batch_size: Batch size for evaluation.
        test_eval: When to score the test set. ``every_epoch`` (per-epoch test curves and the
            optimistic best-over-epochs accuracy) or ``selected``: only the model the
            noisy-validation selection picks and the last one (the selected model's weights
            are kept in memory until the end), which cuts evaluation time by up to half.
        exclude: An ``issues.csv`` from ``noisylabels detect``: train without its flagged
            samples (see :mod:`noisylabels.detect.edit`).
        relabel: An ``issues.csv``: give its flagged samples their suggested labels.
        edit_top: Use the first N rows of the ranked issues file instead of its flagged rows.
        relabel_confidence: The predicted probability a suggestion needs for ``relabel``.
        train_subset: Train on a class-stratified random subset of N samples of the training
            set (None: all of it). Drawn with ``subset_seed`` after the noisy labels of the
            whole training set are made, so the subset keeps those labels; the validation
            split is taken from the subset. N must be at least twice the number of classes.
        subset_seed: Seed of the ``train_subset`` draw, independent of ``seed``, so every
            method and seed trains on the same samples.
    """

    dataset: str = "digits"
    dataset_options: dict[str, Any] = field(default_factory=dict)
    noise: str = "symmetric:0.4"
    noise_sampling: str = "exact"
    noise_seed: int | None = None
    batch_noise: str = "off"
    method: str = "ce"
    method_params: dict[str, Any] = field(default_factory=dict)
    model: str = "auto"
    epochs: int = 10
    batch_size: int = 128
    optimizer: str = "sgd"
    lr: float = 0.05
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    step_size: int = 30
    t_max_epochs: int | None = None
    gamma: float = 0.1
    grad_clip: float | None = None
    val_fraction: float = 0.1
    augment: str = "auto"
    normalization: str = "dataset"
    device: str = "auto"
    amp: bool = False
    seed: int = 0
    data_root: str | None = None
    eval_batch_size: int = 1024
    test_eval: str = "every_epoch"
    exclude: str | None = None
    relabel: str | None = None
    edit_top: int | None = None
    relabel_confidence: float = 0.5
    train_subset: int | None = None
    subset_seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.method, str) and self.method is not None:
            name, params = method_fields(self.method, self.method_params, "config")
            object.__setattr__(self, "method", name)
            object.__setattr__(self, "method_params", params)

    @functools.cached_property
    def method_spec(self) -> MethodSpec:
        """The method as a typed composition of parts, parsed once from ``method`` and its params.

        Raises:
            UsageError: An unknown method, part or parameter, or a value of the wrong type.
        """
        from noisylabels.methods.spec import parse_method

        return parse_method(self.method, self.method_params)

    def __getstate__(self) -> dict[str, Any]:
        # The parsed spec is a cache: pickled configs (sweep workers) parse it again.
        state = dict(self.__dict__)
        state.pop("method_spec", None)
        return state

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (JSON/YAML serialisable)."""
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some fields changed (unknown names are a :class:`UsageError`)."""
        return from_dict({**self.to_dict(), **changes})


_FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}


def method_fields(method: Any, params: Any, where: str) -> tuple[str, dict[str, Any]]:
    """A parts mapping or a MethodSpec as ``(method name, method_params)``.

    Raises:
        UsageError: An unknown key in the mapping, or a part given both in the mapping and in
            ``params``.
    """
    if isinstance(method, Mapping):
        name, parts = split_method_mapping(method, f"{where}: method")
    elif callable(getattr(method, "to_dict", None)) and hasattr(method, "loss"):
        name, parts = method.name, method.to_dict(full=True)
    else:
        raise UsageError(
            f"{where}: method must be a name, a mapping of parts or a MethodSpec, got {method!r}"
        )
    extra = dict(params or {})
    clash = sorted(set(parts) & set(extra))
    if clash:
        raise UsageError(
            f"{where}: {clash[0]} is given both in method and in method_params; give it once"
        )
    return name, {**parts, **extra}


def from_dict(d: dict[str, Any], where: str = "config") -> TrainConfig:
    """Build a :class:`TrainConfig` from a dict, rejecting unknown keys with a clear message."""
    unknown = sorted(set(d) - set(_FIELDS))
    if unknown:
        raise UsageError(
            f"{where}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(_FIELDS)}"
        )
    d = dict(d)
    if d.get("method") is not None and not isinstance(d["method"], str):
        d["method"], d["method_params"] = method_fields(d["method"], d.get("method_params"), where)
    clean: dict[str, Any] = {}
    for k, v in d.items():
        clean[k] = _coerce(k, v, where)
    cfg = TrainConfig(**clean)
    validate(cfg)
    return cfg


def _coerce(key: str, value: Any, where: str) -> Any:
    default = getattr(TrainConfig(), key)
    if key == "dataset_options":
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise UsageError(f"{where}: dataset_options must be a mapping, got {value!r}")
        return dict(value)
    if value is None or key == "method_params":
        if key == "method_params" and not isinstance(value, dict):
            raise UsageError(f"{where}: method_params must be a mapping, got {value!r}")
        return dict(value) if key == "method_params" else value
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError
            if isinstance(value, bool) or value in (0, 1):
                return bool(value)
            raise ValueError
        # YAML's true/false are Python bools, and bool is an int subclass: refuse them as
        # numbers (`epochs: true` is a typo, not one epoch).
        if isinstance(value, bool):
            raise ValueError
        if isinstance(default, int) or key in (
            "noise_seed", "edit_top", "train_subset", "t_max_epochs"
        ):
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        if isinstance(default, float) or key == "grad_clip":
            return float(value)
        if isinstance(default, str) or key in ("data_root", "exclude", "relabel"):
            return str(value)
    except (TypeError, ValueError):
        raise UsageError(f"{where}: {key}={value!r} has the wrong type") from None
    return value


#: Values of ``batch_noise``: off, or noise re-applied per batch (see :class:`TrainConfig`).
BATCH_NOISE_MODES = ("off", "reseeded", "reseeded-repeat-order")

#: Largest magnitude a float option may have: it must fit a float32 tensor scalar.
FLOAT_MAX = 3.4e38


def check_number(name: str, value: object) -> None:
    """Raise :class:`UsageError` for a bool where a number belongs, NaN, or an infinite value.

    Floats must also fit float32 (``|value| <= 3.4e38``): the optimiser multiplies float32
    tensors by them, and ``1e300`` would overflow there instead of here.
    """
    if isinstance(value, bool):
        raise UsageError(f"{name} must be a number, got {value!r}")
    if isinstance(value, float) and not (math.isfinite(value) and abs(value) <= FLOAT_MAX):
        raise UsageError(f"{name} must be a finite number (|{name}| <= 3.4e38), got {value!r}")


def _check_params(params: Any, where: str, seen: set[int] | None = None) -> None:
    # `seen`: YAML anchors let one list appear many times (a "billion laughs" file); each
    # container is checked once, so the walk stays linear in the file's size.
    seen = set() if seen is None else seen
    if isinstance(params, dict | list | tuple):
        if id(params) in seen:
            return
        seen.add(id(params))
    if isinstance(params, dict):
        for k, v in params.items():
            _check_params(v, f"{where}.{k}", seen)
    elif isinstance(params, list | tuple):
        for i, v in enumerate(params):
            _check_params(v, f"{where}[{i}]", seen)
    elif isinstance(params, float):
        check_number(where, params)


def validate(cfg: TrainConfig) -> None:
    """Check value ranges that do not need the dataset; raise :class:`UsageError` if wrong."""
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        default = f.default
        if isinstance(value, float) or (
            isinstance(value, bool)
            and isinstance(default, int | float)
            and not isinstance(default, bool)
        ):
            check_number(f.name, value)
    _check_params(cfg.method_params, "method_params")
    for name in ("seed", "noise_seed", "subset_seed"):
        value = getattr(cfg, name)
        if value is not None and not 0 <= value < 2**63:
            raise UsageError(f"{name} must be in 0..2**63-1, got {value}")
    if cfg.train_subset is not None and cfg.train_subset < 1:
        raise UsageError(
            f"train_subset must be a number of training samples (>= 2 per class) or unset for "
            f"the whole training set, got {cfg.train_subset}"
        )
    if cfg.eval_batch_size < 1:
        raise UsageError(f"eval_batch_size must be >= 1, got {cfg.eval_batch_size}")
    if cfg.momentum < 0 or cfg.weight_decay < 0:
        raise UsageError(
            f"momentum and weight_decay must be >= 0, got {cfg.momentum} and {cfg.weight_decay}"
        )
    if cfg.grad_clip is not None and cfg.grad_clip <= 0:
        raise UsageError(f"grad_clip must be > 0 (or unset for no clipping), got {cfg.grad_clip}")
    if cfg.epochs < 1:
        raise UsageError(f"epochs must be >= 1, got {cfg.epochs}")
    if cfg.batch_size < 1:
        raise UsageError(f"batch_size must be >= 1, got {cfg.batch_size}")
    if not 0.0 <= cfg.val_fraction < 1.0:
        raise UsageError(f"val_fraction must be in [0, 1), got {cfg.val_fraction}")
    if cfg.lr <= 0:
        raise UsageError(f"lr must be > 0, got {cfg.lr}")
    if cfg.optimizer not in ("sgd", "adam"):
        raise UsageError(f"unknown optimizer {cfg.optimizer!r}; choose sgd or adam")
    if cfg.schedule not in ("constant", "cosine", "step", "onecycle", "cosine-epochs"):
        raise UsageError(
            f"unknown schedule {cfg.schedule!r}; choose constant, cosine, step, onecycle or "
            "cosine-epochs"
        )
    if cfg.t_max_epochs is not None and cfg.t_max_epochs < 1:
        raise UsageError(f"t_max_epochs must be >= 1 (or unset), got {cfg.t_max_epochs}")
    if cfg.batch_noise not in BATCH_NOISE_MODES:
        raise UsageError(
            f"unknown batch_noise {cfg.batch_noise!r}; choose {', '.join(BATCH_NOISE_MODES)}"
        )
    if cfg.augment not in ("auto", "none", "flip", "crop", "crop+flip"):
        raise UsageError(
            f"unknown augment {cfg.augment!r}; choose auto, none, flip, crop or crop+flip"
        )
    if cfg.test_eval not in ("every_epoch", "selected"):
        raise UsageError(f"unknown test_eval {cfg.test_eval!r}; choose every_epoch or selected")
    if cfg.normalization not in ("dataset", "imagenet"):
        raise UsageError(f"unknown normalization {cfg.normalization!r}; choose dataset or imagenet")
    if cfg.exclude and cfg.relabel:
        raise UsageError("give either exclude (--exclude) or relabel (--relabel), not both")
    if not 0.0 <= cfg.relabel_confidence <= 1.0:
        raise UsageError(f"relabel_confidence must be in [0, 1], got {cfg.relabel_confidence}")
    if cfg.edit_top is not None and not (cfg.exclude or cfg.relabel):
        raise UsageError(
            "edit_top (--edit-top) selects rows of an issues file: give it with --exclude FILE "
            "or --relabel FILE"
        )
    if cfg.relabel_confidence != TrainConfig.relabel_confidence and not cfg.relabel:
        raise UsageError(
            "relabel_confidence (--relabel-confidence) applies to --relabel FILE only"
        )
    if cfg.data_root is not None and os.path.isfile(os.path.expanduser(cfg.data_root)):
        raise UsageError(
            f"data_root {cfg.data_root} is a file; give the folder that holds the dataset files"
        )
    if cfg.noise_sampling not in ("exact", "iid"):
        raise UsageError(f"unknown noise_sampling {cfg.noise_sampling!r}; choose exact or iid")


def read_yaml(path: str | Path, what: str = "config") -> Any:
    """Parse a YAML file, turning read and parse errors into a one-line :class:`UsageError`.

    Args:
        path: The file.
        what: What the file is ("config", "grid"), for the messages.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except IsADirectoryError:
        raise UsageError(f"{what} {p} is a folder; give a YAML file") from None
    except OSError as e:
        raise UsageError(f"cannot read {what} {p}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise UsageError(
            f"{what} {p} is not UTF-8 text (byte {e.object[e.start]:#04x} at offset {e.start}); "
            "save it as UTF-8 YAML"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        label = "" if what == "config" else f"{what} "
        raise UsageError(f"bad YAML in {label}{p}{at}: {problem}") from None
    if _too_large(data, YAML_MAX_NODES):
        raise UsageError(
            f"{what} {p}: its anchors and aliases (&name / *name) expand to more than "
            f"{YAML_MAX_NODES:,} values; write the values out or use fewer aliases"
        )
    return data


#: Most values a YAML file may expand to, aliases counted each time they are used. A few
#: nested aliases ("billion laughs") otherwise make every later walk over the data take hours.
YAML_MAX_NODES = 1_000_000


def _too_large(data: Any, limit: int) -> bool:
    count, stack = 0, [data]
    while stack:
        node = stack.pop()
        count += 1
        if count > limit:
            return True
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping of config keys (an empty file gives ``{}``)."""
    data = read_yaml(path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a mapping of config keys, got {type(data).__name__}")
    return data
