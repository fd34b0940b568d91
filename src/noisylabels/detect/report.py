"""What ``noisylabels detect`` writes: ranked ``issues.csv``, ``summary.json``, pictures.

``issues.csv`` has one row per training sample, most suspect first, with the columns

``rank, index, given_label, given_class, suggested_label, suggested_class, suggested_prob,
score, flagged`` and, when the true labels are known (synthetic noise, CIFAR-10N),
``true_label, flipped``.

``index`` is the row of the dataset's training set; ``score`` is the reported detector's
label-quality score (lower = more suspect); ``flagged`` is 1 for the detector's cut. For data
read from your own files a ``sample`` column follows ``index``: the image's path relative to the
folder, or the table row (the dataset's ``sample_names``), so each row can be matched to its
file.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from noisylabels.detect.core import Detection

ISSUE_COLUMNS = (
    "rank",
    "index",
    "given_label",
    "given_class",
    "suggested_label",
    "suggested_class",
    "suggested_prob",
    "score",
    "flagged",
)


def _score_of(det: Detection) -> np.ndarray:
    name = det.detector
    return det.scores["normalized_margin"] if name == "cl" else det.scores[name]


def write_issues(det: Detection, path: Path, classes: list[str] | None = None) -> None:
    """Write the ranked ``issues.csv`` (all samples, most suspect first)."""
    order = det.order()
    score = _score_of(det)
    flagged = det.flagged[det.detector]
    names = classes or [str(c) for c in range(int(det.given.max()) + 1)]
    cols = list(ISSUE_COLUMNS)
    sample_names = getattr(det.dataset, "sample_names", None)
    if sample_names is not None:
        cols.insert(cols.index("index") + 1, "sample")
    if det.clean is not None:
        cols += ["true_label", "flipped"]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for rank, i in enumerate(order, start=1):
            g, s = int(det.given[i]), int(det.suggested[i])
            index = int(i) if det.rows is None else int(det.rows[i])
            row: list[Any] = [
                rank,
                index,
                *([sample_names[0][index]] if sample_names is not None else []),
                g,
                names[g] if g < len(names) else g,
                s,
                names[s] if s < len(names) else s,
                f"{det.suggested_prob[i]:.6f}",
                f"{score[i]:.6f}",
                int(flagged[i]),
            ]
            if det.clean is not None:
                row += [int(det.clean[i]), int(det.clean[i] != g)]
            w.writerow(row)


def summary(det: Detection) -> dict[str, Any]:
    """The JSON summary: estimate beside the truth, metrics per detector, timings."""
    est = det.estimate
    out: dict[str, Any] = {
        "num_samples": len(det.given),
        "detector": det.detector,
        "num_flagged": det.num_flagged,
        "scores": sorted(det.scores),
        "detectors": sorted(det.suspicion),
    }
    if est is not None:
        out["estimate"] = {
            "noise_rate": est.noise_rate,
            "num_issues": est.num_issues,
            "transition": np.round(est.transition, 4).tolist(),
            "joint": np.round(est.joint, 6).tolist(),
        }
    noise = det.extra.get("noise")
    if noise is not None:
        out["noise"] = noise
    metrics = det.metrics()
    if metrics is not None:
        out["metrics"] = metrics
    out["timings"] = det.timings
    out.update({k: v for k, v in det.extra.items() if k != "noise"})
    return out


def write_outputs(det: Detection, out: Path, *, pictures: bool = True) -> list[Path]:
    """Write ``pred_probs.npy``, ``issues.csv``, ``summary.json`` and the pictures into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if det.pred_probs is not None:
        np.save(out / "pred_probs.npy", det.pred_probs)
        written.append(out / "pred_probs.npy")
    classes = det.extra.get("classes")
    write_issues(det, out / "issues.csv", classes)
    written.append(out / "issues.csv")
    (out / "summary.json").write_text(json.dumps(summary(det), indent=1))
    written.append(out / "summary.json")
    if pictures:
        from noisylabels.detect.plots import plot_pr_curves, plot_suspects

        if det.dataset is not None and det.dataset.is_image:
            written.append(plot_suspects(det, out / "suspects.png"))
        if det.clean is not None and (det.clean != det.given).any():
            written.append(plot_pr_curves(det, out / "pr_curve.png"))
    return written
