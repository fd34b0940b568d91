"""Rank and flag suspected wrong labels; the ``detect`` entry point of the Python API.

A *score* is a per-sample label quality (higher = label more likely correct). A *detector* is a
score plus a cut: confident learning's prune-by-noise-rate set (``cl``), or the samples with the
lowest score, as many as confident learning estimates are wrong.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from noisylabels.detect.metrics import detection_metrics
from noisylabels.detect.scores import (
    NoiseEstimate,
    check_pred_probs,
    estimate_noise,
    normalized_margin,
    prune_by_noise_rate,
    self_confidence,
)
from noisylabels.errors import UsageError
from noisylabels.registry import Registry
from noisylabels.train.config import TrainConfig

#: Scores computed from out-of-sample predicted probabilities: ``fn(pred_probs, labels)``.
PRED_SCORES: Registry[Callable[[np.ndarray, np.ndarray], np.ndarray]] = Registry("score")
PRED_SCORES.register("self_confidence", help="p[given label]")(self_confidence)
PRED_SCORES.register("normalized_margin", help="(p[given] - max other p + 1) / 2")(
    normalized_margin
)

#: The detector that ranks the output by default: confident learning's set, ranked by margin.
DEFAULT_DETECTOR = "cl"


@dataclass
class Detection:
    """Suspected wrong labels of one dataset.

    Attributes:
        given: Given labels, ``(N,)``.
        suggested: Most probable class per sample, ``(N,)``.
        suggested_prob: Its probability, ``(N,)`` (the confidence a relabelling rule compares).
        scores: Label-quality score per name, each ``(N,)`` (lower = more suspect).
        detector: Name of the detector whose ranking and cut are reported.
        flagged: Per detector, the boolean mask of its cut.
        suspicion: Per detector, a ranking key (higher = more suspect).
        estimate: Confident learning's noise estimate (None without pred_probs).
        pred_probs: ``(N, K)`` out-of-sample predicted probabilities, if any.
        clean: Known true labels (synthetic noise), or None.
        timings: Wall-clock seconds of the stages.
        extra: Anything else for the summary (JSON-serialisable: folds, noise, classes...).
        dataset: The dataset object the labels belong to (for pictures), if known; with
            ``train_subset``, the subset (its training rows are the checked samples in order).
        rows: Row of the dataset's training set of each sample, ``(N,)``; None when sample
            ``i`` is row ``i`` (no ``train_subset``).
    """

    given: np.ndarray
    suggested: np.ndarray
    suggested_prob: np.ndarray
    scores: dict[str, np.ndarray]
    detector: str
    flagged: dict[str, np.ndarray]
    suspicion: dict[str, np.ndarray]
    estimate: NoiseEstimate | None = None
    pred_probs: np.ndarray | None = None
    clean: np.ndarray | None = None
    timings: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    dataset: Any = None
    rows: np.ndarray | None = None

    @property
    def num_flagged(self) -> int:
        """Size of the reported detector's cut."""
        return int(self.flagged[self.detector].sum())

    def order(self, detector: str | None = None) -> np.ndarray:
        """Sample indices, most suspect first (stable on ties)."""
        key = self.suspicion[detector or self.detector]
        return np.argsort(-key, kind="stable")

    def metrics(self) -> dict[str, dict[str, Any]] | None:
        """Per detector, metrics against the known flips (None when the truth is unknown)."""
        if self.clean is None:
            return None
        flipped = self.given != self.clean
        return {
            name: detection_metrics(self.suspicion[name], self.flagged[name], flipped)
            for name in self.suspicion
        }


def _rank_key(quality: np.ndarray) -> np.ndarray:
    return -np.asarray(quality, dtype=np.float64)


def lowest(quality: np.ndarray, count: int) -> np.ndarray:
    """Mask of the ``count`` samples with the lowest ``quality`` (stable on ties)."""
    mask = np.zeros(len(quality), dtype=bool)
    if count > 0:
        mask[np.argsort(quality, kind="stable")[:count]] = True
    return mask


def find_label_issues(
    pred_probs: np.ndarray,
    labels: np.ndarray,
    *,
    clean_labels: np.ndarray | None = None,
    extra_scores: dict[str, np.ndarray] | None = None,
    detector: str = DEFAULT_DETECTOR,
    num_issues: int | None = None,
) -> Detection:
    r"""Score every label and flag the suspects from out-of-sample ``pred_probs``.

    Detectors: ``cl`` (confident learning's prune-by-noise-rate set, ranked by normalized margin
    inside and outside the set) and one per score (registered pred_probs scores plus
    ``extra_scores``), each flagging its lowest-scored samples, as many as ``num_issues``
    (default: confident learning's estimate :math:`N (1 - \operatorname{tr} \hat Q)`).

    Args:
        pred_probs: ``(N, K)`` out-of-sample predicted probabilities (rows in dataset order).
        labels: ``(N,)`` given labels.
        clean_labels: Known true labels, for metrics.
        extra_scores: More label-quality scores (e.g. training dynamics), each ``(N,)``.
        detector: The detector whose ranking and cut are reported.
        num_issues: Size of the cut of the score detectors.

    Example:
        >>> import numpy as np
        >>> p = np.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.3, 0.7], [0.9, 0.1]])
        >>> det = find_label_issues(p, np.array([0, 0, 1, 1, 1]))
        >>> det.flagged["cl"].tolist()
        [False, False, False, False, True]
    """
    p, y = check_pred_probs(pred_probs, labels)
    estimate = estimate_noise(p, y)
    scores = {name: PRED_SCORES.get(name)(p, y) for name in PRED_SCORES.names()}
    for name, s in (extra_scores or {}).items():
        s = np.asarray(s, dtype=np.float64)
        if s.shape != y.shape:
            raise UsageError(f"score {name!r} has shape {s.shape}, expected {y.shape}")
        scores[name] = s
    n_cut = estimate.num_issues if num_issues is None else int(num_issues)
    flagged = {name: lowest(s, n_cut) for name, s in scores.items()}
    suspicion = {name: _rank_key(s) for name, s in scores.items()}
    cl_mask = prune_by_noise_rate(p, y, joint=estimate.joint)
    flagged["cl"] = cl_mask
    # Flagged samples first, each group ordered by normalized margin (its key lies in [0, 1]).
    suspicion["cl"] = cl_mask.astype(np.float64) + (1.0 - scores["normalized_margin"])
    if detector not in suspicion:
        raise UsageError(f"unknown detector {detector!r}; choose from {', '.join(suspicion)}")
    suggested = p.argmax(axis=1)
    return Detection(
        given=y,
        suggested=suggested,
        suggested_prob=p[np.arange(len(y)), suggested],
        scores=scores,
        detector=detector,
        flagged=flagged,
        suspicion=suspicion,
        estimate=estimate,
        pred_probs=p,
        clean=None if clean_labels is None else np.asarray(clean_labels, dtype=np.int64),
    )


