"""Training throughput: bare model step vs our full step vs a plain DataLoader pipeline.

All three process the same uint8 CIFAR-10-sized images (32x32x3) in batches, CPU by default:

(a) bare: forward, CE, backward, SGD step on pre-made, pre-normalised float batches
    (no data work at all: the ceiling), in the channels-last layout our trainer uses for conv nets;
(b) ours: noisylabels' own epoch loop (`train_one_epoch`): uint8 slicing by a seeded
    permutation, random crop + flip as batched tensor ops, normalisation, the `ce` method step,
    per-step metric accumulation;
(c) DataLoader: a torch `Dataset` that normalises and flips each sample in `__getitem__`,
    default collate, `num_workers=0`, then forward/CE/backward/step as a plain PyTorch user
    writes it (default contiguous layout).

Each variant runs for the same number of images; rounds are interleaved (a, b, c, a, b, c, ...)
and the best round of each is reported: interference from other processes only ever slows a
round down, so the best round is the least noisy estimate (the median is printed too). Usage:

    python benchmarks/train_speed.py [--models seed-cnn apl-cnn] [--images 10240] [--rounds 5]
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import statistics
import time

import torch
import torch.nn.functional as F

from noisylabels.methods import build_method
from noisylabels.methods.base import MethodContext
from noisylabels.models import get_model
from noisylabels.train.allocator import tune_allocator
from noisylabels.train.augment import CropFlipSource, Normalizer
from noisylabels.train.trainer import TrainSplit, train_one_epoch

MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


def make_data(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8)
    y = torch.randint(0, 10, (n,), generator=g)
    return x, y


def bare(model_name: str, x: torch.Tensor, y: torch.Tensor, bs: int) -> float:
    # Same channels-last layout as our trainer, so (b)/(a) measures the data pipeline only.
    net = get_model(model_name, (3, 32, 32), 10, seed=0).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    norm = Normalizer(MEAN, STD, torch.device("cpu"), image=True, channels_last=True)
    batches = [(norm(x[i : i + bs]), y[i : i + bs]) for i in range(0, len(x), bs)]
    net.train()
    t = time.perf_counter()
    for xb, yb in batches:
        loss = F.cross_entropy(net(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return len(x) / (time.perf_counter() - t)


def ours(model_name: str, x: torch.Tensor, y: torch.Tensor, bs: int) -> float:
    ctx = MethodContext(num_classes=10, num_train=len(x), num_epochs=1, steps_per_epoch=1)
    method = build_method("ce", ctx, lambda: get_model(model_name, (3, 32, 32), 10, seed=0))
    method = method.to(memory_format=torch.channels_last)  # as the trainer does for conv nets
    opt = torch.optim.SGD(method.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    split = TrainSplit(x, y, y, torch.zeros(len(y), dtype=torch.bool))
    norm = Normalizer(MEAN, STD, torch.device("cpu"), image=True, channels_last=True)
    source = CropFlipSource(x, 4, flip=True)  # built once per run by the trainer, untimed here
    method.train()
    t = time.perf_counter()
    train_one_epoch(
        method,
        opt,
        sched,
        split,
        norm,
        "crop+flip",
        bs,
        0,
        0,
        torch.Generator().manual_seed(1),
        torch.Generator().manual_seed(2),
        contextlib.nullcontext,
        None,
        torch.ones(len(y)),
        1,
        source,
    )
    return len(x) / (time.perf_counter() - t)


class FlipNormDataset(torch.utils.data.Dataset):
    """The usual per-sample pipeline: to float, normalise, random flip, one sample at a time."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y = x, y
        self.mean = torch.tensor(MEAN).view(3, 1, 1)
        self.std = torch.tensor(STD).view(3, 1, 1)
        self.gen = torch.Generator().manual_seed(3)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        img = (self.x[i].float() / 255 - self.mean) / self.std
        if torch.rand((), generator=self.gen) < 0.5:
            img = img.flip(2)
        return img, self.y[i]


def dataloader(model_name: str, x: torch.Tensor, y: torch.Tensor, bs: int) -> float:
    net = get_model(model_name, (3, 32, 32), 10, seed=0)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    loader = torch.utils.data.DataLoader(
        FlipNormDataset(x, y),
        batch_size=bs,
        shuffle=True,
        generator=torch.Generator().manual_seed(4),
    )
    net.train()
    t = time.perf_counter()
    for xb, yb in loader:
        loss = F.cross_entropy(net(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return len(x) / (time.perf_counter() - t)


def main() -> None:
    # The trainer runs with the tuned allocator; the floor gets the same best case.
    tune_allocator()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["seed-cnn", "apl-cnn"])
    ap.add_argument("--images", type=int, default=10240)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    x, y = make_data(args.images)
    print(
        f"# torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{platform.machine()}, {args.images} images/round, batch {args.batch_size}, "
        f"best (median) of {args.rounds} interleaved rounds"
    )
    print("| model | (a) bare step img/s | (b) ours img/s | (c) DataLoader img/s | b/a | b/c |")
    print("|---|---|---|---|---|---|")
    for name in args.models:
        n = args.images if name == "seed-cnn" else max(args.batch_size * 4, args.images // 8)
        xs, ys = x[:n], y[:n]
        with torch.random.fork_rng(devices=[]):
            for fn in (bare, ours, dataloader):  # warm-up
                fn(name, xs[: args.batch_size * 2], ys[: args.batch_size * 2], args.batch_size)
            res: dict[str, list[float]] = {"a": [], "b": [], "c": []}
            for _ in range(args.rounds):
                res["a"].append(bare(name, xs, ys, args.batch_size))
                res["b"].append(ours(name, xs, ys, args.batch_size))
                res["c"].append(dataloader(name, xs, ys, args.batch_size))
        a, b, c = (max(res[k]) for k in "abc")
        ma, mb, mc = (statistics.median(res[k]) for k in "abc")
        print(
            f"| {name} | {a:,.0f} ({ma:,.0f}) | {b:,.0f} ({mb:,.0f}) | {c:,.0f} ({mc:,.0f}) "
            f"| {b / a:.2f} | {b / c:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
