"""Tables from sweep results: methods x noise levels, mean ± std over seeds.

One table per dataset and noise kind (``symmetric``, ``asymmetric``, ``uniform``, ...; named
noise such as ``cifar10n-worst`` goes to an ``other`` table), with the ``clean`` runs as the first
column of each. Rows are methods, named by the grid's ``label`` or by the method and its params;
if runs under one row name differ in any other setting (model, epochs, lr, ...), the row is split
and the differing settings are appended to its name, so runs with different settings are never
averaged together. A setting absent from a record (written before it existed) counts as its
``TrainConfig`` default.

Cells are test accuracy in percent, ``mean ± std`` over seeds with the sample standard deviation
(ddof=1); a cell with one seed shows the mean alone. When cells of a table have different seed
counts, those below the table's maximum show ``(n=k)``. Each table ends with the realised noise
rate of its columns (the share of training labels that differ from the clean ones).

Metrics: ``last`` (final epoch), ``selected`` (the epoch with the best accuracy on the noisy
validation split, the honest choice and the default) and ``best`` (best test accuracy over epochs;
*optimistic*, it selects on the test set).

Published numbers can be shown beside ours with a reference file (see :func:`load_reference`);
cells then read ``ours ± std / published (ours − published)``.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from noisylabels.bench.grid import method_display
from noisylabels.bench.results import latest_by_run, load_records
from noisylabels.errors import UsageError
from noisylabels.train.config import TrainConfig

__all__ = [
    "METRICS",
    "Cell",
    "Column",
    "Reference",
    "Table",
    "failed_runs",
    "load_records",
    "load_reference",
    "noise_info",
    "render_csv",
    "render_markdown",
    "row_labels",
    "select_seeds",
    "summarise",
    "sweep_info",
]

METRICS = {
    "last": ("test_acc_last", "at the last epoch"),
    "selected": ("test_acc_selected", "at the epoch with the best noisy-validation accuracy"),
    "best": ("test_acc_best", "best over epochs (optimistic: selected on the test set)"),
}
CLEAN = "clean"
NAMED = "other"
# Config keys that may differ between runs of one row without splitting it.
ROW_INVARIANT = ("dataset", "noise", "noise_seed", "seed", "device", "data_root", "eval_batch_size")
# A setting added after a record was written is absent from it; that run had the default.
# The same serialisation the records use, so a default compares equal to a stored value.
_DEFAULTS = TrainConfig().to_dict()


def parse_noise(spec: str) -> tuple[str, float | None]:
    """``symmetric:0.4`` -> ``("symmetric", 0.4)``; ``clean`` -> ``("clean", 0.0)``.

    Anything else (``cifar10n-worst``, ``file:labels.npz``) is ``("other", None)``.
    """
    if spec == CLEAN:
        return CLEAN, 0.0
    kind, sep, rate = spec.partition(":")
    if sep and kind != "file":
        try:
            return kind, float(rate)
        except ValueError:
            pass
    return NAMED, None


def noise_info(record: dict[str, Any]) -> tuple[str, float | None, str]:
    """``(kind, rate, spec)`` of a record, from its canonical ``noise`` block when present.

    Falls back to parsing ``config.noise``; ``clean`` has rate 0, named noise rate None.
    """
    spec = str((record.get("config") or {}).get("noise"))
    noise = record.get("noise") or {}
    kind, rate = noise.get("kind"), noise.get("rate")
    if isinstance(kind, str) and kind:
        spec = str(noise.get("spec") or spec)
        if kind == CLEAN:
            return CLEAN, 0.0, CLEAN
        if isinstance(rate, int | float):
            return kind, float(rate), spec
        return NAMED, None, spec
    kind, rate = parse_noise(spec)
    return kind, rate, spec


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


@dataclass(frozen=True)
class Reference:
    """Published numbers: ``tables[(dataset, kind)][row][column key] = accuracy in %``."""

    tables: dict[tuple[str, str], dict[str, dict[str, float]]]
    sources: dict[tuple[str, str], str]


def row_labels(records: list[dict[str, Any]]) -> dict[int, str]:
    """Row name of each record (by position in ``records``), split by differing settings."""
    base: dict[int, tuple[str, str]] = {}
    for i, rec in enumerate(records):
        cfg = rec.get("config") or {}
        base[i] = (str(cfg.get("dataset")), rec.get("label") or method_display(cfg))
    # Which settings vary among the runs of one (dataset, label)?
    groups: dict[tuple[str, str], list[int]] = {}
    for i, key in base.items():
        groups.setdefault(key, []).append(i)
    out: dict[int, str] = {}
    for (_, label), idx in groups.items():
        configs = [_DEFAULTS | (records[i].get("config") or {}) for i in idx]
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


def select_seeds(records: list[dict[str, Any]], seeds: list[int]) -> list[dict[str, Any]]:
    """The records of the given seeds only.

    For a sweep whose last seed is still running: the complete seeds' tables, without cells
    that mix n and n + 1 seeds.

    Args:
        records: Records as read by :func:`load_records`.
        seeds: Training seeds (``config.seed``) to keep.

    Returns:
        The records whose seed is in ``seeds``, in file order.

    Raises:
        UsageError: A seed that no record has (a typo would otherwise drop a column silently).
    """

    def seed_of(r: dict[str, Any]) -> Any:
        return (r.get("config") or {}).get("seed")

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
    records: list[dict[str, Any]],
    metric: str = "selected",
    reference: Reference | None = None,
) -> list[Table]:
    """Group ``ok`` records into tables (see the module docstring for the layout).

    Records are first reduced to one per ``run_id`` (the last ``ok`` one), so a file with
    retried runs counts each run once.

    Args:
        records: Records as read by :func:`load_records`.
        metric: ``last``, ``selected`` or ``best``.
        reference: Published numbers to place beside ours.

    Returns:
        Tables ordered by dataset (first appearance), then noise kind (first appearance).
    """
    if metric not in METRICS:
        raise UsageError(f"unknown metric {metric!r}; choose one of: {', '.join(METRICS)}")
    key = METRICS[metric][0]
    ok = [r for r in latest_by_run(records).values() if r.get("status") == "ok"]
    labels = row_labels(ok)

    # dataset -> kind -> Table; clean runs go to every kind of their dataset.
    tables: dict[str, dict[str, Table]] = {}
    clean: dict[str, list[int]] = {}
    for i, rec in enumerate(ok):
        ds = str((rec.get("config") or {}).get("dataset"))
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
        ds = str((rec.get("config") or {}).get("dataset"))
        kind, rate, spec = noise_info(rec)
        targets = tables[ds].values() if kind == CLEAN else [tables[ds][kind]]
        value = (rec.get("final") or {}).get(key)
        for t in targets:
            _add(t, labels[i], spec, kind, rate, rec, value)

    out = [t for by_kind in tables.values() for t in by_kind.values()]
    for t in out:
        t.columns.sort(key=lambda c: (c.key != CLEAN, c.rate if c.rate is not None else 0.0))
    if reference is not None:
        _attach_reference(out, reference, metric)
    return out


def _add(
    t: Table,
    row: str,
    spec: str,
    kind: str,
    rate: float | None,
    rec: dict[str, Any],
    value: Any,
) -> None:
    key = CLEAN if kind == CLEAN else (spec if rate is None else rate_key(rate))
    col = t.column(key)
    if col is None:
        col = Column(key=key, spec=spec, rate=rate)
        t.columns.append(col)
    realised = (rec.get("noise") or {}).get("realised_rate")
    if isinstance(realised, int | float):
        col.realised.append(float(realised))
    if row not in t.rows:
        t.rows.append(row)
    cell = t.cells.setdefault((row, key), Cell())
    if isinstance(value, int | float) and math.isfinite(value):
        cell.values.append(float(value))
        cell.seeds.append(int((rec.get("config") or {}).get("seed", -1)))


def _attach_reference(tables: list[Table], ref: Reference, metric: str) -> None:
    by_key = {(t.dataset, t.kind): t for t in tables}
    for (ds, kind), rows in ref.tables.items():
        t = by_key.get((ds, kind))
        if t is None:
            t = Table(dataset=ds, kind=kind, metric=metric)
            tables.append(t)
            by_key[(ds, kind)] = t
        t.source = ref.sources.get((ds, kind))
        lower = {r.lower(): r for r in t.rows}
        for ref_row, values in rows.items():
            row = lower.get(ref_row.lower())
            if row is None:
                row = ref_row
                t.rows.append(row)
                lower[row.lower()] = row
            for col_key, v in values.items():
                if t.column(col_key) is None:
                    rate = 0.0 if col_key == CLEAN else _maybe_float(col_key)
                    if col_key == CLEAN or rate is None:
                        spec = col_key
                    else:
                        spec = f"{kind}:{col_key}"
                    t.columns.append(Column(key=col_key, spec=spec, rate=rate))
                t.published[(row, col_key)] = v
        t.columns.sort(key=lambda c: (c.key != CLEAN, c.rate if c.rate is not None else 0.0))


def _maybe_float(s: str) -> float | None:
    try:
        return float(s)
    except ValueError:
        return None


def load_reference(path: str | Path) -> Reference:
    """Read published numbers to show beside ours.

    Format (accuracies in %; a row name matches our row label, case-insensitively; column keys
    are ``clean``, a noise rate, or a named noise spec for the ``other`` table)::

        source: Student report, 7 epochs, seed-cnn     # default source of all tables
        tables:
          - dataset: cifar10
            noise: symmetric                           # noise kind of our table
            rows:
              CE: {clean: 60.78, 0.1: 58.87, 0.3: 53.39, 0.6: 45.14}
              APL NCE+RCE: {clean: 64.07, 0.1: 61.80}
          - dataset: cifar10
            noise: uniform                             # its 0.9 column was really uniform noise
            source: Student report (0.9 run as uniform)
            rows:
              CE: {0.9: 15.44}

    Raises:
        UsageError: One line for a bad file.
    """
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text())
    except OSError as e:
        raise UsageError(f"cannot read reference {p}: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise UsageError(f"bad YAML in reference {p}: {str(e).splitlines()[0]}") from None
    if not isinstance(data, dict) or not isinstance(data.get("tables"), list):
        raise UsageError(f"reference {p}: expected a mapping with a 'tables' list")
    default_source = data.get("source")
    tables: dict[tuple[str, str], dict[str, dict[str, float]]] = {}
    sources: dict[tuple[str, str], str] = {}
    for i, t in enumerate(data["tables"]):
        at = f"reference {p}: tables[{i}]"
        if not isinstance(t, dict) or not {"dataset", "noise", "rows"} <= set(t):
            raise UsageError(f"{at}: needs dataset, noise and rows")
        if not isinstance(t["rows"], dict):
            raise UsageError(f"{at}: rows must map a method label to {{noise level: accuracy}}")
        key = (str(t["dataset"]), str(t["noise"]))
        rows = tables.setdefault(key, {})
        for label, values in t["rows"].items():
            if not isinstance(values, dict):
                raise UsageError(f"{at}: row {label!r} must map noise levels to accuracies")
            row = rows.setdefault(str(label), {})
            for col, v in values.items():
                if not isinstance(v, int | float) or isinstance(v, bool):
                    raise UsageError(f"{at}: row {label!r}, {col}: {v!r} is not a number")
                ck = CLEAN if str(col) == CLEAN else _col_key(col)
                row[ck] = float(v)
        src = t.get("source", default_source)
        if src is not None:
            sources[key] = str(src)
    return Reference(tables=tables, sources=sources)


def _col_key(col: Any) -> str:
    f = _maybe_float(str(col))
    return rate_key(f) if f is not None else str(col)


def failed_runs(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Runs whose latest record failed (no ``ok`` record for their ``run_id``)."""
    return [r for r in latest_by_run(records).values() if r.get("status") != "ok"]


