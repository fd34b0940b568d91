"""Time one training step of each method against plain cross entropy.

One step = ``method.step`` (forward(s), loss, weighting, mixup...) + backward + SGD step
(momentum 0.9), on the same small CNN (``seed-cnn``), batch 256 of 32x32x3 inputs, CPU, torch's
default thread count. Methods are interleaved (a shuffled order each round) so that drifts in
machine load hit all of them alike; we report the median step time over the rounds and its
ratio to the median of plain CE (and the minimum, which is less sensitive to other
processes on a shared machine). A second, independent CE instance (``ce (again)``) shows the
noise floor of the ratios.

Weighting methods are measured in their active phase (no burn-in / warm-up), dynamic mixup after
its first mixture fit.

Usage::

    python benchmarks/method_step.py                 # all methods, 40 rounds
    python benchmarks/method_step.py --rounds 10 --methods ce,gce,ciw
    python benchmarks/method_step.py --markdown      # the table for docs/methods.md
    python benchmarks/method_step.py --model linear  # the methods' own cost (tiny network)
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from noisylabels.methods import build_method
from noisylabels.methods.base import Batch, Method, MethodContext, StepOutput, StepState

K = 10
BATCH = 256
NUM_TRAIN = 2048
LINEAR_DIM = 32

#: (label, method name, params). The "ratio target" column marks the 1.10x target: a step
#: within 10% of a plain CE step.
CASES: list[tuple[str, str, dict]] = [
    ("ce", "ce", {}),
    ("ce (again)", "ce", {}),
    ("raw F.cross_entropy (no method)", "raw", {}),
    ("fl", "fl", {}),
    ("mae", "mae", {}),
    ("rce", "rce", {}),
    ("nce", "nce", {}),
    ("nfl", "nfl", {}),
    ("gce", "gce", {}),
    ("ngce", "ngce", {}),
    ("nmae", "nmae", {}),
    ("sce", "sce", {}),
    ("label_smoothing", "label_smoothing", {}),
    ("bootstrap_soft", "bootstrap_soft", {}),
    ("bootstrap_hard", "bootstrap_hard", {}),
    ("nce+rce", "nce+rce", {}),
    ("nfl+rce", "nfl+rce", {}),
    ("ngce+mae", "ngce+mae", {}),
    ("bitempered (t1 0.8, t2 1.2)", "bitempered", {"t1": 0.8, "t2": 1.2}),
    ("confidence", "confidence", {}),
    ("ciw", "ciw", {"burnin_steps": 0}),
    ("ciw (KL, alpha 1)", "ciw", {"burnin_steps": 0, "ciw_alpha": 1.0}),
    ("cicw (KL)", "cicw", {"burnin_steps": 0}),
    ("cicw (L1)", "cicw", {"burnin_steps": 0, "cls_div": "l1"}),
    ("cicw (L2)", "cicw", {"burnin_steps": 0, "cls_div": "l2"}),
    ("gce + ciw", "ciw", {"burnin_steps": 0, "loss": "gce"}),
    ("mixup", "mixup", {}),
    ("mixup (no clean forward)", "mixup", {"clean_forward": False}),
    ("ciw-m (label_smoothing_w)", "ciw-m", {"burnin_steps": 0}),
    ("cicw-m (sample_weight_w)", "cicw-m", {"burnin_steps": 0}),
    ("dynamic-mixup (M-DYR-H)", "dynamic-mixup", {"warmup_epochs": 1}),
    ("coteaching", "coteaching", {"forget_rate": 0.4}),
]
TARGETED = {
    "fl", "mae", "rce", "nce", "nfl", "gce", "ngce", "nmae", "sce", "label_smoothing",
    "bootstrap_soft", "bootstrap_hard", "nce+rce", "nfl+rce", "ngce+mae", "confidence", "ciw",
    "ciw (KL, alpha 1)", "cicw (KL)", "cicw (L1)", "cicw (L2)", "ce (again)",
}  # fmt: skip


def make_network_factory(model: str = "seed-cnn") -> Callable[[], nn.Module]:
    if model == "linear":  # almost free network: what remains is the method's own cost

        def make_linear() -> nn.Module:
            with torch.random.fork_rng(devices=[]):
                return nn.Linear(LINEAR_DIM, K)

        return make_linear
    try:
        from noisylabels.models import get_model
    except ImportError:  # pragma: no cover - models/ not available
        get_model = None
    counter = [0]

    def make() -> nn.Module:
        counter[0] += 1
        if get_model is not None:
            return get_model("seed-cnn", (3, 32, 32), K, seed=counter[0])
        with torch.random.fork_rng(devices=[]):  # local copy of the seed CNN
            torch.manual_seed(counter[0])
            return nn.Sequential(
                nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Flatten(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                nn.Linear(128, K),
            )  # fmt: skip

    return make


class RawCE(Method):
    """Plain ``F.cross_entropy`` mean, no method machinery: the floor of the CE method."""

    def step(self, batch: Batch, state: StepState) -> StepOutput:
        logits = self.net(batch.x)
        loss = F.cross_entropy(logits, batch.y)
        return StepOutput(loss, logits.detach(), loss.detach().expand(len(batch.y)))


class Runner:
    def __init__(
        self, label: str, name: str, params: dict, ctx: MethodContext, data, model: str
    ) -> None:
        self.label = label
        if name == "raw":
            self.method: Method = RawCE([make_network_factory(model)()])
        else:
            self.method = build_method(name, ctx, make_network_factory(model), **params)
        self.opt = torch.optim.SGD(self.method.parameters(), lr=0.01, momentum=0.9)
        self.x, self.y = data
        self.i = 0
        self.epoch = 1
        self.times: list[float] = []
        if name == "dynamic-mixup":  # one epoch of losses + a fit, so steps bootstrap
            self.method.on_epoch_start(StepState(0, 0, 2, NUM_TRAIN // BATCH))
            for j in range(NUM_TRAIN // BATCH):
                self._step(StepState(0, j, 2, NUM_TRAIN // BATCH), j)
            self.method.on_epoch_end(StepState(0, 7, 2, NUM_TRAIN // BATCH))

    def _step(self, state: StepState, j: int) -> None:
        sl = slice((j * BATCH) % NUM_TRAIN, (j * BATCH) % NUM_TRAIN + BATCH)
        idx = torch.arange(sl.start, sl.stop)
        out = self.method.step(Batch(self.x[sl], self.y[sl], idx), state)
        self.opt.zero_grad(set_to_none=True)
        out.loss.backward()
        self.opt.step()

    def timed_step(self, record: bool, clock: Callable[[], float]) -> None:
        state = StepState(self.epoch, 100 + self.i, 2, NUM_TRAIN // BATCH)
        t0 = clock()
        self._step(state, self.i)
        dt = clock() - t0
        self.i += 1
        if record:
            self.times.append(dt)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=40, help="timed steps per method")
    ap.add_argument("--warmup", type=int, default=5, help="untimed steps per method first")
    ap.add_argument("--methods", default="", help="comma-separated labels (default: all)")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--clock", choices=("wall", "cpu"), default="wall",
        help="wall-clock time, or CPU time of this process (less sensitive to other processes)",
    )  # fmt: skip
    ap.add_argument(
        "--model", choices=("seed-cnn", "linear"), default="seed-cnn",
        help="seed-cnn on 32x32x3 images, or a linear layer on 32 features (isolates the "
        "method's own cost)",
    )  # fmt: skip
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    clock = time.perf_counter if args.clock == "wall" else time.process_time

    cases = CASES
    if args.methods:
        wanted = {m.strip() for m in args.methods.split(",")} | {"ce"}
        cases = [c for c in CASES if c[0] in wanted]
    g = torch.Generator().manual_seed(args.seed)
    data = (
        torch.randn(
            (NUM_TRAIN, 3, 32, 32) if args.model == "seed-cnn" else (NUM_TRAIN, LINEAR_DIM),
            generator=g,
        ),
        torch.randint(0, K, (NUM_TRAIN,), generator=g),
    )
    ctx = MethodContext(
        num_classes=K, num_train=NUM_TRAIN, num_epochs=2, steps_per_epoch=NUM_TRAIN // BATCH,
        noise_rate=0.4, seed=args.seed,
    )  # fmt: skip
    runners = [Runner(label, name, params, ctx, data, args.model) for label, name, params in cases]
    order_rng = random.Random(args.seed)
    for r in range(args.warmup + args.rounds):
        order_rng.shuffle(runners)
        for run in runners:
            run.timed_step(record=r >= args.warmup, clock=clock)

    runners.sort(key=lambda run: [c[0] for c in cases].index(run.label))
    ce = next(r for r in runners if r.label == "ce")
    base_med, base_min = statistics.median(ce.times), min(ce.times)
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    print(
        f"# torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{platform.processor() or platform.machine()}, batch {BATCH}, {args.model}, "
        f"{args.rounds} rounds (+{args.warmup} warm-up), {args.clock} clock, "
        f"load average after: {load[0]:.2f}"
    )
    cnn = args.model == "seed-cnn"  # the 1.10x targets are about the full CNN step
    d = 1 if cnn else 3
    cols = ["method", "median (ms)", "ratio", "extra (ms)", "min (ms)", "ratio of mins"]
    if cnn:
        cols.append("target <= 1.10x (median)")
    if args.markdown:
        print("| " + " | ".join(cols) + " |")
        print("|---|" + "---:|" * 5 + (":---:|" if cnn else ""))
    for run in runners:
        med, low = statistics.median(run.times), min(run.times)
        ratio = med / base_med
        target = ("yes" if ratio <= 1.10 else "**no**") if run.label in TARGETED else "-"
        cells = [
            run.label,
            f"{med * 1e3:.{d}f}",
            f"{ratio:.2f}",
            f"{(med - base_med) * 1e3:+.{d}f}",
            f"{low * 1e3:.{d}f}",
            f"{low / base_min:.2f}",
        ] + ([target] if cnn else [])
        if args.markdown:
            print("| " + " | ".join(cells) + " |")
        else:
            print(f"{cells[0]:32s} " + "  ".join(f"{c:>9s}" for c in cells[1:]))


if __name__ == "__main__":
    main()
