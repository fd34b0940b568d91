"""Sweep grids: a YAML file that expands to a list of training runs.

A grid names the settings shared by all runs (``base``) and the axes to cross; see
:data:`EXAMPLE_GRID`.

Every axis is optional; an absent axis takes its value from ``base`` (or the TrainConfig
default). In a method entry, ``name`` becomes ``TrainConfig.method``, ``label`` names the row in
report tables, ``config`` holds TrainConfig overrides for that method, and every other key (or
the keys of an explicit ``params`` mapping) goes to ``method_params``: flat parameters of the
preset (``lam: 0.1``) or parts (``loss: {name: gce, q: 0.7}``). An entry of parts alone, without
``name``, composes them on ``standard`` (cross entropy).

Precedence, lowest first: TrainConfig defaults < ``base`` < ``overrides[dataset]`` < the method's
``config`` < the axis values (dataset, noise, method and its params, model, seed).

Runs are ordered seed-major (all runs of the first seed, then the second, ...), so a sweep
interrupted half-way already holds a complete table for its first seeds.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from noisylabels.errors import UsageError
from noisylabels.params import METHOD_PARTS
from noisylabels.train import check_config, run_id
from noisylabels.train.config import TrainConfig, from_dict, read_yaml

EXAMPLE_GRID = """\
name: digits-demo               # optional
base:                           # TrainConfig fields shared by all runs
  epochs: 20
  batch_size: 128
datasets: [digits]
noise: [clean, symmetric:0.2, symmetric:0.4]
methods:
  - ce                                          # a method name ...
  - {name: nce+rce, alpha: 1, beta: 1, label: "APL NCE+RCE"}   # ... or name + params
  - {name: ciw, label: CIW, config: {lr: 0.02}} # per-method TrainConfig overrides
seeds: [0, 1, 2]
overrides:                      # optional, per dataset
  digits: {model: mlp}
# models: [mlp, ...]            # optional axis (it overrides model settings above)
"""

GRID_KEYS = (
    "name",
    "description",
    "base",
    "datasets",
    "noise",
    "methods",
    "models",
    "seeds",
    "overrides",
)
METHOD_KEYS = ("name", "label", "config", "params")

Check = Callable[[TrainConfig], None]


@dataclass(frozen=True)
class MethodEntry:
    """One item of a grid's ``methods`` axis."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    label: str | None = None
    config: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The mapping form used in a saved grid."""
        d: dict[str, Any] = {"name": self.name}
        if self.params:
            d["params"] = dict(self.params)
        if self.label is not None:
            d["label"] = self.label
        if self.config:
            d["config"] = dict(self.config)
        return d


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep.

    Attributes:
        run_id: :func:`~noisylabels.bench.ids.run_id` of ``config``; the resume key.
        config: The fully resolved training config.
        label: Row name for report tables (None: derived from the method and its params).
    """

    run_id: str
    config: TrainConfig
    label: str | None = None

    def describe(self) -> str:
        """Short human-readable name: ``digits symmetric:0.4 CIW seed=0``."""
        c = self.config
        return f"{c.dataset} {c.noise} {self.label or method_display(c)} seed={c.seed}"


def method_display(config: TrainConfig | dict[str, Any]) -> str:
    """Method name with its params, e.g. ``nce+rce (alpha=1, beta=1)``."""
    d = config.to_dict() if isinstance(config, TrainConfig) else config
    params = d.get("method_params") or {}
    if not params:
        return str(d.get("method"))
    inner = ", ".join(f"{k}={_fmt_value(v)}" for k, v in sorted(params.items()))
    return f"{d.get('method')} ({inner})"


def _fmt_value(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dict):  # a method part: gce(q=0.7)
        inner = ", ".join(f"{k}={_fmt_value(x)}" for k, x in sorted(v.items()) if k != "name")
        name = v.get("name")
        return f"{name}({inner})" if name and inner else str(name or f"({inner})")
    return str(v)


