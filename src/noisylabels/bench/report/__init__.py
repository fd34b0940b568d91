"""Tables from sweep results: methods x noise levels, mean ± std over seeds.

:mod:`~noisylabels.bench.report.aggregate` groups records into tables,
:mod:`~noisylabels.bench.report.reference` reads published numbers and places them beside ours,
:mod:`~noisylabels.bench.report.render` writes Markdown and CSV. Records are read through
:mod:`noisylabels.bench.results` as typed :class:`~noisylabels.train.record.RunRecord` objects
(a record in its JSON form, as :func:`~noisylabels.train.run` returns it, is read with
:meth:`~noisylabels.train.record.RunRecord.from_json`).

Example:
    >>> from noisylabels.bench.report import render_markdown, summarise
    >>> from noisylabels.train import TrainConfig, run
    >>> rec = run(TrainConfig(dataset="moons", noise="symmetric:0.2", epochs=2, method="ce"))
    >>> lines = render_markdown(summarise([rec])).splitlines()
    >>> lines[0], lines[4], lines[-1]
    ('### moons · symmetric noise', '| method | 0.2 |', '| *realised noise (%)* | 20.00 |')
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
from noisylabels.bench.results import grid_ordered, load_records, read_run_records

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
    "grid_ordered",
    "load_records",
    "load_reference",
    "noise_info",
    "rate_key",
    "read_run_records",
    "render_csv",
    "render_markdown",
    "row_labels",
    "select_seeds",
    "summarise",
    "sweep_info",
]
