"""Time label corruption: 10 million labels, K=100, every kind x sampling.

Usage: python benchmarks/noise_speed.py [--n 10000000] [--k 100] [--repeat 3]

Times the full ``corrupt`` call (validation, sampling, realised T, record) and reports the best
and median of ``--repeat`` runs. Instance noise needs features, so it runs on a smaller
``--instance-n`` x ``--instance-d`` feature matrix. Also times a dense random T (the generic
inverse-CDF path) through ``sample_exact``/``sample_iid``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

from noisylabels.noise import corrupt, sample_exact, sample_iid


def timed(fn, repeat: int) -> tuple[float, float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--instance-n", type=int, default=100_000)
    ap.add_argument("--instance-d", type=int, default=256)
    args = ap.parse_args()

    print(f"numpy {np.__version__}, python {platform.python_version()}, {os.cpu_count()} CPUs")
    rng = np.random.default_rng(0)
    y = rng.integers(0, args.k, args.n)
    dataset = "cifar100" if args.k == 100 else ("cifar10" if args.k == 10 else None)
    kinds = ["symmetric:0.4", "uniform:0.5", "pairflip:0.3"]
    if dataset:
        kinds.append("asymmetric:0.4")
    print(f"N={args.n:,} labels, K={args.k}, best / median of {args.repeat}")
    print(f"{'kind':<18}{'sampling':<10}{'best s':>8}{'median s':>10}{'realised':>10}")
    for spec in kinds:
        for sampling in ("exact", "iid"):
            best, med, res = timed(
                lambda spec=spec, sampling=sampling: corrupt(
                    y, spec, num_classes=args.k, dataset=dataset, seed=1, sampling=sampling
                ),
                args.repeat,
            )
            print(f"{spec:<18}{sampling:<10}{best:>8.3f}{med:>10.3f}{res.realised_rate:>10.4f}")

    # Dense random T: every row non-uniform, so the generic searchsorted path runs.
    T = rng.dirichlet(np.ones(args.k), size=args.k) * 0.4
    T[np.arange(args.k), np.arange(args.k)] = 0.0
    T /= T.sum(axis=1, keepdims=True) / 0.4
    T[np.arange(args.k), np.arange(args.k)] = 0.6
    for name, fn in (("exact", sample_exact), ("iid", sample_iid)):
        best, med, out = timed(lambda fn=fn: fn(y, T, 1), args.repeat)
        rate = float((out != y).mean())
        print(f"{'dense T (0.4)':<18}{name:<10}{best:>8.3f}{med:>10.3f}{rate:>10.4f}")

    x = rng.random((args.instance_n, args.instance_d), dtype=np.float32)
    yi = y[: args.instance_n]
    for sampling in ("exact", "iid"):
        best, med, res = timed(
            lambda sampling=sampling: corrupt(
                yi, "instance:0.4", num_classes=args.k, features=x, seed=1, sampling=sampling
            ),
            args.repeat,
        )
        print(
            f"{'instance:0.4':<18}{sampling:<10}{best:>8.3f}{med:>10.3f}"
            f"{res.realised_rate:>10.4f}  (N={args.instance_n:,}, D={args.instance_d})"
        )


if __name__ == "__main__":
    main()
