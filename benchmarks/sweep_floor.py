"""A sweep's wall time against its compute floor.

The floor of a sweep is the sum over its runs of ``epochs x bare epoch time``, where the bare
epoch time is forward + CE + backward + SGD step over pre-made float batches of the run's
model, batch size and training-set size (no data work, no evaluation, no logging): what the
hardware needs for the arithmetic alone. It is measured here, on synthetic inputs of the
run's shape, so run this script on the same machine right after the sweep.

    python benchmarks/sweep_floor.py benchmarks/results/student_cifar10.jsonl [--seeds 0]

Prints the floor, the sweep's wall time (from ``<results>.meta.json``: the sum over its
sessions), the summed per-run wall times, and their ratios.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import torch
import torch.nn.functional as F

from noisylabels.bench.results import load_records
from noisylabels.data import dataset_info
from noisylabels.models import get_model


def bare_epoch_seconds(
    model: str, shape: tuple, k: int, n_train: int, bs: int, probe_steps: int = 12
) -> float:
    """Seconds for one bare epoch, from the best of 3 timings of ``probe_steps`` steps."""
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

    def steps() -> None:
        for x, y in zip(xs, ys, strict=True):
            loss = F.cross_entropy(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    steps()  # warm-up
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        steps()
        best = min(best, time.perf_counter() - t)
    full, rest = divmod(n_train, bs)
    per_step = best / probe_steps
    return per_step * (full + rest / bs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", type=Path)
    ap.add_argument("--seeds", type=int, nargs="*", help="only runs of these seeds")
    args = ap.parse_args()
    recs = [r for r in load_records(args.results) if r.get("status") == "ok"]
    if args.seeds:
        recs = [r for r in recs if r["config"]["seed"] in args.seeds]
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in recs:
        c, d = r["config"], r["data"]
        groups[(d["model"], c["dataset"], d["num_train"], c["batch_size"])].append(r)
    floor = 0.0
    for (model, dataset, n_train, bs), rs in groups.items():
        info = dataset_info(dataset)
        t_epoch = bare_epoch_seconds(model, tuple(info.input_shape), info.num_classes, n_train, bs)
        epochs = sum(len(r["epochs"]) for r in rs)
        floor += epochs * t_epoch
        print(
            f"{model} on {dataset} (n={n_train}, batch {bs}): bare epoch {t_epoch:.2f} s, "
            f"{len(rs)} runs, {epochs} epochs"
        )
    run_wall = sum(r["wall_time_s"] for r in recs)
    meta_path = args.results.with_suffix(".meta.json")
    sweep_wall = None
    if meta_path.exists() and not args.seeds:
        meta = json.loads(meta_path.read_text())
        sweep_wall = sum(s.get("wall_time_s") or 0.0 for s in meta.get("sessions", []))
    print(f"runs: {len(recs)}; compute floor {floor:.0f} s")
    print(f"sum of run wall times {run_wall:.0f} s = {run_wall / floor:.2f} x floor")
    if sweep_wall:
        print(f"sweep wall time {sweep_wall:.0f} s = {sweep_wall / floor:.2f} x floor")


if __name__ == "__main__":
    main()
