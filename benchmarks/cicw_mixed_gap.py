"""CICW-M on mixed labels: our class-reweighted inner loss against the problem's optimum.

The official CICW-M recipe (``dcl_w_mixup``) solves the class-reweighting problem

    min_v  sum_k v_k c_k   over the simplex,   KL(y || v) <= gamma

on the *mixed* soft label ``y`` of every mixed sample (with cvxpy; its KL is
``sum_k y_k (log(y_k + 1e-6) - log(v_k + 1e-6))``). This script trains ``cicw-m`` on a dataset,
records the class losses ``c`` and mixed labels ``y`` of every ``--every``-th mixed batch, and
compares three inner losses ``sum_k v_k c_k`` per mixed sample:

* ``soft``: :func:`noisylabels.weighting.soft_class_targets` (the exact solve used in training);
* ``mixed one-hot``: the two one-hot CICW solutions mixed with the mixup coefficients (a
  feasible point of the same problem; what the method did before it solved the soft problem);
* ``optimum``: an independent solve with scipy's SLSQP (several starts; the tests' reference
  solver, ``tests/weighting/cicw_reference.py``) of the official formulation, including its
  1e-6 inside the logs, on ``--check`` sampled rows.

Usage::

    python benchmarks/cicw_mixed_gap.py              # digits, symmetric:0.4, gamma 0.01 and 0.1
    python benchmarks/cicw_mixed_gap.py --gammas 0.01 --epochs 20 --check 100
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from noisylabels.train import TrainConfig, run
from noisylabels.train.callbacks import Callback
from noisylabels.weighting import class_targets_from_costs, soft_class_targets

# The independent SLSQP solver the CICW tests check the closed forms against: one copy.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "weighting"))
from cicw_reference import slsqp_min


class RecordMixed(Callback):
    """Wraps the method's ``mixed_loss`` to keep (class losses, mixed labels, components)."""

    def __init__(self, every: int) -> None:
        self.every = every
        self.calls = 0
        self.rows: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]] = []

    def on_train_start(self, run) -> None:
        method = run.method
        inner = method.mixed_loss

        def recording(logits, mb, class_rw=False):
            if class_rw:
                self.calls += 1
                if self.calls % self.every == 0:
                    c = -logits.detach().double().log_softmax(1)
                    self.rows.append((c, mb.dense(c.shape[1]).double(), mb.labels, mb.coefs))
            return inner(logits, mb, class_rw)

        method.mixed_loss = recording


def official_kl(v: np.ndarray, y: np.ndarray) -> float:
    return float((y * (np.log(y + 1e-6) - np.log(np.clip(v, 0, 1) + 1e-6))).sum())


def optimum(c: np.ndarray, y: np.ndarray, gamma: float, rng: np.random.Generator) -> float:
    """The optimum of the official formulation (its KL with 1e-6 inside the logs)."""
    return slsqp_min(c, y, gamma, lambda v: official_kl(v, y), rng)


def measure(args: argparse.Namespace, gamma: float) -> None:
    cfg = TrainConfig(
        dataset=args.dataset,
        model=args.model,
        epochs=args.epochs,
        batch_size=64,
        optimizer="sgd",
        lr=0.05,
        momentum=0.9,
        weight_decay=0.0005,
        val_fraction=0.1,
        device="cpu",
        noise=args.noise,
        method="cicw-m",
        method_params={"lam": 2.5, "cls_div": "kl", "cls_gamma": gamma},
        seed=args.seed,
    )
    rec = RecordMixed(args.every)
    t0 = time.perf_counter()
    run(cfg, callbacks=[rec])
    train_s = time.perf_counter() - t0
    c = torch.cat([r[0] for r in rec.rows])
    y = torch.cat([r[1] for r in rec.rows])
    labels = torch.cat([r[2] for r in rec.rows])
    coefs = torch.cat([r[3] for r in rec.rows]).double()
    soft = soft_class_targets(c, y, gamma, "kl")
    mixed = sum(
        coefs[:, j : j + 1] * class_targets_from_costs(c, labels[:, j], gamma, "kl")
        for j in range(labels.shape[1])
    )
    l_soft = (soft * c).sum(1)
    l_mixed = (mixed * c).sum(1)
    two = y.gt(0).sum(1) > 1  # rows that mix two different classes
    rng = np.random.default_rng(0)
    pick = rng.choice(len(c), size=min(args.check, len(c)), replace=False)
    opt = torch.tensor([optimum(c[i].numpy(), y[i].numpy(), gamma, rng) for i in pick])
    d_mixed = l_mixed - l_soft
    print(
        f"gamma {gamma}: {len(c)} mixed samples ({int(two.sum())} mixing two classes) from "
        f"{len(rec.rows)} batches of a {args.epochs}-epoch cicw-m run ({train_s:.0f} s)"
    )
    print(
        f"  mixed one-hot - soft:   mean {d_mixed.mean():.4f}  max {d_mixed.max():.4f} nats"
        f"  (two-class rows: mean {d_mixed[two].mean():.4f})"
    )
    print(
        f"  mixed one-hot - optimum ({len(pick)} rows): mean {(l_mixed[pick] - opt).mean():.4f}"
        f"  max {(l_mixed[pick] - opt).max():.4f}"
    )
    print(
        f"  soft - optimum          ({len(pick)} rows): mean {(l_soft[pick] - opt).mean():.2e}"
        f"  max {(l_soft[pick] - opt).max():.2e}  min {(l_soft[pick] - opt).min():.2e}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--model", default="mlp")
    ap.add_argument("--noise", default="symmetric:0.4")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--gammas", default="0.01,0.1")
    ap.add_argument("--every", type=int, default=10, help="record every n-th mixed batch")
    ap.add_argument("--check", type=int, default=300, help="rows solved independently")
    args = ap.parse_args()
    torch.set_num_threads(1)
    for g in args.gammas.split(","):
        measure(args, float(g))


if __name__ == "__main__":
    main()