# ---------------------------------------------------------------------------------- rendering


def fmt_cell(cell: Cell | None, max_n: int) -> str:
    """``58.87 ± 0.52``, ``58.87`` (one seed), ``58.87 ± 0.52 (n=2)``, or ``—``."""
    if cell is None or not cell.n:
        return "—"
    text = f"{cell.mean:.2f}"
    if cell.std is not None:
        text += f" ± {cell.std:.2f}"
    if cell.n != max_n:
        text += f" (n={cell.n})"
    return text


def best_rows(t: Table, key: str) -> set[str]:
    """Rows whose mean is the highest of column ``key`` at the printed precision (ties: all)."""
    means = {
        row: round(cell.mean, 2)
        for row in t.rows
        if (cell := t.cells.get((row, key))) is not None and cell.n
    }
    if len(means) < 2:
        return set()
    top = max(means.values())
    return {row for row, m in means.items() if m == top}


def _fmt_with_ref(t: Table, row: str, key: str, bold: bool = False) -> str:
    cell = t.cells.get((row, key))
    ours = fmt_cell(cell, t.max_n)
    if bold:
        ours = f"**{ours}**"
    pub = t.published.get((row, key))
    if pub is None:
        return ours
    text = f"{ours} / {pub:.2f}"
    if cell is not None and cell.n:
        text += f" ({cell.mean - pub:+.2f})"
    return text


