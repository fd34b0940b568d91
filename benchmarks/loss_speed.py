"""Time forward + backward of every loss against plain cross entropy on random logits.

Usage: python benchmarks/loss_speed.py [--batch 256] [--classes 10 100] [--repeat 200]
       [--device cpu|cuda] [--threads N] [--normaliser]

For each loss (registry names, a few active-passive pairs, bi-tempered settings) it times
``loss(logits, y).backward()`` on ``(batch, K)`` float32 logits that require grad, reports the
median over ``--repeat`` calls (after warm-up) in microseconds and the ratio to
``torch.nn.functional.cross_entropy`` on the same inputs. This is the loss alone; in a training
step the network's forward and backward dominate.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch
import torch.nn.functional as F

from noisylabels import losses

CASES: list[tuple[str, dict]] = [
    ("ce", {}),
    ("fl", {}),
    ("mae", {}),
    ("rce", {}),
    ("nce", {}),
    ("nfl", {}),
    ("gce", {}),
    ("ngce", {}),
    ("nmae", {}),
    ("sce", {}),
    ("label_smoothing", {}),
    ("bootstrap_soft", {}),
    ("bootstrap_hard", {}),
    ("nce+rce", {}),
    ("nfl+rce", {}),
    ("ngce+mae", {"q": 0.1}),
    ("bitempered", {"t1": 0.8, "t2": 1.0}),
    ("bitempered", {"t1": 0.8, "t2": 1.2}),
    ("bitempered", {"t1": 0.8, "t2": 0.8}),
]


def time_it(fn, repeat: int, sync) -> float:
    for _ in range(max(10, repeat // 10)):
        fn()
    sync()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def make_step(loss, x: torch.Tensor, y: torch.Tensor):
    def step() -> None:
        x.grad = None
        loss(x, y).backward()

    return step


def normaliser_error(batch: int, classes: list[int], device: torch.device) -> None:
    iters = [None, 5, 10, 20, 40]
    print("max |sum_k p_k - 1| of the tempered softmax, logits 3 * N(0, 1), float32")
    print(f"{'K':>4s} {'t2':>4s} " + " ".join(f"{i!s:>8s}" for i in iters))
    g = torch.Generator().manual_seed(0)
    for k in classes:
        x = (3 * torch.randn(batch, k, generator=g)).to(device)
        for t in (0.5, 0.8, 1.2, 1.5, 2.0, 4.0):
            errs = [
                (losses.tempered_softmax(x, t, num_iters=i).sum(1) - 1).abs().max().item()
                for i in iters
            ]
            print(f"{k:4d} {t:4.1f} " + " ".join(f"{e:8.1e}" for e in errs))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--classes", type=int, nargs="+", default=[10, 100])
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--normaliser", action="store_true", help="bi-tempered normaliser accuracy")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    if args.normaliser:
        normaliser_error(args.batch, args.classes, device)
        return
    print(
        f"# torch {torch.__version__}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cpus, {torch.get_num_threads()} threads, device {device}, "
        f"batch {args.batch}, median of {args.repeat}"
    )
    g = torch.Generator().manual_seed(0)
    for k in args.classes:
        x = (3 * torch.randn(args.batch, k, generator=g)).to(device).requires_grad_()
        y = torch.randint(0, k, (args.batch,), generator=g).to(device)

        base = time_it(make_step(F.cross_entropy, x, y), args.repeat, sync)
        print(f"\nK={k}: F.cross_entropy {base * 1e6:.0f} us")
        print(f"{'loss':36s} {'us':>7s} {'x CE':>6s}")
        for name, hp in CASES:
            loss = losses.get(name, num_classes=k, **hp)
            t = time_it(make_step(loss, x, y), args.repeat, sync)
            label = name + "".join(f" {a}={v}" for a, v in hp.items())
            print(f"{label:36s} {t * 1e6:7.0f} {t / base:6.2f}")


if __name__ == "__main__":
    main()
