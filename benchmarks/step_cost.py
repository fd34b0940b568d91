"""Cost of one training step of a model, and what it makes of a sweep's wall time.

Times forward + cross entropy + backward + SGD (Nesterov) steps on random 32x32x3 batches, the
layout the trainer uses (channels-last for conv nets), after warm-up steps, and counts the FLOPs
of one step with torch's FLOP counter. Prints, per step: wall time, CPU time of this process
(on a shared machine the wall time is inflated by the other processes; CPU seconds divided by
the threads is the time the step would take on that many free cores) and FLOPs, then the
estimate ``wall time = steps x per-step cost`` for a sweep of ``--runs`` runs of ``--run-steps``
steps over ``--gpus`` devices. On a GPU (``--device cuda``) it times with CUDA synchronisation,
so the same command measures the real per-step cost there. Usage:

    python benchmarks/step_cost.py --model preact-resnet18 --batch-size 128 --steps 5
    python benchmarks/step_cost.py --device cuda --steps 200 --warmup 20   # on a GPU machine
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from noisylabels.models import get_model


def step_fn(model: torch.nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor):
    def step() -> None:
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="preact-resnet18")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--steps", type=int, default=5, help="timed steps")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--run-steps", type=int, default=49_984, help="steps of one run")
    ap.add_argument("--runs", type=float, default=156, help="single-network runs of the sweep")
    ap.add_argument("--gpus", type=int, default=1, help="devices the runs are spread over")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    name = args.device
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(name)
    gen = torch.Generator().manual_seed(0)
    model = get_model(args.model, (3, 32, 32), 10, seed=0).to(dev)
    model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    x = torch.randn(args.batch_size, 3, 32, 32, generator=gen).to(dev)
    x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (args.batch_size,), generator=gen).to(dev)
    step = step_fn(model, opt, x, y)

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    with FlopCounterMode(display=False) as counter:
        step()
    flops = counter.get_total_flops()
    for _ in range(args.warmup):
        step()
    sync()
    wall, cpu = [], []
    for _ in range(args.steps):
        t, c = time.perf_counter(), time.process_time()
        step()
        sync()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    best = min(wall)
    threads = torch.get_num_threads()
    per_run = args.run_steps * best
    total = math.ceil(args.runs / args.gpus) * per_run
    out = {
        "model": args.model,
        "batch_size": args.batch_size,
        "device": str(dev)
        + (f" ({torch.cuda.get_device_name(dev)})" if dev.type == "cuda" else ""),
        "torch": torch.__version__,
        "machine": platform.machine(),
        "threads": threads,
        "params": sum(p.numel() for p in model.parameters()),
        "flops_per_step": flops,
        "step_wall_s_best": round(best, 4),
        "step_wall_s_median": round(sorted(wall)[len(wall) // 2], 4),
        "step_cpu_s_median": round(sorted(cpu)[len(cpu) // 2], 4),
        "achieved_tflops": round(flops / best / 1e12, 4),
    }
    print(json.dumps(out))
    print(
        f"{args.model} batch {args.batch_size} on {out['device']}: {best * 1e3:.1f} ms/step "
        f"(best of {args.steps}; median CPU time {out['step_cpu_s_median']:.2f} s over {threads} "
        f"thread(s)), {flops / 1e9:.0f} GFLOP/step = {out['achieved_tflops']:.3f} TFLOP/s. "
        f"One run of {args.run_steps} steps: {per_run / 3600:.1f} h; {args.runs:g} runs on "
        f"{args.gpus} device(s): {total / 3600:.1f} h (steps x per-step cost)."
    )


if __name__ == "__main__":
    main()
