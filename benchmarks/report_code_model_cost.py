"""Cost of a training step of the student report's code's model against seed-cnn, as a ratio.

Both models train on the same pre-made batch (CIFAR-10 shape, batch 512 as in that code, SGD
with momentum, CE, channels-last as the trainer uses) in one process, interleaved round by
round so that a drift in the machine's speed affects both alike; prints the best step time of
each and their ratio.

    python benchmarks/report_code_model_cost.py --threads 1 --rounds 5
"""

from __future__ import annotations

import argparse
import time

import torch

from noisylabels.models import get_model


def _step_time(net: torch.nn.Module, opt: torch.optim.Optimizer, x, y, steps: int) -> float:
    best = float("inf")
    for _ in range(steps):
        t = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=3, help="steps per model per round")
    ap.add_argument("--batch", type=int, default=512)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch, 3, 32, 32, generator=g).contiguous(
        memory_format=torch.channels_last
    )
    y = torch.randint(0, 10, (args.batch,), generator=g)
    nets = {}
    for name in ("seed-cnn", "report-code-cnn"):
        net = get_model(name, (3, 32, 32), 10).to(memory_format=torch.channels_last)
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        _step_time(net, opt, x, y, 1)  # warm-up
        nets[name] = (net, opt, sum(p.numel() for p in net.parameters()))
    best = {name: float("inf") for name in nets}
    for _ in range(args.rounds):
        for name, (net, opt, _) in nets.items():
            best[name] = min(best[name], _step_time(net, opt, x, y, args.steps))
    for name, (_, _, n) in nets.items():
        print(f"{name:16s} {n / 1e6:5.2f} M parameters  best step {best[name] * 1e3:8.1f} ms")
    ratio = best["report-code-cnn"] / best["seed-cnn"]
    print(f"report-code-cnn / seed-cnn: {ratio:.1f} x per training step "
          f"(batch {args.batch}, {args.threads} thread(s))")


if __name__ == "__main__":
    main()
