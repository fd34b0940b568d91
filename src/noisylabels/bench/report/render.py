"""Rendering of report tables: Markdown, tidy CSV, and the sweep paragraph from its sessions.

Cells are test accuracy in percent, ``mean ± std`` over seeds; a cell with one seed shows the
mean alone. When cells of a table have different seed counts, those below the table's maximum
show ``(n=k)``. Each Markdown table ends with the realised noise rate of its columns, and the
best of our means in each column is bold.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from noisylabels.bench.grid import method_display
from noisylabels.bench.report.aggregate import METRICS, Cell, Table
from noisylabels.bench.results import ResultsStore, latest_by_run
from noisylabels.train.record import RunRecord


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
    failed: list[RunRecord] | None = None,
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
            cfg = r.config
            label = r.label or method_display(cfg)
            lines.append(
                f"| {r.run_id} | {cfg.get('dataset')} | {cfg.get('noise')} | "
                f"{_md_escape(label)} | {cfg.get('seed')} | {_md_escape(str(r.error))} |"
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
    store = ResultsStore(results)
    meta = store.meta()
    if meta is None:
        return None
    sessions = meta["sessions"]
    # The machine and versions of the last invocation that ran something: a rerun that found
    # every run recorded (to close a killed session, say) may come from another machine.
    ran = [s for s in sessions if (s.get("ok") or 0) + (s.get("failed") or 0) > 0]
    last = (ran or sessions)[-1]
    recs = list(latest_by_run(store.records(warn=False)).values())
    ok = sum(r.ok for r in recs)
    run_time = sum(float(r.wall_time_s or 0.0) for r in recs)
    m, v = last.get("machine") or {}, last.get("versions") or {}
    machine = f"{m.get('processor') or m.get('platform', '?')}, {m.get('cpu_count', '?')} cores"
    if m.get("cuda"):
        machine += f", {m['cuda']}"
    lines = [
        f"- Sweep `{Path(results).name}`: {ok} ok of {len(recs)} runs; wall time "
        f"{float(meta.get('wall_time_s') or 0.0):.1f} s over {len(sessions)} invocation(s) "
        f"(sum of run wall times {run_time:.1f} s, {_how(last)}).",
        f"- Machine: {machine}; noisylabels {v.get('noisylabels')}, torch {v.get('torch')}, "
        f"python {v.get('python')}; last run {last.get('ended_at') or last.get('started_at')}.",
    ]
    cmds = [s.get("command") for s in sessions if s.get("command")]
    if cmds:
        lines.append(f"- Command: `{cmds[-1]}`")
    return "\n".join(lines)


def _how(session: dict[str, Any]) -> str:
    """``workers 2``, or for a Ray sweep what each run reserved on how big a cluster."""
    ray = session.get("ray")
    if session.get("backend") != "ray" or not isinstance(ray, dict):
        return f"workers {session.get('workers')}"
    return (
        f"Ray: {ray.get('cpus_per_run', 0):g} CPU(s) and {ray.get('gpus_per_run', 0):g} GPU(s) "
        f"per run on {ray.get('cluster_cpus', 0):g} CPUs and {ray.get('cluster_gpus', 0):g} GPUs"
    )
