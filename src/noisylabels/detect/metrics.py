"""How well a detector finds the known wrong labels (synthetic noise, CIFAR-10N).

``suspicion`` is higher for samples more likely mislabelled (the negated label-quality score);
``flipped`` is the truth (given label != clean label); ``flagged`` is the detector's cut.
Average precision and AUROC come from scikit-learn.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def precision_at_k(suspicion: np.ndarray, flipped: np.ndarray, k: int) -> float | None:
    """Share of truly flipped labels among the ``k`` most suspicious (stable order on ties)."""
    k = min(int(k), len(suspicion))
    if k <= 0:
        return None
    top = np.argsort(-np.asarray(suspicion, dtype=np.float64), kind="stable")[:k]
    return float(np.asarray(flipped, dtype=bool)[top].mean())


def detection_metrics(
    suspicion: np.ndarray, flagged: np.ndarray, flipped: np.ndarray, ks: tuple[int, ...] = (100,)
) -> dict[str, Any]:
    """Precision, recall and F1 of ``flagged``; AP, AUROC and precision at k of ``suspicion``.

    ``precision_at_num_flipped`` is precision at k = the true number of flipped labels (where
    precision equals recall). Undefined values (no flip, empty cut) are None.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    s = np.asarray(suspicion, dtype=np.float64)
    f = np.asarray(flagged, dtype=bool)
    t = np.asarray(flipped, dtype=bool)
    tp = int((f & t).sum())
    n_flag, n_true = int(f.sum()), int(t.sum())
    precision = tp / n_flag if n_flag else None
    recall = tp / n_true if n_true else None
    f1 = None
    if precision is not None and recall is not None:
        f1 = 0.0 if tp == 0 else 2 * precision * recall / (precision + recall)
    both = 0 < n_true < len(t)
    out: dict[str, Any] = {
        "num_flagged": n_flag,
        "num_flipped": n_true,
        "true_positives": tp,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "average_precision": float(average_precision_score(t, s)) if both else None,
        "auroc": float(roc_auc_score(t, s)) if both else None,
        "precision_at_num_flipped": precision_at_k(s, t, n_true) if n_true else None,
    }
    for k in ks:
        out[f"precision_at_{k}"] = precision_at_k(s, t, k)
    return out
