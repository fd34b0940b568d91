"""Aggregation of sweep records into tables: methods x noise levels, mean ± std over seeds.

One table per dataset and noise kind (``symmetric``, ``asymmetric``, ``uniform``, ...; named
noise such as ``cifar10n-worst`` goes to an ``other`` table), with the ``clean`` runs as the first
column of each. Rows are methods, named by the grid's ``label`` or by the method and its params;
if runs under one row name differ in any other setting (model, epochs, lr, ...), the row is split
and the differing settings are appended to its name, so runs with different settings are never
averaged together. A setting absent from a record (written before it existed) counts as its
``TrainConfig`` default.

A cell holds the test accuracy of each seed; its mean and sample standard deviation (ddof=1)
are in percent. Each column also keeps the realised noise rates of its runs (the share of
training labels that differ from the clean ones).

Metrics: ``last`` (final epoch), ``selected`` (the epoch with the best accuracy on the noisy
validation split, the honest choice and the default) and ``best`` (best test accuracy over epochs;
*optimistic*, it selects on the test set).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from noisylabels.bench.grid import method_display
from noisylabels.bench.results import as_run_records, latest_by_run
from noisylabels.errors import UsageError
from noisylabels.train.record import RunRecord

if TYPE_CHECKING:
    from noisylabels.bench.report.reference import Reference

METRICS = {
    "last": ("test_acc_last", "at the last epoch"),
    "selected": ("test_acc_selected", "at the epoch with the best noisy-validation accuracy"),
    "best": ("test_acc_best", "best over epochs (optimistic: selected on the test set)"),
}
CLEAN = "clean"
NAMED = "other"
# Config keys that may differ between runs of one row without splitting it.
ROW_INVARIANT = ("dataset", "noise", "noise_seed", "seed", "device", "data_root", "eval_batch_size")


def noise_info(record: RunRecord) -> tuple[str, float | None, str]:
    """``(table kind, rate, spec)`` of a record, from its :attr:`RunRecord.noise_spec`.

    ``clean`` is ``("clean", 0.0, "clean")``; a kind with a rate is ``(kind, rate, spec)``
    (``("symmetric", 0.4, "symmetric:0.4")``, aliases resolved); human noise, saved noise files
    and anything else go to the ``other`` table with rate None. A kind unknown to this process
    keeps the kind and rate its record names.
    """
    spec = record.noise_spec
    if spec is not None:
        if spec.kind == CLEAN:
            return CLEAN, 0.0, CLEAN
        if spec.rate is None:
            return NAMED, None, str(spec)
        return spec.kind, spec.rate, str(spec)
    n = record.noise
    if n is not None and n.kind and isinstance(n.rate, int | float):
        return n.kind, float(n.rate), n.spec
    return NAMED, None, n.spec if n is not None else str(record.config.get("noise"))


def rate_key(rate: float) -> str:
    """Column key of a noise rate: ``0.4`` -> ``"0.4"``."""
    return f"{rate:g}"


@dataclass
class Cell:
    """Values (fractions) of one method at one noise level, one per seed."""

    values: list[float] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)

    @property
    def n(self) -> int:
        """Number of seeds."""
        return len(self.values)

    @property
    def mean(self) -> float | None:
        """Mean in percent."""
        return 100 * sum(self.values) / self.n if self.values else None

    @property
    def std(self) -> float | None:
        """Sample standard deviation (ddof=1) in percent; None for fewer than 2 seeds."""
        if self.n < 2:
            return None
        m = sum(self.values) / self.n
        return 100 * math.sqrt(sum((v - m) ** 2 for v in self.values) / (self.n - 1))


@dataclass
class Column:
    """One noise level of a table."""

    key: str  # "clean", "0.4" or a named spec
    spec: str  # the noise spec of the runs: "clean", "symmetric:0.4", "cifar10n-worst"
    rate: float | None
    realised: list[float] = field(default_factory=list)

    @property
    def realised_mean(self) -> float | None:
        """Mean realised noise rate in percent."""
        return 100 * sum(self.realised) / len(self.realised) if self.realised else None


@dataclass
class Table:
    """Methods (rows) x noise levels (columns) for one dataset and noise kind."""

    dataset: str
    kind: str
    metric: str
    columns: list[Column] = field(default_factory=list)
    rows: list[str] = field(default_factory=list)
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)
    published: dict[tuple[str, str], float] = field(default_factory=dict)
    source: str | None = None

    @property
    def title(self) -> str:
        """``digits · symmetric noise``."""
        kind = {CLEAN: "clean labels", NAMED: "other noise"}.get(self.kind, f"{self.kind} noise")
        return f"{self.dataset} · {kind}"

    @property
    def max_n(self) -> int:
        """Largest number of seeds in any cell."""
        return max((c.n for c in self.cells.values()), default=0)

    def column(self, key: str) -> Column | None:
        """The column with ``key``."""
        return next((c for c in self.columns if c.key == key), None)


def row_labels(records: list[RunRecord]) -> dict[int, str]:
    """Row name of each record (by position in ``records``), split by differing settings.

    Configs are compared as :meth:`RunRecord.from_json` migrated them (a setting added after a
    run was recorded holds its default).
    """
    base: dict[int, tuple[str, str]] = {}
    for i, rec in enumerate(records):
        base[i] = (str(rec.config.get("dataset")), rec.label or method_display(rec.config))
    # Which settings vary among the runs of one (dataset, label)?
    groups: dict[tuple[str, str], list[int]] = {}
    for i, key in base.items():
        groups.setdefault(key, []).append(i)
    out: dict[int, str] = {}
    for (_, label), idx in groups.items():
        configs = [records[i].config for i in idx]
        keys = sorted({k for c in configs for k in c} - set(ROW_INVARIANT))
        varying = [k for k in keys if len({_canon(c.get(k)) for c in configs}) > 1]
        for i, c in zip(idx, configs, strict=True):
            extra = ", ".join(f"{k}={_short(c.get(k))}" for k in varying)
            out[i] = f"{label} [{extra}]" if extra else label
    return out


def _canon(v: Any) -> str:
    return json.dumps(v, sort_keys=True, default=str)


def _short(v: Any) -> str:
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_short(x)}" for k, x in sorted(v.items())) + "}"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


_R = TypeVar("_R", RunRecord, Mapping[str, Any])


def select_seeds(records: list[_R], seeds: list[int]) -> list[_R]:
    """The records of the given seeds only.

    For a sweep whose last seed is still running: the complete seeds' tables, without cells
    that mix n and n + 1 seeds.

    Args:
        records: Records (:class:`RunRecord` or their JSON form).
        seeds: Training seeds (``config.seed``) to keep.

    Returns:
        The records whose seed is in ``seeds``, in file order.

    Raises:
        UsageError: A seed that no record has (a typo would otherwise drop a column silently).
    """

    def seed_of(r: _R) -> Any:
        config = r.config if isinstance(r, RunRecord) else r.get("config")
        return (config or {}).get("seed")

    present = {seed_of(r) for r in records}
    missing = [s for s in seeds if s not in present]
    if missing:
        have = ", ".join(str(s) for s in sorted(x for x in present if isinstance(x, int)))
        raise UsageError(
            f"no record has seed {', '.join(map(str, missing))}; seeds in the results: "
            f"{have or 'none'}"
        )
    keep = set(seeds)
    return [r for r in records if seed_of(r) in keep]


def summarise(
    records: Iterable[RunRecord | Mapping[str, Any]],
    metric: str = "selected",
    reference: Reference | None = None,
) -> list[Table]:
    """Group ``ok`` records into tables (see the module docstring for the layout).

    Records are first reduced to one per ``run_id`` (the last ``ok`` one), so a file with
    retried runs counts each run once.

    Args:
        records: Records as :meth:`~noisylabels.bench.results.ResultsStore.records` reads
            them; JSON records (``run()``'s return value) are read with
            :meth:`RunRecord.from_json`.
        metric: ``last``, ``selected`` or ``best``.
        reference: Published numbers to place beside ours.

    Returns:
        Tables ordered by dataset (first appearance), then noise kind (first appearance).
    """
    if metric not in METRICS:
        raise UsageError(f"unknown metric {metric!r}; choose one of: {', '.join(METRICS)}")
    key = METRICS[metric][0]
    ok = [r for r in latest_by_run(as_run_records(records)).values() if r.ok]
    labels = row_labels(ok)

    # dataset -> kind -> Table; clean runs go to every kind of their dataset.
    tables: dict[str, dict[str, Table]] = {}
    clean: dict[str, list[int]] = {}
    for i, rec in enumerate(ok):
        ds = str(rec.config.get("dataset"))
        kind, _, _ = noise_info(rec)
        tables.setdefault(ds, {})
        if kind == CLEAN:
            clean.setdefault(ds, []).append(i)
        elif kind not in tables[ds]:
            tables[ds][kind] = Table(dataset=ds, kind=kind, metric=metric)
    for ds in clean:
        if not tables[ds]:
            tables[ds][CLEAN] = Table(dataset=ds, kind=CLEAN, metric=metric)
    for i, rec in enumerate(ok):
        ds = str(rec.config.get("dataset"))
        kind, rate, spec = noise_info(rec)
        targets = tables[ds].values() if kind == CLEAN else [tables[ds][kind]]
        value = None if rec.final is None else getattr(rec.final, key)
        for t in targets:
            _add(t, labels[i], spec, kind, rate, rec, value)

    out = [t for by_kind in tables.values() for t in by_kind.values()]
    for t in out:
        t.columns.sort(key=lambda c: (c.key != CLEAN, c.rate if c.rate is not None else 0.0))
    if reference is not None:
        reference.attach(out, metric)
    return out


def _add(
    t: Table,
    row: str,
    spec: str,
    kind: str,
    rate: float | None,
    rec: RunRecord,
    value: Any,
) -> None:
    key = CLEAN if kind == CLEAN else (spec if rate is None else rate_key(rate))
    col = t.column(key)
    if col is None:
        col = Column(key=key, spec=spec, rate=rate)
        t.columns.append(col)
    realised = None if rec.noise is None else rec.noise.realised_rate
    if isinstance(realised, int | float):
        col.realised.append(float(realised))
    if row not in t.rows:
        t.rows.append(row)
    cell = t.cells.setdefault((row, key), Cell())
    if isinstance(value, int | float) and math.isfinite(value):
        cell.values.append(float(value))
        cell.seeds.append(int(rec.config.get("seed", -1)))


def failed_runs(records: Iterable[RunRecord | Mapping[str, Any]]) -> list[RunRecord]:
    """Runs whose latest record failed (no ``ok`` record for their ``run_id``)."""
    return [r for r in latest_by_run(as_run_records(records)).values() if not r.ok]
