"""The JSON record one training run writes (one line of a sweep's JSONL file).

Schema (all accuracies are fractions in [0, 1]; times in seconds)::

    {
      "schema": 1,
      "run_id": "3f2a...",            # hash of the resolved config: the sweep's resume key
      "status": "ok" | "failed",
      "error": null | "one-line message",
      "config": {...TrainConfig.to_dict()...},
      "versions": {"noisylabels": ..., "torch": ..., "numpy": ..., "python": ...},
      "device": "cpu" | "cuda (NVIDIA H100 ...)",
      "noise": {"spec": "symmetric:0.4", "kind": ..., "rate": 0.4, "sampling": "exact",
                "realised_rate": 0.4, "realised_rate_train": ..., "num_noisy": ...},
      "epochs": [
        {"epoch": 1, "lr": ..., "train_loss": ..., "train_acc_noisy": ..., "train_acc_clean": ...,
         "memorization": ...,       # share of mislabeled samples predicted as their wrong label
         "val_acc_noisy": ...,      # accuracy on the noisy held-out split (model selection)
         "test_acc": ...,           # null at epochs not scored with test_eval=selected
         "weight_mean_clean": ..., "weight_mean_noisy": ...,
         "weight_auroc": ...,       # weighting methods only
         "time_s": ...}
      ],
      "final": {"test_acc_last": ..., "test_acc_selected": ..., "selected_epoch": ...,
                "test_acc_best": ...,  # optimistic: best over epochs (null, test_eval=selected)
                "train_time_s": ..., "eval_time_s": ..., "inference_ms_per_1000": ...},
      "weights": null | {"bins": [...], "clean": [...], "noisy": [...]},   # last-epoch histogram
      "started_at": "2026-11-21T14:00:00Z", "wall_time_s": ...
    }
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class WeightStats:
    """How a weighting method weighed clean and mislabeled training samples (last seen weights).

    Attributes:
        mean_clean: Mean weight of correctly labelled samples (None if there are none).
        mean_noisy: Mean weight of mislabeled samples (None if there are none).
        auroc: AUROC of the weights for telling clean (positive) from mislabeled samples;
            None when one of the two groups is empty.
    """

    mean_clean: float | None
    mean_noisy: float | None
    auroc: float | None


@dataclass(frozen=True)
class EpochRow:
    """One epoch of a run's record (``record["epochs"][i]``).

    Attributes:
        epoch: 1-based epoch number.
        lr: Learning rate at the epoch's first step.
        train_loss: Mean training loss over the epoch's steps, weighted by batch size.
        train_acc_noisy: Training accuracy against the given (noisy) labels, during the epoch.
        train_acc_clean: Training accuracy against the clean labels, during the epoch.
        memorization: Share of mislabeled samples predicted as their wrong label (None without
            mislabeled samples).
        val_acc_noisy: Accuracy on the noisy held-out split (None without one).
        test_acc: Test accuracy (None at epochs not scored with ``test_eval=selected``).
        time_s: Training time of the epoch.
        eval_time_s: Evaluation time of the epoch (None in records that predate it).
        weights: Clean/mislabeled weight statistics (weighting methods only, else None).
    """

    epoch: int
    lr: float
    train_loss: float
    train_acc_noisy: float
    train_acc_clean: float
    memorization: float | None
    val_acc_noisy: float | None
    test_acc: float | None
    time_s: float
    eval_time_s: float | None = None
    weights: WeightStats | None = None

    def to_json(self) -> dict[str, Any]:
        """The row as written in the record (weight keys only for weighting methods)."""
        d: dict[str, Any] = {
            "epoch": self.epoch,
            "lr": self.lr,
            "train_loss": self.train_loss,
            "train_acc_noisy": self.train_acc_noisy,
            "train_acc_clean": self.train_acc_clean,
            "memorization": self.memorization,
            "val_acc_noisy": self.val_acc_noisy,
            "test_acc": self.test_acc,
            "time_s": self.time_s,
        }
        if self.eval_time_s is not None:
            d["eval_time_s"] = self.eval_time_s
        if self.weights is not None:
            d["weight_mean_clean"] = self.weights.mean_clean
            d["weight_mean_noisy"] = self.weights.mean_noisy
            d["weight_auroc"] = self.weights.auroc
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> EpochRow:
        """Read a row written by :meth:`to_json` (or by an older version of it)."""
        weights = None
        if any(k in d for k in ("weight_mean_clean", "weight_mean_noisy", "weight_auroc")):
            weights = WeightStats(
                d.get("weight_mean_clean"), d.get("weight_mean_noisy"), d.get("weight_auroc")
            )
        return cls(
            epoch=d["epoch"],
            lr=d["lr"],
            train_loss=d["train_loss"],
            train_acc_noisy=d["train_acc_noisy"],
            train_acc_clean=d["train_acc_clean"],
            memorization=d.get("memorization"),
            val_acc_noisy=d.get("val_acc_noisy"),
            test_acc=d.get("test_acc"),
            time_s=d["time_s"],
            eval_time_s=d.get("eval_time_s"),
            weights=weights,
        )