def detect(
    config: TrainConfig,
    *,
    dataset: Any = None,
    num_folds: int = 5,
    fold_seed: int | None = None,
    detector: str = DEFAULT_DETECTOR,
    dynamics: bool = False,
    progress: bool = False,
) -> Detection:
    """Find the wrong labels of a dataset: cross-validated pred_probs, scores, noise estimate.

    Args:
        config: How to train each fold's network (dataset, noise, method, model, epochs...).
            The noise spec corrupts the dataset's labels first (``clean`` for a dataset whose
            labels are used as given). With ``train_subset`` N, only the subset's N samples
            (with their noisy labels from the whole set) are checked and cross-validated.
        dataset: A dataset object used instead of loading ``config.dataset``.
        num_folds: Cross-validation folds K (K trainings).
        fold_seed: Seed of the fold assignment (default: ``config.seed``).
        detector: The detector that ranks the output.
        dynamics: Also train once on all labels and add the training-dynamics scores.
        progress: Progress bars over folds and epochs.

    Example:
        >>> from noisylabels.train import TrainConfig
        >>> cfg = TrainConfig(dataset="digits", noise="symmetric:0.2", epochs=2, device="cpu")
        >>> det = detect(cfg, num_folds=2)
        >>> det.pred_probs.shape, det.num_flagged > 0
        ((1438, 10), True)
    """
    from noisylabels.data import load_dataset
    from noisylabels.detect.cv import cross_val_pred_probs
    from noisylabels.train.trainer import noisy_labels_for, subset_rows

    # Checked before the K trainings, not after them.
    if fold_seed is not None and fold_seed < 0:
        raise UsageError(f"fold_seed must be >= 0, got {fold_seed}")
    if not dynamics and detector not in (*PRED_SCORES.names(), "cl"):
        raise UsageError(
            f"unknown detector {detector!r}; choose from {', '.join(PRED_SCORES.names())}, cl "
            "(or a training-dynamics score with --dynamics)"
        )
    t0 = time.perf_counter()
    data = dataset if dataset is not None else load_dataset(config.dataset, root=config.data_root)
    noisy = noisy_labels_for(config, data)
    given = np.asarray(noisy.noisy_labels, dtype=np.int64)
    clean = np.asarray(noisy.clean_labels, dtype=np.int64)
    rows = subset_rows(config, data)
    if rows is not None:  # the subset keeps the labels the whole training set was given
        data = dataclasses.replace(data, x_train=data.x_train[rows], y_train=data.y_train[rows])
        given, clean = given[rows], clean[rows]
    records: list[dict[str, Any]] = []
    probs, folds = cross_val_pred_probs(
        config,
        data,
        given,
        num_folds=num_folds,
        fold_seed=fold_seed,
        progress=progress,
        on_fold=lambda k, rec: records.append(rec),
    )
    t_cv = time.perf_counter() - t0
    extra_scores: dict[str, np.ndarray] = {}
    t_dyn = 0.0
    if dynamics:
        from noisylabels.detect.dynamics import dynamics_scores

        t1 = time.perf_counter()
        extra_scores = dynamics_scores(config, data, given, progress=progress)
        t_dyn = time.perf_counter() - t1
    known = config.noise.strip().lower() != "clean"
    det = find_label_issues(
        probs,
        given,
        clean_labels=clean if known else None,
        extra_scores=extra_scores,
        detector=detector,
    )
    det.timings = {
        "cross_validation_s": t_cv,
        "fold_train_s": sum(r["final"]["train_time_s"] for r in records),
        "dynamics_s": t_dyn,
        "total_s": time.perf_counter() - t0,
    }
    realised_rate, t_realised = float(noisy.realised_rate), np.asarray(noisy.T_realised)
    if rows is not None:
        from noisylabels.noise.sampling import confusion_T

        realised_rate = float(np.mean(given != clean))
        t_realised = confusion_T(clean, given, data.num_classes)
    det.extra = {
        "folds": num_folds,
        "fold_sizes": np.bincount(folds, minlength=num_folds).tolist(),
        "noise": {
            "spec": str(noisy.spec),
            "realised_rate": realised_rate if known else None,
            "T_realised": t_realised.tolist() if known else None,
        },
        "classes": list(data.classes),
        "config": config.to_dict(),
        "fold_test_acc_noisy": [r["final"]["test_acc_selected"] for r in records],
    }
    if rows is not None:
        det.extra["train_subset"] = {"size": len(rows), "seed": config.subset_seed}
    det.dataset = data
    det.rows = rows
    return det
