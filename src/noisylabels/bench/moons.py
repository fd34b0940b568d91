"""``noisylabels moons``: why reweighting helps, on a picture.

Two moons with 30% of the training labels flipped; the same MLP trained with cross entropy and
with CIW (constrained instance reweighting, Kumar & Amid 2021). The figure shows both decision
boundaries side by side; each training point is coloured by the label it was trained on, drawn
with a size proportional to the weight the method gave it in the last epoch (CE: all 1), and
mislabeled points are ringed. CIW gives the mislabeled points small weights, so its boundary
follows the clean moons where CE bends toward the flipped points.

The trainer's record only keeps a histogram of the weights; this module runs its own short loop
over the library's pieces (dataset, noise, model, method) to keep every point's weight.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

DEFAULTS: dict[str, Any] = {
    "noise": "symmetric:0.3",
    "n_samples": 600,
    "spread": 0.15,
    "epochs": 300,
    "batch_size": 128,
    "lr": 0.01,
    "hidden": (128, 128),
}


@dataclass
class MoonsRun:
    """One trained method on the moons set."""

    name: str
    test_acc: float
    weights: np.ndarray  # last-epoch weight of every training point (1 for unweighted methods)
    net: torch.nn.Module = field(repr=False)


@dataclass
class MoonsResult:
    """What :func:`run_moons` returns."""

    path: Path
    test_acc: dict[str, float]
    weight_auroc: float | None
    runs: list[MoonsRun]
    realised_rate: float


def _train(
    method_name: str,
    params: dict[str, Any],
    x: torch.Tensor,
    y: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    noise_rate: float | None,
    progress: bool,
) -> MoonsRun:
    from noisylabels.methods import build_method
    from noisylabels.methods.base import Batch, MethodContext, StepState
    from noisylabels.models import get_model

    n = x.shape[0]
    steps = -(-n // batch_size)
    ctx = MethodContext(
        num_classes=2,
        num_train=n,
        num_epochs=epochs,
        steps_per_epoch=steps,
        noise_rate=noise_rate,
        seed=seed,
    )
    built = 0

    def make_net() -> torch.nn.Module:
        nonlocal built
        built += 1
        return get_model("mlp", (2,), 2, seed=seed + 7919 * (built - 1))

    method = build_method(method_name, ctx, make_net, **params)
    opt = torch.optim.Adam(method.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed + 2_000_003)
    weights = torch.ones(n)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=epochs, desc=method_name, unit="epoch", leave=False, disable=None)
    step = 0
    for epoch in range(epochs):
        method.train()
        state = StepState(epoch, step, epochs, steps)
        method.on_epoch_start(state)
        order = torch.randperm(n, generator=gen)
        for i in range(steps):
            idx = order[i * batch_size : (i + 1) * batch_size]
            out = method.step(Batch(x[idx], y[idx], idx), StepState(epoch, step, epochs, steps))
            opt.zero_grad(set_to_none=True)
            out.loss.backward()
            opt.step()
            if out.weights is not None:
                weights[idx] = out.weights.detach().float().cpu()
            step += 1
        method.on_epoch_end(StepState(epoch, step, epochs, steps))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    net = method.net.eval()
    with torch.no_grad():
        acc = float((net(x_test).argmax(1) == y_test).float().mean())
    return MoonsRun(method_name, acc, weights.numpy(), net)


def run_moons(
    out: str | Path = "moons.png",
    *,
    noise: str | None = None,
    epochs: int | None = None,
    seed: int = 0,
    n_samples: int | None = None,
    methods: tuple[tuple[str, str, dict[str, Any]], ...] = (("CE", "ce", {}), ("CIW", "ciw", {})),
    progress: bool = False,
) -> MoonsResult:
    """Train each of ``methods`` on noisy two moons and draw the figure.

    Args:
        out: PNG path.
        noise: Noise spec (default ``symmetric:0.3``: 30% of labels flipped).
        epochs: Training epochs (default 300; Adam, batch 128).
        seed: Seed of data, noise, initialisation and batch order.
        n_samples: Training points (default 600; the test set has 2000).
        methods: ``(title, method name, method params)`` per panel.
        progress: Show a progress bar per method.

    Returns:
        Accuracies, the AUROC of the last weighted method's weights for telling clean from
        mislabeled points, and the figure path.
    """
    from noisylabels.outputs import check_output_file

    check_output_file(out)  # before training: a bad path must not cost the run
    noise = noise or DEFAULTS["noise"]
    epochs = epochs or DEFAULTS["epochs"]
    n = n_samples or DEFAULTS["n_samples"]
    threads = torch.get_num_threads()
    # A 2-D MLP on 128-point batches is far faster on one thread than split across cores.
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            runs, data, noisy, y, mislabeled, mean, std = _train_all(
                noise, epochs, seed, n, methods, progress
            )
    finally:
        torch.set_num_threads(threads)
    for (title, _, _), r in zip(methods, runs, strict=True):
        r.name = title
    auroc = None
    for r in runs:
        if not np.allclose(r.weights, 1.0):
            auroc = _auroc(r.weights, ~mislabeled)
    path = _draw(
        Path(out), runs, data.x_train.numpy(), y.numpy(), mislabeled, mean, std, noise, auroc
    )
    return MoonsResult(
        path=path,
        test_acc={r.name: r.test_acc for r in runs},
        weight_auroc=auroc,
        runs=runs,
        realised_rate=float(noisy.realised_rate),
    )


def _train_all(
    noise: str,
    epochs: int,
    seed: int,
    n: int,
    methods: tuple[tuple[str, str, dict[str, Any]], ...],
    progress: bool,
) -> tuple[Any, ...]:
    from noisylabels.data import load_dataset
    from noisylabels.noise import corrupt

    data = load_dataset("moons", n_train=n, n_test=2000, noise=DEFAULTS["spread"], seed=seed)
    noisy = corrupt(data.y_train.numpy(), noise, num_classes=2, seed=seed)
    mean = torch.tensor(data.mean, dtype=torch.float32)
    std = torch.tensor(data.std, dtype=torch.float32)
    x = (data.x_train.float() - mean) / std
    x_test = (data.x_test.float() - mean) / std
    y = torch.as_tensor(np.asarray(noisy.noisy_labels), dtype=torch.long)
    y_test = data.y_test.long()
    mislabeled = np.asarray(noisy.noise_mask, dtype=bool)
    runs = [
        _train(
            name,
            params,
            x,
            y,
            x_test,
            y_test,
            epochs=epochs,
            batch_size=DEFAULTS["batch_size"],
            lr=DEFAULTS["lr"],
            seed=seed,
            noise_rate=getattr(noisy.spec, "rate", None),
            progress=progress,
        )
        for _, name, params in methods
    ]
    return runs, data, noisy, y, mislabeled, mean, std


def _auroc(scores: np.ndarray, positive: np.ndarray) -> float | None:
    """P(score of a random positive > score of a random negative), ties counting one half."""
    pos, neg = scores[positive], scores[~positive]
    if not len(pos) or not len(neg):
        return None
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_s = scores[order]
    _, first, counts = np.unique(sorted_s, return_index=True, return_counts=True)
    ranks[order] = np.repeat(first + (counts - 1) / 2.0 + 1.0, counts)
    u = ranks[positive].sum() - len(pos) * (len(pos) + 1) / 2.0
    return float(u / (len(pos) * len(neg)))


def _draw(
    path: Path,
    runs: list[MoonsRun],
    x_raw: np.ndarray,
    y: np.ndarray,
    mislabeled: np.ndarray,
    mean: torch.Tensor,
    std: torch.Tensor,
    noise: str,
    auroc: float | None,
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pad = 0.4
    x0 = np.linspace(x_raw[:, 0].min() - pad, x_raw[:, 0].max() + pad, 300)
    x1 = np.linspace(x_raw[:, 1].min() - pad, x_raw[:, 1].max() + pad, 300)
    gx, gy = np.meshgrid(x0, x1)
    grid = torch.tensor(np.stack([gx.ravel(), gy.ravel()], 1), dtype=torch.float32)
    grid = (grid - mean) / std
    fig, axes = plt.subplots(1, len(runs), figsize=(6.2 * len(runs), 5.4), squeeze=False)
    colors = np.array(["#1f77b4", "#ff7f0e"])
    for ax, r in zip(axes[0], runs, strict=True):
        with torch.no_grad():
            prob = torch.softmax(r.net(grid), 1)[:, 1].numpy().reshape(gx.shape)
        ax.contourf(gx, gy, prob, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.25)
        ax.contour(gx, gy, prob, levels=[0.5], colors="k", linewidths=1.5)
        w = r.weights / max(float(r.weights.mean()), 1e-12)
        size = 4.0 + 22.0 * np.clip(w, 0, 4)
        ax.scatter(x_raw[:, 0], x_raw[:, 1], s=size, c=colors[y], alpha=0.8, linewidths=0)
        ax.scatter(
            x_raw[mislabeled, 0],
            x_raw[mislabeled, 1],
            s=size[mislabeled] + 18,
            facecolors="none",
            edgecolors="k",
            linewidths=0.7,
            label="mislabeled (ringed)",
        )
        title = f"{r.name}: test accuracy {100 * r.test_acc:.1f}%"
        if not np.allclose(r.weights, 1.0):
            wc, wn = w[~mislabeled].mean(), w[mislabeled].mean()
            title += f"\nmean weight clean {wc:.2f}, mislabeled {wn:.2f}"
            if auroc is not None:
                title += f" (AUROC {auroc:.2f})"
        else:
            title += "\nall weights 1"
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.legend(loc="lower left", fontsize=8, frameon=False)
    fig.suptitle(
        f"Two moons, {noise} ({100 * mislabeled.mean():.0f}% of training labels flipped); "
        "colour = given label, dot size = last-epoch weight",
        fontsize=11,
    )
    from noisylabels.outputs import write_with

    fig.tight_layout()
    try:
        return write_with(path, lambda tmp: fig.savefig(tmp, dpi=110))
    finally:
        plt.close(fig)