def render_markdown(
    tables: list[Table],
    *,
    failed: list[dict[str, Any]] | None = None,
    title: str | None = None,
    heading_level: int = 2,
) -> str:
    """Markdown for ``tables`` (and a list of failed runs, if any)."""
    h = "#" * heading_level
    lines: list[str] = []
    if title:
        lines += [f"{h} {title}", ""]
    for t in tables:
        _, what = METRICS[t.metric]
        seeds = f"mean ± std over {t.max_n} seeds" if t.max_n > 1 else "one seed"
        lines += [f"{h}# {t.title}", ""]
        lines.append(f"Test accuracy (%) {what}; {seeds}.")
        if t.published:
            src = f" ({t.source})" if t.source else ""
            lines.append(f"Cells: ours / published{src} (difference).")
        if len(t.rows) > 1:
            lines.append("Bold: the best of our means in each column.")
        lines.append("")
        header = ["method"] + [c.key for c in t.columns]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join(["---"] + ["---:"] * len(t.columns)) + "|")
        best = {c.key: best_rows(t, c.key) for c in t.columns}
        for row in t.rows:
            cells = [_fmt_with_ref(t, row, c.key, row in best[c.key]) for c in t.columns]
            lines.append("| " + " | ".join([_md_escape(row), *cells]) + " |")
        realised = [
            f"{c.realised_mean:.2f}" if c.realised_mean is not None else "—" for c in t.columns
        ]
        lines.append("| " + " | ".join(["*realised noise (%)*", *realised]) + " |")
        lines.append("")
    if failed:
        lines += [f"{h}# Failed runs ({len(failed)})", ""]
        lines.append("| run_id | dataset | noise | method | seed | error |")
        lines.append("|---|---|---|---|---:|---|")
        for r in failed:
            cfg = r.get("config") or {}
            label = r.get("label") or method_display(cfg)
            lines.append(
                f"| {r.get('run_id')} | {cfg.get('dataset')} | {cfg.get('noise')} | "
                f"{_md_escape(label)} | {cfg.get('seed')} | {_md_escape(str(r.get('error')))} |"
            )
        lines.append("")
    return "\n".join(lines)


