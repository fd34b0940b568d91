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

SCHEMA_VERSION = 1
