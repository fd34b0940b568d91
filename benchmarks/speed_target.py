"""A sweep's wall time against a compute floor measured at the same time, run by run.

``sweep_floor.py`` probes the bare epoch time once, after the sweep. On a shared 2-core VM that
single probe moves by up to 30% from one minute to the next, so a ratio of a 15-minute sweep to
it is as noisy as the probe. This script runs the sweep itself (the library's ``run_sweep``, the
code ``noisylabels sweep`` runs, one run at a time in this process) and, right after each run,
times one sustained bare epoch of that run's shape (model, input shape, classes, training-set
size, batch size: forward, CE, backward, SGD step on pre-made float batches, nothing else). Each
run's floor is then ``epochs x`` the probe taken beside it, under the same machine conditions.

The probes themselves are not the sweep's work: their time (batch creation included) is taken
out of the session's wall time. They are stored one line per run in ``<out>.floor.jsonl``; an
interrupted sweep resumes like any other and the report covers every run with a probe.

    python benchmarks/speed_target.py benchmarks/grids/student_cifar10_speed.yaml \\
        --out benchmarks/results/student_cifar10_speed_interleaved.jsonl
    python benchmarks/speed_target.py \\
        --report benchmarks/results/student_cifar10_speed_interleaved.jsonl
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from noisylabels.bench.grid import expand_grid, load_grid, normalise_grid
from noisylabels.bench.results import load_records, sidecar, utc_now
from noisylabels.bench.sweep import run_sweep, train_runner
from noisylabels.data import dataset_info
from noisylabels.train import run_id
from noisylabels.train.allocator import tune_allocator
from noisylabels.train.config import TrainConfig

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sweep_floor import bare_epoch_seconds


def probe_runner(floor_path: Path):
    """A sweep runner: train the run, then time one bare epoch of its shape beside it."""

    def runner(config: TrainConfig) -> dict[str, Any]:
        record = train_runner(config)
        t0 = time.perf_counter()
        info = dataset_info(config.dataset)
        bare = bare_epoch_seconds(
            record["data"]["model"],
            tuple(info.input_shape),
            info.num_classes,
            record["data"]["num_train"],
            config.batch_size,
            full_epoch=True,
        )
        line = {
            "run_id": run_id(config),
            "measured_at": utc_now(),
            "bare_epoch_s": bare,
            "probe_call_s": time.perf_counter() - t0,  # taken out of the sweep's wall time
        }
        with floor_path.open("a") as f:
            f.write(json.dumps(line) + "\n")
        return record

    return runner


def report(out: Path) -> None:
    """Print wall vs floor over the runs that have both a result and a probe."""
    recs = {r["run_id"]: r for r in load_records(out) if r.get("status") == "ok"}
    lines = [json.loads(x) for x in sidecar(out, ".floor.jsonl").read_text().splitlines()]
    probes = {p["run_id"]: p for p in lines}  # a rerun's probe replaces the older one
    both = [(recs[k], probes[k]) for k in recs if k in probes]
    if not both:
        raise SystemExit(f"no run of {out} has a probe in {sidecar(out, '.floor.jsonl')}")
    floor = sum(len(r["epochs"]) * p["bare_epoch_s"] for r, p in both)
    run_wall = sum(r["wall_time_s"] for r, _ in both)
    # Every probe call ran inside a session, a replaced one too (a run interrupted after its
    # probe and rerun on resume), so all of them come out of the session wall.
    probe_time = sum(p["probe_call_s"] for p in lines)
    sessions = json.loads(sidecar(out, ".meta.json").read_text()).get("sessions", [])
    session_wall = sum(s.get("wall_time_s") or 0.0 for s in sessions)
    wall = session_wall - probe_time
    ratios = [r["wall_time_s"] / (len(r["epochs"]) * p["bare_epoch_s"]) for r, p in both]
    bare = [p["bare_epoch_s"] for _, p in both]
    print(f"{len(both)} runs with a probe beside them (of {len(recs)} ok records)")
    print(
        f"bare epoch, probed after each run: median {statistics.median(bare):.2f} s "
        f"(min {min(bare):.2f}, max {max(bare):.2f})"
    )
    print(
        f"sweep wall {session_wall:.0f} s - probes {probe_time:.0f} s = {wall:.0f} s; "
        f"floor {floor:.0f} s; wall = {wall / floor:.2f} x floor"
    )
    print(
        f"sum of run wall times {run_wall:.0f} s = {run_wall / floor:.2f} x floor; per run: "
        f"median {statistics.median(ratios):.2f} x (min {min(ratios):.2f}, max {max(ratios):.2f})"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("grid", type=Path, nargs="?", help="grid YAML (omit with --report)")
    ap.add_argument("--out", type=Path, help="results file (JSONL)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    ap.add_argument("--report", type=Path, metavar="RESULTS", help="only print the ratios")
    args = ap.parse_args()
    if args.report:
        report(args.report)
        return
    if args.grid is None or args.out is None:
        ap.error("give a grid and --out (or --report RESULTS)")
    # As `noisylabels train`/`sweep` do, once per process; the probes get the same best case.
    tune_allocator()
    grid = normalise_grid(load_grid(args.grid), str(args.grid))
    runs = expand_grid(grid, str(args.grid))
    run_sweep(
        runs,
        args.out,
        workers=1,
        threads=args.threads,
        runner=probe_runner(sidecar(args.out, ".floor.jsonl")),
        progress="quiet",
        grid=grid,
        command=shlex.join(["python", *sys.argv]),
    )
    report(args.out)


if __name__ == "__main__":
    main()