def _md_escape(s: str) -> str:
    return s.replace("|", "\\|")


CSV_FIELDS = (
    "dataset",
    "noise_kind",
    "method",
    "noise_level",
    "noise_spec",
    "metric",
    "mean_pct",
    "std_pct",
    "n",
    "seeds",
    "realised_noise_pct",
    "published_pct",
)


def render_csv(tables: list[Table]) -> str:
    """Tidy CSV, one line per table cell (percent, 4 decimals; empty where undefined)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_FIELDS)

    def num(v: float | None) -> str:
        return "" if v is None else f"{v:.4f}"

    for t in tables:
        for row in t.rows:
            for c in t.columns:
                cell = t.cells.get((row, c.key))
                pub = t.published.get((row, c.key))
                if (cell is None or not cell.n) and pub is None:
                    continue
                w.writerow(
                    [
                        t.dataset,
                        t.kind,
                        row,
                        c.key,
                        c.spec,
                        t.metric,
                        num(cell.mean if cell else None),
                        num(cell.std if cell else None),
                        cell.n if cell else 0,
                        " ".join(map(str, sorted(cell.seeds))) if cell else "",
                        num(c.realised_mean),
                        num(pub),
                    ]
                )
    return buf.getvalue()


def sweep_info(results: str | Path) -> str | None:
    """A Markdown paragraph on how a results file was produced, from its ``.meta.json``.

    Says the sweep's total wall time (over all invocations), the sum of its runs' own wall
    times, and the workers, machine, versions and end of the last invocation that ran a run,
    and the last command. None if there is no meta file.
    """
    from noisylabels.bench.sweep import sidecar

    p = sidecar(results, ".meta.json")
    try:
        meta = json.loads(p.read_text())
        sessions = list(meta["sessions"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not sessions:
        return None
    # The machine and versions of the last invocation that ran something: a rerun that found
    # every run recorded (to close a killed session, say) may come from another machine.
    ran = [s for s in sessions if (s.get("ok") or 0) + (s.get("failed") or 0) > 0]
    last = (ran or sessions)[-1]
    recs = [r for r in latest_by_run(load_records(results, warn=False)).values()]
    ok = sum(r.get("status") == "ok" for r in recs)
    run_time = sum(float(r.get("wall_time_s") or 0.0) for r in recs)
    m, v = last.get("machine") or {}, last.get("versions") or {}
    machine = f"{m.get('processor') or m.get('platform', '?')}, {m.get('cpu_count', '?')} cores"
    if m.get("cuda"):
        machine += f", {m['cuda']}"
    lines = [
        f"- Sweep `{Path(results).name}`: {ok} ok of {len(recs)} runs; wall time "
        f"{float(meta.get('wall_time_s') or 0.0):.1f} s over {len(sessions)} invocation(s) "
        f"(sum of run wall times {run_time:.1f} s, workers {last.get('workers')}).",
        f"- Machine: {machine}; noisylabels {v.get('noisylabels')}, torch {v.get('torch')}, "
        f"python {v.get('python')}; last run {last.get('ended_at') or last.get('started_at')}.",
    ]
    cmds = [s.get("command") for s in sessions if s.get("command")]
    if cmds:
        lines.append(f"- Command: `{cmds[-1]}`")
    return "\n".join(lines)
