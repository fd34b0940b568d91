"""Find wrong labels and train on what is left.

Cross-validated predicted probabilities, label-quality scores, confident learning's noise
estimate, training-dynamics scores, and label editing for a retrain.

>>> import numpy as np
>>> from noisylabels.detect import find_label_issues
>>> p = np.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.3, 0.7], [0.9, 0.1]])
>>> find_label_issues(p, np.array([0, 0, 1, 1, 1])).flagged["cl"].nonzero()[0].tolist()
[4]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from noisylabels._lazy import lazy_imports

if TYPE_CHECKING:  # imported on first use, so `noisylabels --help` needs no torch
    from noisylabels.detect.core import PRED_SCORES, Detection, detect, find_label_issues
    from noisylabels.detect.cv import cross_val_pred_probs, stratified_folds
    from noisylabels.detect.metrics import detection_metrics, precision_at_k
    from noisylabels.detect.scores import (
        NoiseEstimate,
        calibrate_joint,
        confident_joint,
        estimate_noise,
        normalized_margin,
        per_class_thresholds,
        prune_by_noise_rate,
        self_confidence,
    )

__getattr__, __dir__ = lazy_imports(__name__, __file__)

__all__ = [
    "PRED_SCORES",
    "Detection",
    "NoiseEstimate",
    "calibrate_joint",
    "confident_joint",
    "cross_val_pred_probs",
    "detect",
    "detection_metrics",
    "estimate_noise",
    "find_label_issues",
    "normalized_margin",
    "per_class_thresholds",
    "precision_at_k",
    "prune_by_noise_rate",
    "self_confidence",
    "stratified_folds",
]
