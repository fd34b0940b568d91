"""The student report's published cells beside the rerun of its code, with a verdict per cell.

Reads the sweep results of ``benchmarks/grids/report_code_cifar10.yaml`` and the published
cells (``benchmarks/reference/student_report_code.yaml``), and prints one markdown table per
noise kind: published, ours (last-epoch test accuracy, mean ± sample std over the seeds run),
the difference, and whether the cell is reproduced: within 2 points of the published value, or
within two seed std of it (with at least 2 seeds). The published asymmetric "APL NFL+RCE" row
was trained with the report's CE/H + CE, so it is compared with that row's runs.

    python benchmarks/report_code_compare.py benchmarks/results/report_code_cifar10.jsonl \
        benchmarks/reference/student_report_code.yaml

``--rows`` prints instead one table per noise kind of the given rows side by side, each
``NAME|RESULTS.jsonl|LABEL`` (a grid row of a results file; its last-epoch test accuracy, mean ±
std over seeds, and the number of seeds; a file that does not exist yet counts as no runs), or
``NAME|published|LABEL`` for a published row of the reference file.
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict
from pathlib import Path

from noisylabels.bench.report.reference import load_reference
from noisylabels.bench.results import load_records

#: Published rows that are another run of one of our rows: published label -> our label.
SAME_RUNS = {
    "CE/H + CE, 2nd run (report: APL NFL+RCE)": "CE/H + CE (report: APL NCE+RCE)",
}
#: Printed differently in the report than in the notebook: (kind, row, column) -> report's value.
REPORT_PRINTED = {
    ("asymmetric", "CE x batch-mean 1/max p (report: dynamic weight)", "0.3"): 59.95,
}


def _label_of(record: dict) -> str:
    return record.get("label") or record["config"]["method"]


def _cells(records: list[dict]) -> dict[tuple[str, str, str], list[float]]:
    out: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for r in records:
        if r.get("status") != "ok":
            continue
        noise = r["config"]["noise"]
        kind, _, rate = noise.partition(":")
        label = _label_of(r)
        acc = 100.0 * r["final"]["test_acc_last"]
        if kind == "clean":  # the clean runs stand in both tables
            for k in ("uniform", "asymmetric"):
                out[(k, label, "clean")].append(acc)
        else:
            out[(kind, label, f"{float(rate):g}")].append(acc)
    return out


LEVELS = ("clean", "0.1", "0.3", "0.6", "0.9")


def _fmt(accs: list[float]) -> str:
    if not accs:
        return "—"
    mean = statistics.fmean(accs)
    if len(accs) == 1:
        return f"{mean:.2f} (1)"
    return f"{mean:.2f} ± {statistics.stdev(accs):.2f} ({len(accs)})"


def rows_beside(specs: list[str], reference: str) -> None:
    """One table per noise kind: the given rows (published or run) side by side."""
    ref = load_reference(reference)
    loaded: dict[str, dict] = {}
    for kind in ("uniform", "asymmetric"):
        print(f"\n#### {kind} noise: last-epoch test accuracy (%), mean ± std (seeds)\n")
        print("| row | " + " | ".join(LEVELS) + " |")
        print("|---|" + "---:|" * len(LEVELS))
        for spec in specs:
            name, source, label = spec.split("|")
            if source == "published":
                values = ref.tables.get(("cifar10", kind), {}).get(label, {})
                cells = [f"{values[c]:.2f}" if c in values else "—" for c in LEVELS]
            else:
                if source not in loaded:  # a results file not (yet) written: no runs
                    exists = Path(source).is_file()
                    loaded[source] = _cells(load_records(source)) if exists else {}
                cells = [_fmt(loaded[source].get((kind, label, c), [])) for c in LEVELS]
            print(f"| {name} | " + " | ".join(cells) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="*", help="results JSONL file(s) of the grid")
    ap.add_argument("reference", help="benchmarks/reference/student_report_code.yaml")
    ap.add_argument("--rows", nargs="+", metavar="NAME|SOURCE|LABEL", help="rows side by side")
    args = ap.parse_args()
    if args.rows:
        rows_beside(args.rows, args.reference)
        return
    records = [r for path in args.results for r in load_records(path)]
    cells = _cells(records)
    ref = load_reference(args.reference)
    held = total = 0
    for (_, kind), rows in ref.tables.items():
        theirs = "symmetric" if kind == "uniform" else kind
        print(f"\n#### {kind} noise (the report's \"{theirs}\")\n")
        print("| published row | level | published | ours (last epoch) | seeds "
              "| ours − published | reproduced |")
        print("|---|---|---:|---:|---:|---:|---|")
        for row, values in rows.items():
            ours_row = SAME_RUNS.get(row, row)
            for col, pub in values.items():
                accs = cells.get((kind, ours_row, col), [])
                total += 1
                if not accs:
                    print(f"| {row} | {col} | {pub:.2f} | not run | 0 | | |")
                    continue
                mean = statistics.fmean(accs)
                std = statistics.stdev(accs) if len(accs) > 1 else None
                diff = mean - pub
                ok = abs(diff) <= 2.0 or (std is not None and abs(diff) <= 2 * std)
                held += ok
                ours = f"{mean:.2f} ± {std:.2f}" if std is not None else f"{mean:.2f}"
                note = ""
                printed = REPORT_PRINTED.get((kind, row, col))
                if printed is not None:
                    note = f" (report prints {printed:.2f}: {mean - printed:+.2f})"
                verdict = "yes" if ok else "no"
                print(f"| {row} | {col} | {pub:.2f} | {ours} | {len(accs)} | {diff:+.2f}{note} "
                      f"| {verdict} |")
    print(f"\n{held} of {total} published cells reproduced (within 2 points, or within two seed "
          "std with 2+ seeds); cells not run count as not reproduced.")


if __name__ == "__main__":
    main()
