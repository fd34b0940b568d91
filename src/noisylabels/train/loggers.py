"""Watch a run while it trains: CSV files (always available) and TensorBoard (optional extra).

Both log, per epoch, the record row (loss, accuracies, memorisation, noisy-validation and test
accuracy, learning rate, times) and, for weighting methods, the mean weight of clean and of
mislabeled training samples, the weights' clean-vs-mislabeled AUROC, and the 30-bin histograms of
both groups' weights (the record keeps only the last epoch's). On a resumed run they go on from
the checkpoint's epoch.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from noisylabels.errors import UsageError
from noisylabels.train.callbacks import Callback

if TYPE_CHECKING:
    from noisylabels.train.record import EpochRow
    from noisylabels.train.trainer import RunState

METRICS = (
    "epoch", "lr", "train_loss", "train_acc_noisy", "train_acc_clean", "memorization",
    "val_acc_noisy", "test_acc", "weight_mean_clean", "weight_mean_noisy", "weight_auroc",
    "time_s", "eval_time_s",
)  # fmt: skip
BINS = 30


def _row_values(row: EpochRow) -> dict[str, Any]:
    d = row.to_json()
    return {k: d.get(k) for k in METRICS}


def _histograms(run: RunState) -> dict[str, Any] | None:
    if not run.has_weights:
        return None
    from noisylabels.train.trainer import weight_histogram

    return weight_histogram(run.sample_weights, run.train.mislabeled)


def _keep_rows(path: Path, upto: int) -> list[list[str]]:
    """Rows of an existing CSV whose first column (the epoch) is at most ``upto``."""
    if upto <= 0 or not path.exists():
        return []
    with path.open(newline="") as f:
        rows = list(csv.reader(f))[1:]
    return [r for r in rows if r and r[0].isdigit() and int(r[0]) <= upto]


class CSVLogger(Callback):
    """``metrics.csv`` and ``weights.csv`` in ``folder``.

    ``metrics.csv`` has one row per epoch; ``weights.csv`` the clean and mislabeled weight
    histograms of each epoch, one ``epoch, group, lo, hi, count`` line per bin.

    Args:
        folder: Output folder (created).
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)

    def on_train_start(self, run: RunState) -> None:
        """Start the files (keeping a resumed run's earlier epochs)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for name, header in (
            ("metrics.csv", list(METRICS)),
            ("weights.csv", ["epoch", "group", "lo", "hi", "count"]),
        ):
            path = self.folder / name
            kept = _keep_rows(path, run.epoch)
            with path.open("w", newline="") as f:
                w = csv.writer(f)
                w.writerow(header)
                w.writerows(kept)

    def on_epoch_end(self, run: RunState, row: EpochRow) -> None:
        """Append the epoch's metrics and weight histograms."""
        values = _row_values(row)
        with (self.folder / "metrics.csv").open("a", newline="") as f:
            csv.writer(f).writerow(["" if values[k] is None else values[k] for k in METRICS])
        hist = _histograms(run)
        if hist is None:
            return
        bins = hist["bins"]
        with (self.folder / "weights.csv").open("a", newline="") as f:
            w = csv.writer(f)
            for group in ("clean", "noisy"):
                for i, count in enumerate(hist[group]):
                    label = "mislabeled" if group == "noisy" else group
                    w.writerow([row.epoch, label, bins[i], bins[i + 1], count])


def _summary_writer() -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise UsageError(
            "--log tensorboard needs the tensorboard package: "
            "pip install 'noisylabels[tensorboard]'"
        ) from None
    return SummaryWriter


class TensorBoardLogger(Callback):
    """TensorBoard scalars per epoch and clean/mislabeled weight histograms in ``logdir``.

    Needs the ``tensorboard`` package (``pip install 'noisylabels[tensorboard]'``); without it
    building the logger is a one-line :class:`~noisylabels.errors.UsageError`.

    Args:
        logdir: The event-file folder (``tensorboard --logdir`` it).
    """

    def __init__(self, logdir: str | os.PathLike[str]) -> None:
        self.logdir = Path(logdir)
        self._writer_cls = _summary_writer()
        self.writer: Any = None

    def on_train_start(self, run: RunState) -> None:
        """Open the writer (a resumed run overwrites events after its checkpoint's epoch)."""
        self.writer = self._writer_cls(str(self.logdir), purge_step=run.epoch + 1)

    def on_epoch_end(self, run: RunState, row: EpochRow) -> None:
        """Scalars of the row; weight histograms for weighting methods."""
        for key, value in _row_values(row).items():
            if key != "epoch" and value is not None:
                self.writer.add_scalar(key, value, row.epoch)
        if run.has_weights:
            w, mis = run.sample_weights.cpu(), run.train.mislabeled.cpu()
            if (~mis).any():
                self.writer.add_histogram("weights/clean", w[~mis], row.epoch)
            if mis.any():
                self.writer.add_histogram("weights/mislabeled", w[mis], row.epoch)
        self.writer.flush()

    def on_train_end(self, run: RunState, record: dict[str, Any]) -> None:
        """Final scores as scalars at the last epoch; close."""
        for key, value in (record.get("final") or {}).items():
            if isinstance(value, (int, float)) and value is not None:
                self.writer.add_scalar(f"final/{key}", value, run.epoch)
        self.writer.close()


LOGGERS = {"csv": CSVLogger, "tensorboard": TensorBoardLogger}


def check_log_folder(name: str, folder: str | os.PathLike[str], *, resuming: bool) -> Path:
    """Check, before training, that logger ``name`` can write in ``folder/name``.

    The folder must be (or become) a writable folder and its files regular files. A log already
    there is refused unless the run is resumed (which keeps its epochs up to the checkpoint):
    starting over would replace the log of an earlier run.
    """
    from noisylabels.outputs import check_output_dir, check_output_file

    if name not in LOGGERS:
        raise UsageError(f"unknown logger {name!r}; choose {' or '.join(LOGGERS)}")
    option = f"--log {name}"
    d = check_output_dir(Path(folder) / name, option=option)
    if name == "csv":
        files = [check_output_file(d / f, option=option) for f in ("metrics.csv", "weights.csv")]
        old = [f for f in files if f.exists() and f.stat().st_size > 0]
    else:
        old = sorted(d.glob("events.out.tfevents.*")) if d.is_dir() else []
    if old and not resuming:
        raise UsageError(
            f"{option}: {old[0]} already holds the log of an earlier run of this configuration; "
            "keep it: train with another --out, go on with --resume, or delete it"
        )
    return d


def make_logger(name: str, folder: str | os.PathLike[str]) -> Callback:
    """``csv``: a :class:`CSVLogger` in ``folder/csv``; ``tensorboard``: ``folder/tensorboard``."""
    if name not in LOGGERS:
        raise UsageError(f"unknown logger {name!r}; choose {' or '.join(LOGGERS)}")
    return LOGGERS[name](Path(folder) / name)
