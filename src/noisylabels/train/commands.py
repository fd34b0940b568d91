"""``noisylabels train``: train one configuration and write its record.

Flags are generated from :class:`~noisylabels.train.config.TrainConfig`, so every config key is a
flag (``--batch-size`` for ``batch_size``). Precedence: defaults < ``--config file.yaml`` < flags.

The method is ``--method`` (a preset or a loss name) with its parts changed by ``--loss``,
``--weighting``, ``--mixup``, ``--selection`` (a part's name) and ``--set PART.KEY=VALUE`` (one
of its parameters), e.g. ``--method ciw --loss gce --set loss.q=0.7 --set weighting.lam=0.5``;
``-p KEY=VALUE`` passes a flat parameter of the preset.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from noisylabels.data.commands import add_data_flags, data_overrides, dataset_label
from noisylabels.errors import UsageError
from noisylabels.outputs import check_output_dir, rescue_dir
from noisylabels.params import METHOD_PARTS
from noisylabels.train.config import TrainConfig, from_dict, load_yaml, method_fields

_SKIP = {"method_params", "dataset_options"}
#: Most torch threads a run may ask for: torch.set_num_threads takes a C int, and 4096 is
#: beyond any machine's core count.
MAX_THREADS = 4096


def field_help() -> dict[str, str]:
    """Each :class:`TrainConfig` field's description, from the ``Attributes:`` of its docstring."""
    out: dict[str, str] = {}
    key = None
    section = (TrainConfig.__doc__ or "").split("Attributes:", 1)[-1]
    for line in section.splitlines():
        m = re.match(r"^ {8}(\w+): (.*)$", line)
        if m:
            key, out[m[1]] = m[1], m[2]
        elif key and line.startswith(" " * 12):
            out[key] += " " + line.strip()
        elif line.strip():
            key = None
    return {k: _plain(v).replace("%", "%%") for k, v in out.items()}


def _plain(text: str) -> str:
    """Docstring markup as plain help text: ``x`` -> x, :mod:`a.b` -> a.b, :class:`~a.B` -> B."""
    text = re.sub(r":\w+:`(~?)([^`]+)`", lambda m: m[2].rsplit(".", 1)[-1] if m[1] else m[2], text)
    return text.replace("``", "")


def names_epilog() -> str:
    """Valid names for ``--dataset``, ``--method``, ``--model`` and ``--noise``, without torch."""
    from noisylabels import names

    return (
        f"datasets: {', '.join(names.DATASETS)}, or a path to your own data. "
        f"methods: {', '.join(names.METHODS)}; or a loss: {', '.join(names.LOSSES)}; or an "
        "active+passive loss pair such as nce+rce. "
        f"models: auto, {', '.join(names.MODELS)}. "
        f"noise kinds: {', '.join(names.noise_kinds())} (as KIND:RATE, e.g. symmetric:0.4, "
        "except clean and cifar10n-*), or file:PATH (a file from `noisylabels noise --out`)."
    )


def add_config_flags(p: argparse.ArgumentParser) -> None:
    """Add one flag per :class:`TrainConfig` field (default None = "not given") plus ``--param``."""
    g = p.add_argument_group("training configuration (override --config)")
    docs = field_help()
    for f in dataclasses.fields(TrainConfig):
        if f.name in _SKIP:
            continue
        flag = "--" + f.name.replace("_", "-")
        default = getattr(TrainConfig(), f.name)
        help_ = f"{docs.get(f.name, '')} (default: {default})".lstrip()
        if isinstance(default, bool):
            g.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=help_)
        else:
            names = [flag, "--root"] if f.name == "data_root" else [flag]
            g.add_argument(*names, dest=f.name, default=None, metavar=f.name.upper(), help=help_)
    add_data_flags(g)
    g.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="flat parameter of the method preset, repeatable (e.g. -p alpha=1 -p beta=1)",
    )
    m = p.add_argument_group("method parts (change the parts of --method; see docs/methods.md)")
    helps = {
        "loss": "the loss: any loss name (ce, gce, sce, bitempered, nce+rce, nfl+rce, ...)",
        "weighting": "sample weighting: none, confidence, ciw, cicw, class",
        "mixup": "mixup: none, vanilla, sample_w, weight_w, sample_weight_w, "
        "label_smoothing_w, dynamic",
        "selection": "sample selection: none, coteaching",
    }
    for kind in METHOD_PARTS:
        m.add_argument(f"--{kind}", dest=f"part_{kind}", metavar="NAME", help=helps[kind])
    m.add_argument(
        "--set",
        dest="part_set",
        action="append",
        default=[],
        metavar="PART.KEY=VALUE",
        help="a parameter of a part, repeatable (e.g. --set loss.q=0.7 --set weighting.lam=0.5)",
    )


