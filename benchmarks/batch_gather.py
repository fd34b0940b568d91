"""Time one epoch of flipped uint8 CIFAR-sized batches: slice + random_flip vs RowSource.

Both produce the same batches (same draws); only the time per batch of 256 differs.

    python benchmarks/batch_gather.py [--images 40000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import time

import torch

from noisylabels.train.allocator import tune_allocator
from noisylabels.train.augment import RowSource, random_flip


def main() -> None:
    tune_allocator()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=40000)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (args.images, 3, 32, 32), generator=g, dtype=torch.uint8)
    x = x.contiguous(memory_format=torch.channels_last)  # as the trainer stores it
    order = torch.randperm(args.images, generator=g)
    src = RowSource(x, flip=True)
    batches = [order[i : i + args.batch_size] for i in range(0, args.images, args.batch_size)]

    def sliced() -> list[torch.Tensor]:
        gen = torch.Generator().manual_seed(1)
        return [random_flip(x[idx], gen) for idx in batches]

    def gathered() -> list[torch.Tensor]:
        gen = torch.Generator().manual_seed(1)
        return [src.batch(idx, gen) for idx in batches]

    assert all(torch.equal(a, b) for a, b in zip(sliced(), gathered(), strict=True))
    best = {"slice + random_flip": float("inf"), "RowSource": float("inf")}
    for _ in range(args.rounds):
        for name, fn in (("slice + random_flip", sliced), ("RowSource", gathered)):
            t = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t)
    print(f"# {torch.get_num_threads()} threads, batch {args.batch_size}, best of {args.rounds}")
    for name, sec in best.items():
        print(f"{name}: {sec * 1e3 / len(batches):.3f} ms per batch, {sec:.3f} s per epoch")


if __name__ == "__main__":
    main()
