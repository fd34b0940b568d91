"""Published numbers shown beside ours in a report: the reference file and its attachment.

Cells of a table with a reference read ``ours ± std / published (ours − published)``; a
published row or column that we did not run is added to the table with our side empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from noisylabels.bench.report.aggregate import CLEAN, Column, Table, rate_key
from noisylabels.errors import UsageError


@dataclass(frozen=True)
class Reference:
    """Published numbers: ``tables[(dataset, kind)][row][column key] = accuracy in %``."""

    tables: dict[tuple[str, str], dict[str, dict[str, float]]]
    sources: dict[tuple[str, str], str]

    def attach(self, tables: list[Table], metric: str) -> None:
        """Place the published numbers into ``tables`` (in place; adds missing tables/rows)."""
        by_key = {(t.dataset, t.kind): t for t in tables}
        for (ds, kind), rows in self.tables.items():
            t = by_key.get((ds, kind))
            if t is None:
                t = Table(dataset=ds, kind=kind, metric=metric)
                tables.append(t)
                by_key[(ds, kind)] = t
            t.source = self.sources.get((ds, kind))
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
    from noisylabels.train.config import read_yaml

    p = Path(path)
    data = read_yaml(p, "reference")
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
