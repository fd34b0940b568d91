"""Memorisation, selected epochs and paired differences of a sweep's results.

For each method (row label) and noise setting: the last epoch's ``memorization`` (share of the
training split's mislabeled samples predicted as their given wrong label), mean ± std over the
seeds, the range of the epochs the noisy-validation selection picked, and the last-epoch test
accuracy. With ``--paired LABEL``: per noise setting, LABEL's selected test accuracy minus every
other row's, paired by seed (mean ± std of the differences, and on how many seeds LABEL is ahead).

    python benchmarks/memorisation_table.py benchmarks/results/memorisation_cifar10.jsonl \
        --paired CICW-M [--seeds 0,1]
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np

from noisylabels.bench.commands import parse_seeds
from noisylabels.bench.results import load_records


def _ms(values: list[float], scale: float = 100.0) -> str:
    a = scale * np.asarray(values, dtype=np.float64)
    if a.size == 1:
        return f"{a[0]:.2f}"
    return f"{a.mean():.2f} ± {a.std(ddof=1):.2f}"


def main() -> None:
    """Print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results")
    ap.add_argument("--seeds", type=parse_seeds, default=None, help="a count or a list (0,1)")
    ap.add_argument("--paired", metavar="LABEL", help="row to compare with every other, by seed")
    args = ap.parse_args()
    recs = [r for r in load_records(args.results) if r.get("status") == "ok"]
    if args.seeds is not None:
        keep = set(args.seeds)
        recs = [r for r in recs if r["config"]["seed"] in keep]
    rows: dict[str, dict[str, dict[int, dict]]] = defaultdict(lambda: defaultdict(dict))
    for r in recs:
        rows[r.get("label") or r["config"]["method"]][r["config"]["noise"]][r["config"]["seed"]] = r
    noises = sorted({n for by in rows.values() for n in by})
    print("| method | " + " | ".join(noises) + " |")
    print("|---|" + "---:|" * len(noises))
    for label, by in rows.items():
        cells = []
        for n in noises:
            runs = list(by.get(n, {}).values())
            if not runs:
                cells.append("")
                continue
            mem = [r["epochs"][-1]["memorization"] for r in runs]
            sel = [r["final"]["selected_epoch"] for r in runs]
            last = [r["final"]["test_acc_last"] for r in runs]
            cells.append(
                f"mem {_ms(mem)}, sel ep {min(sel)}-{max(sel)}, last {_ms(last)} (n={len(runs)})"
            )
        print(f"| {label} | " + " | ".join(cells) + " |")
    if args.paired:
        ref = rows[args.paired]
        print(f"\n{args.paired} minus each row, selected test accuracy (points), paired by seed")
        for n in noises:
            for label, by in rows.items():
                if label == args.paired:
                    continue
                seeds = sorted(set(ref.get(n, {})) & set(by.get(n, {})))
                if not seeds:
                    continue
                d = [
                    ref[n][s]["final"]["test_acc_selected"] - by[n][s]["final"]["test_acc_selected"]
                    for s in seeds
                ]
                ahead = sum(x > 0 for x in d)
                print(f"{n:15s} vs {label:24s} {_ms(d)}  ahead on {ahead} of {len(d)} seeds")


if __name__ == "__main__":
    main()
