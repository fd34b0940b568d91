"""A sweep's wall time against its compute floor.

The floor of a sweep is the sum over its runs of ``epochs x bare epoch time``, where the bare
epoch time is forward + CE + backward + SGD step over pre-made float batches of the run's
model, batch size and training-set size (no data work, no evaluation, no logging): what the
hardware needs for the arithmetic alone. It is measured here, on synthetic inputs of the
run's shape, so run this script on the same machine right after the sweep.

    python benchmarks/sweep_floor.py benchmarks/results/student_cifar10.jsonl [--seeds 0,1]

Prints the floor, the sweep's wall time (from ``<results>.meta.json``: the sum over its
sessions), the summed per-run wall times, and their ratios.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from noisylabels.bench.commands import parse_seeds
from noisylabels.bench.report import select_seeds
from noisylabels.bench.results import (
    ResultsStore,
    close_stale_sessions,
    load_records,
    parse_utc,
)
from noisylabels.data import dataset_info
from noisylabels.errors import UsageError
from noisylabels.models import get_model
from noisylabels.train.allocator import tune_allocator


def bare_epoch_seconds(
    model: str,
    shape: tuple,
    k: int,
    n_train: int,
    bs: int,
    probe_steps: int = 40,
    full_epoch: bool = False,
) -> float:
    """Seconds for one bare epoch of ``model`` over ``n_train`` inputs in batches of ``bs``.

    By default the best of 5 timings of ``probe_steps`` steps, extrapolated to an epoch (the
    least disturbed short burst). With ``full_epoch``, one timed pass of a whole epoch's full
    batches (cycling the ``probe_steps`` pre-made batches) after a 3-step warm-up: the sustained
    speed, for probes taken between the runs of a sweep.
    """
    net = get_model(model, shape, k, seed=0)
    g = torch.Generator().manual_seed(0)
    xs = [torch.randn(bs, *shape, generator=g) for _ in range(probe_steps)]
    if len(shape) == 3 and any(isinstance(m, torch.nn.Conv2d) for m in net.modules()):
        # The fastest layout on this CPU, the one the trainer uses: the floor is the best case.
        net = net.to(memory_format=torch.channels_last)
        xs = [x.contiguous(memory_format=torch.channels_last) for x in xs]
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    ys = [torch.randint(0, k, (bs,), generator=g) for _ in range(probe_steps)]
    net.train()

    def steps(n: int) -> None:
        for i in range(n):
            loss = F.cross_entropy(net(xs[i % probe_steps]), ys[i % probe_steps])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    full, rest = divmod(n_train, bs)
    if full_epoch:
        steps(3)  # warm-up
        t = time.perf_counter()
        steps(max(1, full))
        return (time.perf_counter() - t) / max(1, full) * (full + rest / bs)
    steps(probe_steps)  # warm-up
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        steps(probe_steps)
        best = min(best, time.perf_counter() - t)
    return best / probe_steps * (full + rest / bs)


def main() -> None:
    # The trainer runs with the tuned allocator; the floor gets the same best case.
    tune_allocator()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", type=Path)
    ap.add_argument(
        "--seeds", type=parse_seeds, help="only runs of these seeds: a count (2) or a list (0,1)"
    )
    args = ap.parse_args()
    recs = [r for r in load_records(args.results) if r.get("status") == "ok"]
    if args.seeds:
        try:
            recs = select_seeds(recs, args.seeds)
        except UsageError as e:
            raise SystemExit(f"sweep_floor: {e}") from None
    cache: dict[tuple, float] = {}

    def floor_of(rs: list[dict]) -> float:
        total = 0.0
        for r in rs:
            c, d = r["config"], r["data"]
            key = (d["model"], c["dataset"], d["num_train"], c["batch_size"])
            if key not in cache:
                info = dataset_info(c["dataset"])
                cache[key] = bare_epoch_seconds(
                    d["model"], tuple(info.input_shape), info.num_classes, *key[2:]
                )
                print(
                    f"{key[0]} on {key[1]} (n={key[2]}, batch {key[3]}): "
                    f"bare epoch {cache[key]:.2f} s"
                )
            total += len(r["epochs"]) * cache[key]
        return total

    floor = floor_of(recs)
    run_wall = sum(r["wall_time_s"] for r in recs)
    print(
        f"all {len(recs)} runs: compute floor {floor:.0f} s; sum of run wall times "
        f"{run_wall:.0f} s = {run_wall / floor:.2f} x floor"
    )
    sessions = ResultsStore(args.results).sessions()
    if not sessions:
        return
    # A session killed since the last sweep of this file is still "running" there: close it as
    # the next sweep would (counted up to the end of its last finished run), without writing.
    close_stale_sessions(sessions, args.results)
    for i, sess in enumerate(sessions, 1):
        start = parse_utc(sess["started_at"])
        # Sweeps of one file run one at a time (its lock): a session's runs are those started
        # before the next session began.
        end = parse_utc(sessions[i]["started_at"]) if i < len(sessions) else float("inf")
        rs = [r for r in recs if start <= parse_utc(r["started_at"]) < end]
        if not rs:
            continue
        wall = sess["wall_time_s"]
        f = floor_of(rs)
        seeds = sorted({r["config"]["seed"] for r in rs})
        print(
            f"sweep session {i} ({sess['started_at']}, seeds {seeds}): {len(rs)} runs, "
            f"wall {wall:.0f} s, floor {f:.0f} s, wall = {wall / f:.2f} x floor"
        )


if __name__ == "__main__":
    main()
