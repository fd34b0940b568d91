"""``noisylabels moons``: why reweighting helps, on a picture.

Two moons with 30% of the training labels flipped; the same MLP trained with cross entropy and
with CIW (constrained instance reweighting, Kumar & Amid 2021). The figure shows both decision
boundaries side by side; each training point is coloured by the label it was trained on, drawn
with a size proportional to the weight the method gave it in the last epoch (CE: all 1), and
mislabeled points are ringed. CIW gives the mislabeled points small weights, so its boundary
follows the clean moons where CE bends toward the flipped points.

Each method is one trainer run (:func:`~noisylabels.train.prepare`, :func:`~noisylabels.train.fit`,
:func:`~noisylabels.train.evaluate`) on the same dataset object, without a validation split, so
the run's ``sample_weights`` hold every training point's last weight.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from noisylabels.errors import UsageError

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


def _config(method_name: str, params: dict[str, Any], noise: str, epochs: int, seed: int):
    from noisylabels.train import TrainConfig

    return TrainConfig(
        dataset="moons",
        noise=noise,
        method=method_name,
        method_params=dict(params),
        model="mlp",
        epochs=epochs,
        batch_size=DEFAULTS["batch_size"],
        optimizer="adam",
        lr=DEFAULTS["lr"],
        weight_decay=0.0,
        schedule="constant",
        val_fraction=0.0,  # every point trains, so its weight is in the picture
        augment="none",
        device="cpu",
        seed=seed,
        test_eval="selected",
    )


def _train(
    method_name: str,
    params: dict[str, Any],
    data: Any,
    *,
    noise: str,
    epochs: int,
    seed: int,
    progress: bool,
) -> tuple[MoonsRun, Any]:
    from noisylabels.train import evaluate, fit, prepare
    from noisylabels.train.callbacks import ProgressBar

    callbacks = [ProgressBar()] if progress else []
    state = prepare(_config(method_name, params, noise, epochs, seed), dataset=data)
    fit(state, callbacks)
    record = evaluate(state, callbacks)
    # Without a validation split training-split position i is training point i.
    weights = np.ones(len(data.y_train), dtype=np.float32)
    weights[state.train_positions.numpy()] = state.sample_weights.cpu().numpy()
    run = MoonsRun(method_name, record["final"]["test_acc_last"], weights, state.method.net.eval())
    return run, state


def _check_figure_format(out: str | Path) -> None:
    """Refuse a file name whose suffix matplotlib cannot write (before training)."""
    from matplotlib.backend_bases import FigureCanvasBase

    suffix = Path(out).suffix.lower().lstrip(".")
    formats = sorted(FigureCanvasBase.get_supported_filetypes())
    if suffix not in formats:
        got = f".{suffix}" if suffix else "no suffix"
        raise UsageError(
            f"--out {out}: a figure file name ends in its format ({', '.join(formats)}), "
            f"got {got}; e.g. moons.png"
        )


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
    from noisylabels.data import load_dataset
    from noisylabels.outputs import check_output_file
    from noisylabels.train.threads import torch_threads
    from noisylabels.train.trainer import auroc

    check_output_file(out)  # before training: a bad path must not cost the run
    _check_figure_format(out)
    noise = noise or DEFAULTS["noise"]
    epochs = epochs or DEFAULTS["epochs"]
    n = n_samples or DEFAULTS["n_samples"]
    data = load_dataset("moons", n_train=n, n_test=2000, noise=DEFAULTS["spread"], seed=seed)
    # A 2-D MLP on 128-point batches is far faster on one thread than split across cores.
    with torch_threads(1):
        trained = [
            _train(name, params, data, noise=noise, epochs=epochs, seed=seed, progress=progress)
            for _, name, params in methods
        ]
    runs = [r for r, _ in trained]
    state = trained[0][1]
    y = state.noisy_labels
    mislabeled = (state.noisy_labels != state.clean_labels).numpy()
    mean = torch.tensor(data.mean, dtype=torch.float32)
    std = torch.tensor(data.std, dtype=torch.float32)
    for (title, _, _), r in zip(methods, runs, strict=True):
        r.name = title
    weight_auroc = None
    for r in runs:
        if not np.allclose(r.weights, 1.0):
            weight_auroc = auroc(r.weights, ~mislabeled)
    path = _draw(
        Path(out), runs, data.x_train.numpy(), y.numpy(), mislabeled, mean, std, noise, weight_auroc
    )
    return MoonsResult(
        path=path,
        test_acc={r.name: r.test_acc for r in runs},
        weight_auroc=weight_auroc,
        runs=runs,
        realised_rate=float(state.noise.realised_rate),
    )


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
