"""Tables from sweep results: methods x noise levels, mean ± std over seeds.

:mod:`~noisylabels.bench.report.aggregate` groups records into tables,
:mod:`~noisylabels.bench.report.reference` reads published numbers and places them beside ours,
:mod:`~noisylabels.bench.report.render` writes Markdown and CSV. Records are read through
:mod:`noisylabels.bench.results`.

Example:
    >>> from noisylabels.bench.report import render_markdown, summarise
    >>> rec = {"run_id": "a", "status": "ok", "label": "CE",
    ...        "config": {"dataset": "digits", "noise": "symmetric:0.4", "seed": 0},
    ...        "final": {"test_acc_selected": 0.8125}}
    >>> print(render_markdown(summarise([rec])).splitlines()[6])
    | CE | 81.25 |
"""

from noisylabels.bench.report.aggregate import (
    CLEAN,
    METRICS,
    NAMED,
    Cell,
    Column,
    Table,
    failed_runs,
    noise_info,
    parse_noise,
    rate_key,
    row_labels,
    select_seeds,
    summarise,
)
from noisylabels.bench.report.reference import Reference, load_reference
from noisylabels.bench.report.render import (
    CSV_FIELDS,
    best_rows,
    fmt_cell,
    render_csv,
    render_markdown,
    sweep_info,
)
from noisylabels.bench.results import load_records

__all__ = [
    "CLEAN",
    "CSV_FIELDS",
    "METRICS",
    "NAMED",
    "Cell",
    "Column",
    "Reference",
    "Table",
    "best_rows",
    "failed_runs",
    "fmt_cell",
    "load_records",
    "load_reference",
    "noise_info",
    "parse_noise",
    "rate_key",
    "render_csv",
    "render_markdown",
    "row_labels",
    "select_seeds",
    "summarise",
    "sweep_info",
]
