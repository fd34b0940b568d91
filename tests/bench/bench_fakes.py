"""Fake runners for sweep tests: records in the trainer's schema, no training.

Module-level functions, so they pickle into spawned sweep workers.
"""

from __future__ import annotations

import os
from pathlib import Path

from noisylabels.train import run_id
from noisylabels.train.config import TrainConfig

# Accuracy of a fake run: BASE[method] - 0.5 * rate + 0.01 * seed (fractions).
BASE = {"ce": 0.80, "nce+rce": 0.84, "ciw": 0.86}
EPOCHS = 3


def fake_acc(cfg: TrainConfig) -> float:
    rate = 0.0 if cfg.noise == "clean" else float(cfg.noise.split(":")[1])
    return BASE.get(cfg.method, 0.7) - 0.5 * rate + 0.01 * cfg.seed


def fake_record(cfg: TrainConfig) -> dict:
    acc = fake_acc(cfg)
    kind, _, rate = cfg.noise.partition(":")
    rate = float(rate) if rate else 0.0
    epochs = [
        {
            "epoch": e,
            "lr": 0.1,
            "train_loss": 1.0 / e,
            "train_acc_noisy": 0.5,
            "train_acc_clean": 0.5,
            "memorization": None,
            "val_acc_noisy": (acc - 0.1 * (EPOCHS - e)) * (1 - rate),
            "test_acc": acc - 0.1 * (EPOCHS - e),
            "time_s": 0.001,
        }
        for e in range(1, EPOCHS + 1)
    ]
    weights = None
    if cfg.method == "ciw":
        weights = {
            "bins": [0.0, 0.25, 0.5, 0.75, 1.0],
            "clean": [1, 2, 10, 40],
            "noisy": [20, 5, 2, 1],
        }
    return {
        "schema": 1,
        "run_id": run_id(cfg),
        "status": "ok",
        "error": None,
        "config": cfg.to_dict(),
        "noise": {
            "spec": cfg.noise,
            "kind": kind,
            "rate": rate,
            "sampling": cfg.noise_sampling,
            "realised_rate": rate * (1 + 0.01 * cfg.seed),
        },
        "epochs": epochs,
        "final": {
            "test_acc_last": acc,
            "test_acc_selected": acc - 0.02,
            "selected_epoch": EPOCHS,
            "test_acc_best": acc + 0.01,
            "train_time_s": 0.003,
            "eval_time_s": 0.001,
            "inference_ms_per_1000": 0.1,
        },
        "weights": weights,
        "wall_time_s": 0.01,
    }


def fake_runner(cfg: TrainConfig) -> dict:
    return fake_record(cfg)


def failing_runner(cfg: TrainConfig) -> dict:
    """CIW fails with a NaN loss, the others succeed."""
    if cfg.method == "ciw":
        from noisylabels.errors import NonFiniteLossError

        raise NonFiniteLossError("loss became nan at epoch 2, step 3\n(second line)")
    return fake_record(cfg)


def _next_call(folder: Path) -> int:
    """Index of this call across processes: the first ``call-N`` file this process creates."""
    folder.mkdir(exist_ok=True)
    n = 0
    while True:
        try:
            os.close(os.open(folder / f"call-{n}", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            return n
        except FileExistsError:
            n += 1


def dying_runner(cfg: TrainConfig) -> dict:
    """Kills the process (no cleanup, like SIGKILL) on every call after the first DIE_AFTER.

    Counts calls across processes in the folder named by $FAKE_COUNTER.
    """
    if _next_call(Path(os.environ["FAKE_COUNTER"])) >= int(os.environ["DIE_AFTER"]):
        os._exit(3)
    return fake_record(cfg)


def slow_runner(cfg: TrainConfig) -> dict:
    """Seed 1 takes a minute: a sweep is still running when the test presses Ctrl-C."""
    if cfg.seed == 1:
        import time

        time.sleep(60)
    return fake_record(cfg)


def dies_on_ciw_runner(cfg: TrainConfig) -> dict:
    """Kills its process (no cleanup, like SIGKILL or the OOM killer) for CIW runs."""
    if cfg.method == "ciw":
        os._exit(3)
    return fake_record(cfg)
