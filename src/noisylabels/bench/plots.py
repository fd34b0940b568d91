"""PNG plots from sweep results (matplotlib, Agg backend: no display needed).

- :func:`plot_accuracy_vs_noise`: test accuracy vs noise rate, one line per method, error bars
  = std over seeds (a bar chart when the table has a single noise level or named noise).
- :func:`plot_learning_curves`: test accuracy and noisy-validation accuracy vs epoch, mean over
  seeds with a ±std band, one line per method, for one dataset and noise setting.
- :func:`plot_weight_histograms`: last-epoch sample weights of clean vs mislabeled training
  samples, for each weighting method of one noise setting (summed over seeds).
- :func:`write_plots`: all of the above for a results file.

Colours are fixed per method across all figures of one call.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from noisylabels.bench.report import CLEAN, Table, noise_info, row_labels
from noisylabels.bench.results import as_run_records, latest_by_run
from noisylabels.train.record import RunRecord

#: Records as :meth:`~noisylabels.bench.results.ResultsStore.records` reads them, or their JSON.
Records = list[RunRecord] | list[dict[str, Any]]

_DPI = 120


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", s).strip("_")


class _Colors:
    """One fixed look per method label, shared by every figure of a report.

    Colours come from tab10; labels past the tenth reuse a colour with another line style,
    marker and bar hatch, so no two of up to 40 methods look alike.
    """

    _LINES = ("-", "--", ":", "-.")
    _MARKERS = ("o", "s", "^", "D")
    _HATCHES = ("", "//", "..", "xx")

    def __init__(self) -> None:
        self._map: dict[str, int] = {}
        self._cycle = plt.get_cmap("tab10").colors

    def _index(self, label: str) -> int:
        return self._map.setdefault(label, len(self._map))

    def __call__(self, label: str) -> Any:
        return self._cycle[self._index(label) % len(self._cycle)]

    def style(self, label: str) -> dict[str, Any]:
        """Colour, line style and marker for ``label``."""
        k = (self._index(label) // len(self._cycle)) % len(self._LINES)
        return {"color": self(label), "linestyle": self._LINES[k], "marker": self._MARKERS[k]}

    def hatch(self, label: str) -> str:
        return self._HATCHES[(self._index(label) // len(self._cycle)) % len(self._HATCHES)]


def _legend(ax: Axes, n: int) -> None:
    """A legend inside the axes for a few entries, to the right of them for many."""
    if n > 6:
        ax.legend(fontsize=8, frameon=False, loc="center left", bbox_to_anchor=(1.01, 0.5))
    else:
        ax.legend(fontsize=8, frameon=False)


def _ok_records(records: Records) -> list[RunRecord]:
    return [r for r in latest_by_run(as_run_records(records)).values() if r.ok]


def plot_accuracy_vs_noise(
    table: Table, path: str | Path, *, colors: _Colors | None = None
) -> Path:
    """Test accuracy vs noise rate per method for one table; returns the PNG path."""
    colors = colors or _Colors()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    numeric = all(c.rate is not None for c in table.columns) and len(table.columns) > 1
    if numeric:
        for row in table.rows:
            xs, ys, es = [], [], []
            for c in table.columns:
                cell = table.cells.get((row, c.key))
                if cell is not None and cell.n:
                    xs.append(100 * (c.rate or 0.0))
                    ys.append(cell.mean)
                    es.append(cell.std or 0.0)
            if xs:
                ax.errorbar(xs, ys, yerr=es, ms=4, capsize=3, label=row, **colors.style(row))
        ax.set_xlabel(f"{table.kind} noise rate (%)" if table.kind != CLEAN else "noise rate (%)")
        ax.set_xticks([100 * (c.rate or 0.0) for c in table.columns])
        _legend(ax, len(table.rows))
    else:
        _bars(ax, table, colors)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"{table.title} — {_metric_short(table.metric)}", fontsize=10)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def _bars(ax: Axes, table: Table, colors: _Colors) -> None:
    """Bars with std error bars; one group per column (methods side by side within a group).

    With a single column the methods are the x tick labels and there is no legend.
    """
    single = len(table.columns) == 1
    n_rows = max(1, len(table.rows))
    width = 0.8 if single else 0.8 / n_rows
    for j, row in enumerate(table.rows):
        xs, ys, es = [], [], []
        for i, c in enumerate(table.columns):
            cell = table.cells.get((row, c.key))
            if cell is not None and cell.n:
                xs.append(j if single else i + (j - (n_rows - 1) / 2) * width)
                ys.append(cell.mean)
                es.append(cell.std or 0.0)
        ax.bar(
            xs,
            ys,
            width * 0.9,
            yerr=es,
            capsize=4,
            label=row,
            color=colors(row),
            hatch=colors.hatch(row),
        )
        for x, y, e in zip(xs, ys, es, strict=True):
            ax.annotate(
                f"{y:.1f}",
                (x, y + e),
                ha="center",
                va="bottom",
                fontsize=8,
                xytext=(0, 3),
                textcoords="offset points",
            )
    if single:
        ax.set_xticks(range(len(table.rows)))
        ax.set_xticklabels(table.rows, fontsize=9)
        ax.set_xlabel(table.columns[0].spec if table.columns else "")
    else:
        ax.set_xticks(range(len(table.columns)))
        ax.set_xticklabels([c.spec for c in table.columns])
        _legend(ax, len(table.rows))
    cells = [c for c in table.cells.values() if c.n]
    lo = min((c.mean - (c.std or 0.0) for c in cells), default=0.0)
    hi = max((c.mean + (c.std or 0.0) for c in cells), default=100.0)
    ax.set_ylim(max(0.0, lo - 0.3 * (hi - lo) - 2.0), min(100.0, hi + 0.15 * (hi - lo) + 2.0))


def _metric_short(metric: str) -> str:
    return {"last": "last epoch", "selected": "noisy-val selected", "best": "best (optimistic)"}[
        metric
    ]


def _curves(records: Records, dataset: str, spec: str) -> dict[str, dict[str, np.ndarray]]:
    """Map label -> {"epoch", "test_acc", "val_acc_noisy"} arrays, seeds stacked (NaN-padded)."""
    ok = _ok_records(records)
    labels = row_labels(ok)
    out: dict[str, dict[str, list]] = {}
    for i, rec in enumerate(ok):
        if rec.config.get("dataset") != dataset or noise_info(rec)[2] != spec or not rec.epochs:
            continue
        d = out.setdefault(labels[i], {"runs": []})
        d["runs"].append(rec.epochs)
    result: dict[str, dict[str, np.ndarray]] = {}
    for label, d in out.items():
        epochs = sorted({e.epoch for run in d["runs"] for e in run})
        pos = {e: k for k, e in enumerate(epochs)}
        arrays = {}
        for key in ("test_acc", "val_acc_noisy"):
            a = np.full((len(d["runs"]), len(epochs)), np.nan)
            for s, run in enumerate(d["runs"]):
                for e in run:
                    v = getattr(e, key)
                    if isinstance(v, int | float):
                        a[s, pos[e.epoch]] = 100 * v
            # A run that scored the test set only at some epochs (test_eval: selected) has no
            # curve: joining its two points would draw a trajectory nobody measured.
            if key == "test_acc" and any(any(e.test_acc is None for e in r) for r in d["runs"]):
                a[:] = np.nan
            arrays[key] = a
        arrays["epoch"] = np.asarray(epochs)
        result[label] = arrays
    return result


def _curve_panel(
    ax: Axes, curves: dict[str, dict[str, np.ndarray]], key: str, colors: _Colors
) -> None:
    drawn = 0
    for label, d in curves.items():
        a = d[key]
        if np.isnan(a).all():
            continue
        drawn += 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN epochs of short runs
            mean = np.nanmean(a, axis=0)
            std = np.nanstd(a, axis=0) if a.shape[0] > 1 else np.zeros_like(mean)
        style = colors.style(label)
        del style["marker"]  # one point per epoch: markers would only clutter the curves
        ax.plot(d["epoch"], mean, label=label, lw=1.6, **style)
        if a.shape[0] > 1:
            ax.fill_between(d["epoch"], mean - std, mean + std, color=colors(label), alpha=0.15)
    if not drawn and key == "test_acc":
        ax.text(
            0.5, 0.5, "no per-epoch test scores\n(runs used test_eval: selected)",
            ha="center", va="center", transform=ax.transAxes, fontsize=9, color="0.4",
        )  # fmt: skip
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)


def plot_learning_curves(
    records: Records,
    dataset: str,
    spec: str,
    path: str | Path,
    *,
    colors: _Colors | None = None,
) -> Path | None:
    """Test and noisy-validation accuracy vs epoch per method; None if no run has epochs."""
    colors = colors or _Colors()
    curves = _curves(records, dataset, spec)
    if not curves:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    _curve_panel(axes[0], curves, "test_acc", colors)
    _curve_panel(axes[1], curves, "val_acc_noisy", colors)
    axes[0].set_ylabel("accuracy (%)")
    axes[0].set_title("test accuracy (clean labels)", fontsize=10)
    axes[1].set_title("validation accuracy (noisy labels)", fontsize=10)
    _legend(axes[1], len(curves))
    fig.suptitle(f"{dataset} · {spec} — mean ± std over seeds", fontsize=11)
    return _save(fig, path)


def _weights(records: Records, dataset: str, spec: str) -> dict[str, dict]:
    ok = _ok_records(records)
    labels = row_labels(ok)
    out: dict[str, dict] = {}
    for i, rec in enumerate(ok):
        w = rec.weights
        if rec.config.get("dataset") != dataset or noise_info(rec)[2] != spec or not w:
            continue
        bins = np.asarray(w.get("bins", []), dtype=float)
        clean = np.asarray(w.get("clean", []), dtype=float)
        noisy = np.asarray(w.get("noisy", []), dtype=float)
        if clean.shape != noisy.shape or len(bins) not in (len(clean), len(clean) + 1):
            continue
        d = out.get(labels[i])
        if d is None:
            out[labels[i]] = {"bins": bins, "clean": clean, "noisy": noisy, "n": 1}
        elif np.array_equal(d["bins"], bins):
            d["clean"] = d["clean"] + clean
            d["noisy"] = d["noisy"] + noisy
            d["n"] += 1
    return out


def plot_weight_histograms(
    records: Records, dataset: str, spec: str, path: str | Path
) -> Path | None:
    """Histograms of last-epoch weights, clean vs mislabeled; None if no run has weights."""
    data = _weights(records, dataset, spec)
    if not data:
        return None
    n = len(data)
    fig, axes = plt.subplots(1, n, figsize=(max(6.0, 4.2 * n), 3.6), squeeze=False)
    for ax, (label, d) in zip(axes[0], data.items(), strict=True):
        bins = d["bins"]
        if len(bins) == len(d["clean"]) + 1:
            centers, widths = (bins[:-1] + bins[1:]) / 2, np.diff(bins)
        else:
            centers = bins
            widths = np.full(len(bins), np.diff(bins).min() if len(bins) > 1 else 1.0)
        for key, color, name in (
            ("clean", "tab:blue", "clean"),
            ("noisy", "tab:red", "mislabeled"),
        ):
            counts = d[key]
            total = counts.sum()
            share = counts / total if total > 0 else counts
            ax.bar(
                centers,
                share,
                widths * 0.95,
                alpha=0.55,
                color=color,
                label=f"{name} ({int(total / d['n'])} per seed)",
            )
        ax.set_title(f"{label} ({d['n']} seed{'s' if d['n'] > 1 else ''})", fontsize=10)
        ax.set_xlabel("sample weight (last epoch)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, frameon=False)
    axes[0][0].set_ylabel("share of samples")
    fig.suptitle(f"{dataset} · {spec}: last-epoch weights, clean vs mislabeled", fontsize=11)
    return _save(fig, path)


def plot_overview(records: Records, table: Table, spec: str, path: str | Path) -> Path:
    """One figure for one noise setting: accuracy per method (bars) and learning curves."""
    colors = _Colors()
    for row in table.rows:
        colors(row)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.0), gridspec_kw={"width_ratios": [1, 1.2, 1.2]})
    col = next((c for c in table.columns if c.spec == spec), None)
    sub = Table(
        dataset=table.dataset,
        kind=table.kind,
        metric=table.metric,
        columns=[col] if col else [],
        rows=table.rows,
        cells=table.cells,
    )
    _bars(axes[0], sub, colors)
    axes[0].set_ylabel("test accuracy (%)")
    axes[0].set_title(f"test accuracy, {_metric_short(table.metric)}", fontsize=10)
    axes[0].grid(alpha=0.3, axis="y")
    curves = _curves(records, table.dataset, spec)
    _curve_panel(axes[1], curves, "test_acc", colors)
    _curve_panel(axes[2], curves, "val_acc_noisy", colors)
    axes[1].set_title("test accuracy vs epoch", fontsize=10)
    axes[2].set_title("noisy-validation accuracy vs epoch", fontsize=10)
    axes[1].set_ylabel("accuracy (%)")
    axes[2].legend(fontsize=8, frameon=False)
    n = table.max_n
    fig.suptitle(
        f"{table.dataset} · {spec} — mean ± std over {n} seed{'s' if n != 1 else ''}", fontsize=11
    )
    return _save(fig, path)


def _save(fig: Any, path: str | Path) -> Path:
    from noisylabels.outputs import write_with

    fig.tight_layout()
    try:
        return write_with(path, lambda tmp: fig.savefig(tmp, dpi=_DPI), option="plot")
    finally:
        plt.close(fig)


def _canonical(spec: str) -> str:
    """``sym:0.4`` -> ``symmetric:0.4`` (parsed once by NoiseSpec); other text as given."""
    from noisylabels.errors import UsageError
    from noisylabels.noise import NoiseSpec

    try:
        return str(NoiseSpec.parse(spec))
    except UsageError:
        return spec


def unknown_curves(records: Records, curves_for: list[str]) -> tuple[list[str], list[str]]:
    """Entries of ``curves_for`` that name no finished run's noise setting, and the settings.

    Returns:
        ``(unknown entries, the noise specs of the finished runs, sorted)``.
    """
    ok = _ok_records(records)
    have = {noise_info(r)[2] for r in ok}
    known = have | {str(r.config.get("noise")) for r in ok}
    unknown = [s for s in curves_for if s not in known and _canonical(s) not in have]
    return unknown, sorted(have)


def write_plots(
    records: Records,
    tables: list[Table],
    out_dir: str | Path,
    *,
    curves_for: list[str] | None = None,
) -> list[Path]:
    """Write every plot for ``records`` into ``out_dir``; returns the paths written.

    Files: ``acc_<dataset>_<kind>.png`` per table, ``curves_<dataset>_<noise>.png`` and
    ``weights_<dataset>_<noise>.png`` per noise setting (only settings in ``curves_for`` if
    given; weight plots only where runs recorded weights).
    """
    out = Path(out_dir)
    colors = _Colors()
    written: list[Path] = []
    for t in tables:
        if t.cells:
            written.append(
                plot_accuracy_vs_noise(
                    t, out / f"acc_{_slug(t.dataset)}_{t.kind}.png", colors=colors
                )
            )
    # Specs as the tables name them: "sym:0.4" asks for the symmetric:0.4 curves.
    wanted = None if curves_for is None else {_canonical(s) for s in curves_for} | set(curves_for)
    settings: dict[tuple[str, str], tuple[str, float]] = {}
    for r in _ok_records(records):
        kind, rate, spec = noise_info(r)
        key = (str(r.config.get("dataset")), spec)
        if wanted is None or spec in wanted or str(r.config.get("noise")) in wanted:
            settings.setdefault(key, (kind, rate or 0.0))
    for ds, spec in sorted(settings, key=lambda k: (k[0], *settings[k])):
        stem = f"{_slug(ds)}_{_slug(spec)}"
        p = plot_learning_curves(records, ds, spec, out / f"curves_{stem}.png", colors=colors)
        if p:
            written.append(p)
        p = plot_weight_histograms(records, ds, spec, out / f"weights_{stem}.png")
        if p:
            written.append(p)
    return written


__all__ = [
    "plot_accuracy_vs_noise",
    "plot_learning_curves",
    "plot_overview",
    "plot_weight_histograms",
    "unknown_curves",
    "write_plots",
]