def parse_params(items: list[str]) -> dict[str, Any]:
    """``["alpha=1", "mode=soft"]`` -> ``{"alpha": 1, "mode": "soft"}`` (values parsed as YAML)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--param expects KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            out[key.strip()] = value
    return out


def parse_part_flags(names: dict[str, str | None], items: list[str]) -> dict[str, dict[str, Any]]:
    """``--loss gce --set loss.q=0.7`` -> ``{"loss": {"name": "gce", "q": 0.7}}``.

    Example:
        >>> parse_part_flags({"loss": "gce"}, ["loss.q=0.7", "weighting.lam=0.5"])
        {'loss': {'name': 'gce', 'q': 0.7}, 'weighting': {'lam': 0.5}}
    """
    out: dict[str, dict[str, Any]] = {}
    for kind, name in names.items():
        if name is not None:
            out.setdefault(kind, {})["name"] = name
    for item in items:
        key, sep, _ = item.partition("=")
        kind, dot, param = key.strip().partition(".")
        if not sep or not dot or not param or kind not in METHOD_PARTS:
            raise UsageError(
                f"--set expects PART.KEY=VALUE with PART one of {', '.join(METHOD_PARTS)} "
                f"(e.g. --set loss.q=0.7), got {item!r}"
            )
        if param == "name":
            raise UsageError(f"--set {item!r}: name a part with --{kind} NAME")
        out.setdefault(kind, {}).update(parse_params([f"{param}={item.partition('=')[2]}"]))
    return out


def merge_parts(params: dict[str, Any], parts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Method params with part overrides on top: a new part name replaces that part.

    Example:
        >>> merge_parts({"weighting": {"name": "ciw", "lam": 1}}, {"weighting": {"lam": 2}})
        {'weighting': {'name': 'ciw', 'lam': 2}}
        >>> merge_parts({"loss": "gce", "q": 0.7}, {"loss": {"name": "sce"}})
        {'loss': {'name': 'sce'}, 'q': 0.7}
    """
    out = dict(params)
    for kind, new in parts.items():
        old = out.get(kind)
        old = {"name": old} if isinstance(old, str) else dict(old or {})
        if "name" in new and old.get("name") not in (None, new["name"]):
            old = {}
        out[kind] = {**old, **new}
    return out


def resolve_config(args: argparse.Namespace) -> TrainConfig:
    """Defaults, then the YAML file, then the flags."""
    merged: dict[str, Any] = {}
    where = f"config {args.config}" if getattr(args, "config", None) else "config"
    if getattr(args, "config", None):
        merged.update(load_yaml(args.config))
        if merged.get("method") is not None and not isinstance(merged["method"], str):
            merged["method"], merged["method_params"] = method_fields(
                merged["method"], merged.get("method_params"), where
            )
    for f in dataclasses.fields(TrainConfig):
        if f.name in _SKIP:
            continue
        v = getattr(args, f.name, None)
        if v is not None:
            merged[f.name] = v
    own = data_overrides(args)
    if own:
        merged["dataset"] = own["dataset"]
        # Your own labels are the ones to learn from: add synthetic noise only when asked.
        merged.setdefault("noise", "clean")
        merged["dataset_options"] = {
            **dict(merged.get("dataset_options") or {}), **own["dataset_options"]
        }
    params = parse_params(getattr(args, "param", []) or [])
    if params:
        merged["method_params"] = {**dict(merged.get("method_params") or {}), **params}
    names = {kind: getattr(args, f"part_{kind}", None) for kind in METHOD_PARTS}
    parts = parse_part_flags(names, getattr(args, "part_set", []) or [])
    if parts:
        merged["method_params"] = merge_parts(dict(merged.get("method_params") or {}), parts)
        method = str(merged.get("method") or TrainConfig.method).strip().lower()
        if "name" in parts.get("loss", {}):
            from noisylabels.methods.spec import METHODS

            if method not in METHODS:  # a loss name: --loss names the loss instead
                merged["method"] = "standard"
    return from_dict(merged, where=where)