def load_grid(path: str | Path) -> dict[str, Any]:
    """Read a grid YAML file; parse errors become a one-line :class:`UsageError`."""
    p = Path(path)
    data = read_yaml(p, "grid")
    if not isinstance(data, dict):
        raise UsageError(
            f"grid {p}: expected a mapping with keys such as base, datasets, noise, methods, "
            f"seeds; got {type(data).__name__}"
        )
    return data


def normalise_grid(grid: dict[str, Any], where: str = "grid") -> dict[str, Any]:
    """Check the grid's structure and return it with every axis as a list.

    Methods come back as mappings (``{name, params?, label?, config?}``); absent axes are left
    out. The result is what a sweep saves next to its results, and expands to the same runs.
    """
    if not isinstance(grid, dict):
        raise UsageError(f"{where}: expected a mapping, got {type(grid).__name__}")
    unknown = sorted(set(map(str, grid)) - set(GRID_KEYS))
    if unknown:
        raise UsageError(
            f"{where}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(GRID_KEYS)}"
        )
    out: dict[str, Any] = {}
    for key in ("name", "description"):
        if grid.get(key) is not None:
            out[key] = str(grid[key])
    base = grid.get("base") or {}
    if not isinstance(base, dict):
        raise UsageError(f"{where}: base must be a mapping of TrainConfig fields")
    out["base"] = dict(base)
    for key in ("datasets", "noise", "models"):
        if grid.get(key) is not None:
            out[key] = _str_list(grid[key], f"{where}: {key}")
    if grid.get("methods") is not None:
        out["methods"] = [m.to_dict() for m in _method_entries(grid["methods"], where)]
    if grid.get("seeds") is not None:
        out["seeds"] = _seed_list(grid["seeds"], f"{where}: seeds")
    overrides = grid.get("overrides") or {}
    if not isinstance(overrides, dict) or not all(isinstance(v, dict) for v in overrides.values()):
        raise UsageError(
            f"{where}: overrides must map a dataset name to TrainConfig fields, "
            "e.g. overrides: {mnist: {model: cnn28}}"
        )
    if overrides:
        datasets = out.get("datasets", [str(base.get("dataset", TrainConfig.dataset))])
        stray = sorted(set(map(str, overrides)) - set(datasets))
        if stray:
            raise UsageError(
                f"{where}: overrides.{stray[0]} names a dataset that is not in the grid "
                f"(datasets: {', '.join(datasets)})"
            )
        out["overrides"] = {str(k): dict(v) for k, v in overrides.items()}
    return out


def _str_list(value: Any, where: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise UsageError(f"{where} is an empty list; give at least one value or leave it out")
    bad = [v for v in items if not isinstance(v, str | int | float) or isinstance(v, bool)]
    if bad:
        raise UsageError(f"{where}: expected names, got {bad[0]!r}")
    out = [str(v) for v in items]
    dup = {v for v in out if out.count(v) > 1}
    if dup:
        raise UsageError(f"{where}: {sorted(dup)[0]!r} is listed twice")
    return out


def _seed_list(value: Any, where: str) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        # On the command line `--seeds 3` means three seeds; here a bare number would mean
        # seed 3 alone. Neither reading is safe to guess, so the list form is required.
        raise UsageError(
            f"{where}: a bare number is ambiguous; write a list: seeds: [{value}] for seed "
            f"{value} alone, or seeds: [0, 1, 2] for three seeds (`--seeds 3` on the command line)"
        )
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(s, int) and not isinstance(s, bool) for s in items):
        raise UsageError(f"{where} must be a list of integers, e.g. seeds: [0, 1, 2]")
    if len(set(items)) != len(items):
        raise UsageError(f"{where}: a seed is listed twice")
    return list(items)


