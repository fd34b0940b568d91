"""Pictures of a detection: the top suspects and precision-recall curves (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from noisylabels.detect.core import Detection


def plot_suspects(det: Detection, path: Path, count: int = 25) -> Path:
    """Grid of the ``count`` most suspect images, titled ``given -> suggested (score)``."""
    data = det.dataset
    classes = list(data.classes)
    order = det.order()[:count]
    score = det.scores["normalized_margin" if det.detector == "cl" else det.detector]
    cols = 5
    rows = max(1, int(np.ceil(len(order) / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.5 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, order, strict=False):
        img = data.x_train[int(i)].cpu().numpy()
        img = img.transpose(1, 2, 0)
        if img.shape[2] == 1:
            ax.imshow(img[:, :, 0], cmap="gray", vmin=0, vmax=255)
        else:
            ax.imshow(img)
        g, s = int(det.given[i]), int(det.suggested[i])
        row = int(i) if det.rows is None else int(det.rows[i])
        title = f"#{row}: {classes[g]} -> {classes[s]}\nscore {score[i]:.3f}"
        if det.clean is not None:
            title += " (flipped)" if det.clean[i] != g else " (correct)"
        ax.set_title(title, fontsize=7)
    fig.suptitle(f"Top {len(order)} suspected label errors ({det.detector})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_pr_curves(det: Detection, path: Path) -> Path:
    """Precision-recall curve of every detector's ranking against the known flips."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    flipped = det.given != det.clean
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    for name in sorted(det.suspicion):
        s = det.suspicion[name]
        prec, rec, _ = precision_recall_curve(flipped, s)
        ap = average_precision_score(flipped, s)
        ax.plot(rec, prec, label=f"{name} (AP {ap:.3f})", lw=1.4)
        f = det.flagged[name]
        if f.any():
            tp = (f & flipped).sum()
            ax.plot(tp / flipped.sum(), tp / f.sum(), "o", ms=4, color=ax.lines[-1].get_color())
    ax.axhline(flipped.mean(), color="grey", ls=":", lw=1, label="share of flipped labels")
    ax.set_xlabel("recall (share of flipped labels found)")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title("Label-error detection (dots: each detector's cut)")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