def run_folder_name(cfg: TrainConfig, rid: str) -> str:
    """``<dataset>-<noise>-<method>-s<seed>-<run id>``: the run's folder under ``--out``."""
    noise = cfg.noise.replace(":", "").replace("/", "_")
    method = cfg.method.replace("+", "_")
    return f"{dataset_label(cfg.dataset)}-{noise}-{method}-s{cfg.seed}-{rid}"


def write_run(record: dict[str, Any], cfg: TrainConfig, out: Path) -> Path:
    """Write ``record.json`` and the resolved ``config.yaml`` into a folder named after the run.

    When ``out`` cannot be written (it was checked before training, but may have changed
    since), the two files go to a new folder in the system's temporary folder instead and the
    :class:`UsageError` names it, so a finished run is never lost.
    """
    name = run_folder_name(cfg, record["run_id"])
    files = {
        "config.yaml": yaml.safe_dump(cfg.to_dict(), sort_keys=False),
        "record.json": json.dumps(record, indent=1),
    }
    folder = Path(out).expanduser() / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for fname, text in files.items():
            tmp = folder / f"{fname}.tmp"
            tmp.write_text(text)
            tmp.replace(folder / fname)
        return folder
    except OSError as e:
        reason = e.strerror or type(e).__name__
    rescue = rescue_dir(name)
    for fname, text in files.items():
        (rescue / fname).write_text(text)
    raise UsageError(f"cannot write the run to {folder}: {reason}; it is saved in {rescue}")


def data_inputs(cfg: TrainConfig) -> list[str | None]:
    """The files a run of ``cfg`` reads, for the output checks: its data path, if it has one."""
    from noisylabels.data.userfiles import is_path

    return [cfg.dataset if is_path(cfg.dataset) else None]


def _train(args: argparse.Namespace) -> int:
    from noisylabels.train.threads import torch_threads
    from noisylabels.train.trainer import run

    cfg = resolve_config(args)
    # Before training: a bad output path must not cost a run, nor change the data it reads.
    inputs = data_inputs(cfg)
    check_output_dir(args.out, inputs=inputs)
    if args.save_model:
        saved = check_output_dir(args.save_model, inputs=inputs, option="--save-model")
        if (saved / "model.json").exists():
            raise UsageError(
                f"--save-model {saved} already holds a saved model; choose another folder, or "
                "delete it first"
            )
    quiet = args.quiet or args.json
    log = None if quiet else (lambda line: print(line, flush=True))
    if not quiet:
        print(
            f"training {cfg.method} on {cfg.dataset} with noise {cfg.noise} "
            f"({cfg.epochs} epochs, seed {cfg.seed})",
            flush=True,
        )
    callbacks = _watch_callbacks(args, cfg)
    if args.save_model:
        from noisylabels.models.saved import SaveModel

        callbacks.append(SaveModel(args.save_model))
    with torch_threads(args.threads):
        record = run(
            cfg,
            callbacks=callbacks,
            progress=not quiet and sys.stderr.isatty(),
            log=log,
            resume=args.resume,
        )
    folder = write_run(record, cfg, Path(args.out))
    if args.json:
        print(json.dumps(record))
    else:
        fin, nz = record["final"], record["noise"]
        best = ""
        if fin["test_acc_best"] is not None:
            best = f", best (optimistic) {100 * fin['test_acc_best']:.2f}%"
        print(
            f"realised noise rate {100 * nz['realised_rate']:.2f}% | test acc: last "
            f"{100 * fin['test_acc_last']:.2f}%, selected (epoch {fin['selected_epoch']}) "
            f"{100 * fin['test_acc_selected']:.2f}%{best} | train {fin['train_time_s']:.1f}s"
        )
        print(f"record: {folder / 'record.json'}")
    return 0