def _method_entries(value: Any, where: str) -> list[MethodEntry]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise UsageError(f"{where}: methods is an empty list")
    entries = []
    for i, item in enumerate(items):
        at = f"{where}: methods[{i}]"
        if isinstance(item, str):
            entries.append(MethodEntry(name=item))
            continue
        if not isinstance(item, dict):
            raise UsageError(f"{at}: expected a method name or a mapping with 'name', got {item!r}")
        if item.get("name") is None and any(k in item for k in METHOD_PARTS):
            item = {"name": "standard", **item}  # parts composed on plain cross entropy
        if not isinstance(item.get("name"), str):
            raise UsageError(
                f"{at}: a method mapping needs a 'name' (e.g. name: nce+rce) or parts "
                "(e.g. loss: {name: gce, q: 0.7})"
            )
        at = f"{where}: methods[{i}] ({item['name']})"
        params = {k: v for k, v in item.items() if k not in METHOD_KEYS}
        explicit = item.get("params") or {}
        config = item.get("config") or {}
        if not isinstance(explicit, dict):
            raise UsageError(f"{at}: params must be a mapping")
        if not isinstance(config, dict):
            raise UsageError(f"{at}: config must be a mapping of TrainConfig fields")
        clash = sorted(set(config) & {"method", "method_params", "seed", "dataset", "noise"})
        if clash:
            raise UsageError(f"{at}: config may not set {clash[0]} (it is an axis of the grid)")
        label = item.get("label")
        entries.append(
            MethodEntry(
                name=item["name"],
                params={**params, **explicit},
                label=None if label is None else str(label),
                config=dict(config),
            )
        )
    return entries


def expand_grid(
    grid: dict[str, Any], where: str = "grid", check: Check | None = None
) -> list[RunSpec]:
    """Expand a grid into its runs, validating every config before returning any.

    Args:
        grid: The grid mapping (as read by :func:`load_grid`).
        where: Prefix for error messages (usually the grid's file name).
        check: Extra validation of each config (names of dataset, method, model, noise kind);
            defaults to :func:`check_config`.

    Returns:
        The runs in execution order (seed-major).

    Raises:
        UsageError: One line naming the offending entry, for any bad key, value or name, or two
            entries that expand to the same run.
    """
    g = normalise_grid(grid, where)
    check = check_config if check is None else check
    base = g["base"]
    _validated(base, f"{where}: base")
    for ds, ov in g.get("overrides", {}).items():
        _validated({**base, **ov}, f"{where}: overrides.{ds}")
    methods = [MethodEntry(**m) for m in g["methods"]] if "methods" in g else [None]
    for i, m in enumerate(methods):
        if m is not None and m.config:
            _validated({**base, **m.config}, f"{where}: methods[{i}] ({m.name}) config")

    for noise in g.get("noise", []):
        _check_noise_spec(noise, f"{where}: noise entry {noise!r}")
    seeds = g.get("seeds", [None])
    datasets = g.get("datasets", [None])
    noises = g.get("noise", [None])
    models = g.get("models", [None])
    runs: list[RunSpec] = []
    seen: dict[str, str] = {}
    checked: set[str] = set()
    for seed, ds, noise, method, model in itertools.product(
        seeds, datasets, noises, methods, models
    ):
        d = dict(base)
        if ds is not None:
            d.update(g.get("overrides", {}).get(ds, {}))
            d["dataset"] = ds
        if method is not None:
            d.update(method.config)
            d["method"] = method.name
            d["method_params"] = {**(base.get("method_params") or {}), **method.params}
        for key, value in (("noise", noise), ("model", model), ("seed", seed)):
            if value is not None:
                d[key] = value
        desc = _describe(d)
        cfg = _validated(d, f"{where}: run ({desc})")
        # Names are checked once per config without the seed: one message per bad entry.
        name_key = run_id(cfg.replace(seed=0))
        if name_key not in checked:
            try:
                check(cfg)
            except UsageError as e:
                raise UsageError(f"{where}: run ({desc}): {e}") from None
            checked.add(name_key)
        rid = run_id(cfg)
        if rid in seen:
            raise UsageError(
                f"{where}: runs ({seen[rid]}) and ({desc}) have the same config; "
                "remove one of the duplicate entries"
            )
        seen[rid] = desc
        runs.append(RunSpec(run_id=rid, config=cfg, label=method.label if method else None))
    return runs


def _describe(d: dict[str, Any]) -> str:
    keys = ("dataset", "noise", "method", "method_params", "model", "seed")
    parts = [f"{k}={d[k]}" for k in keys if d.get(k) not in (None, {})]
    return ", ".join(parts) or "defaults"


def _validated(d: dict[str, Any], where: str) -> TrainConfig:
    try:
        return from_dict(d, where=where)
    except UsageError as e:
        msg = str(e)
        raise UsageError(msg if msg.startswith(where) else f"{where}: {msg}") from None


def _check_noise_spec(spec: str, where: str) -> None:
    """Parse a noise axis entry once (:meth:`NoiseSpec.parse`): kind and rate, before any run.

    The config keeps the entry as written (the run id hashes it); ``file:`` entries are checked
    when the run reads the file.
    """
    from noisylabels.noise import NoiseSpec, noise_file

    if noise_file(spec) is not None:
        return
    try:
        NoiseSpec.parse(spec)
    except UsageError as e:
        raise UsageError(f"{where}: {e}") from None


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/8"`` -> ``(2, 8)``: shard 2 of 8, shards numbered ``0 .. n-1``.

    Raises:
        UsageError: One line for anything else.
    """
    index, sep, count = str(text).partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        i = n = -1
    if not sep or n < 1 or not 0 <= i < n:
        raise UsageError(
            f"--shard expects I/N with 0 <= I < N (e.g. 0/4 ... 3/4) or slurm, got {text!r}"
        )
    return i, n


def slurm_shard(env: dict[str, str]) -> tuple[int, int]:
    """The shard of this task of a SLURM job array: ``(task index, task count)``.

    The index counts the array's tasks from 0 whatever their ids (``--array=1-8``,
    ``--array=0-30:10``): ``(SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) // step``.

    Example:
        >>> env = {"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "1",
        ...        "SLURM_ARRAY_TASK_COUNT": "8"}
        >>> slurm_shard(env)
        (4, 8)

    Raises:
        UsageError: Outside a job array.
    """
    try:
        task = int(env["SLURM_ARRAY_TASK_ID"])
        count = int(env["SLURM_ARRAY_TASK_COUNT"])
        first = int(env.get("SLURM_ARRAY_TASK_MIN", "0"))
        step = int(env.get("SLURM_ARRAY_TASK_STEP", "1") or 1)
    except (KeyError, ValueError):
        raise UsageError(
            "--shard slurm needs SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT: run it as a "
            "task of a SLURM job array (sbatch --array=0-N), or give --shard I/N"
        ) from None
    return parse_shard(f"{(task - first) // max(1, step)}/{count}")


def select_shard(runs: list[RunSpec], index: int, count: int) -> list[RunSpec]:
    """The runs of shard ``index`` of ``count``: a deterministic split by ``run_id``.

    The run ids are sorted and dealt out in turn, so the shards differ in size by at most one
    run, every run is in exactly one shard, and the split depends only on the set of runs (not
    on the order of the grid's axes). Within a shard the runs keep the grid's order (seed-major).
    Adding or removing runs of the grid deals the ids anew: run the shards of one grid to the
    end before changing it, or give the new grid new results files.

    Args:
        runs: The expanded grid.
        index: The shard, ``0 <= index < count``.
        count: The number of shards.

    Example:
        >>> from noisylabels.train.config import TrainConfig
        >>> runs = [RunSpec(run_id=c * 12, config=TrainConfig()) for c in "dacb"]
        >>> [[r.run_id[0] for r in select_shard(runs, i, 2)] for i in range(2)]
        [['a', 'c'], ['d', 'b']]
    """
    if count < 1 or not 0 <= index < count:
        raise UsageError(f"shard {index}/{count}: need 0 <= index < count")
    mine = set(sorted(r.run_id for r in runs)[index::count])
    return [r for r in runs if r.run_id in mine]