def _watch_callbacks(args: argparse.Namespace, cfg: TrainConfig) -> list[Any]:
    """Loggers and checkpoints asked for on the command line, in the run's folder by default.

    Their folders are checked here, before training: a path that cannot be written, or that
    holds the log or checkpoint of an earlier run (unless that run is resumed), is refused.
    """
    from noisylabels.train.checkpoint import Checkpoint, check_checkpoint_dir, checkpoint_file
    from noisylabels.train.loggers import check_log_folder, make_logger
    from noisylabels.train.trainer import run_id

    resume = checkpoint_file(args.resume) if args.resume else None
    folder = Path(args.out).expanduser() / run_folder_name(cfg, run_id(cfg))
    names: list[str] = []
    for item in args.log or []:
        names += [n.strip() for n in item.split(",") if n.strip()]
    callbacks: list[Any] = []
    for n in dict.fromkeys(names):
        check_log_folder(n, folder, resuming=resume is not None)
        callbacks.append(make_logger(n, folder))
    if args.checkpoint_dir and not args.checkpoint_every:
        raise UsageError("--checkpoint-dir needs --checkpoint-every N (epochs between saves)")
    if args.checkpoint_every:
        where = args.checkpoint_dir or (resume.parent if resume else folder / "checkpoint")
        where = check_checkpoint_dir(where, resume, inputs=data_inputs(cfg))
        callbacks.append(Checkpoint(where, every=args.checkpoint_every))
    return callbacks


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= MAX_THREADS:
        raise argparse.ArgumentTypeError(f"expected an integer in 1..{MAX_THREADS}, got {text!r}")
    return n


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``train``."""
    p = sub.add_parser(
        "train",
        help="train one configuration and write its JSON record",
        description="Train one configuration; writes OUT/<run>/record.json and config.yaml.",
        epilog=names_epilog(),
    )
    p.add_argument("--config", metavar="FILE.yaml", help="YAML file of config keys")
    p.add_argument("--out", default="runs", help="output folder (default: runs)")
    p.add_argument("--quiet", action="store_true", help="print only the summary")
    p.add_argument("--json", action="store_true", help="print the record as JSON on stdout")
    p.add_argument(
        "--threads",
        type=_positive_int,
        default=None,
        metavar="N",
        help="torch threads (default: the cores this process may use)",
    )
    g = p.add_argument_group("watching and resuming")
    g.add_argument(
        "--log",
        action="append",
        metavar="csv|tensorboard",
        help="per-epoch metrics and weight histograms into OUT/<run>/csv or OUT/<run>/tensorboard "
        "(repeatable; tensorboard needs pip install 'noisylabels[tensorboard]')",
    )
    g.add_argument(
        "--checkpoint-every",
        type=_positive_int,
        default=None,
        metavar="N",
        help="save a checkpoint every N epochs (model, optimiser, schedule, method state, RNG)",
    )
    g.add_argument(
        "--checkpoint-dir",
        default=None,
        metavar="DIR",
        help="checkpoint folder (default: OUT/<run>/checkpoint, or the --resume folder)",
    )
    g.add_argument(
        "--resume",
        default=None,
        metavar="DIR",
        help="go on from the checkpoint in DIR (same settings); ends with the uninterrupted record",
    )
    p.add_argument(
        "--save-model",
        metavar="DIR",
        help="save the trained network (weights, class names, config) for noisylabels predict",
    )
    add_config_flags(p)
    p.set_defaults(func=_train)
