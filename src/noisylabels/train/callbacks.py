"""Hooks into a training run: subclass :class:`Callback` and pass it to ``run(callbacks=...)``.

The trainer calls, in order: :meth:`Callback.on_train_start` once before the first epoch (also
when a run resumes from a checkpoint), :meth:`Callback.on_batch_end` after every optimiser step,
:meth:`Callback.on_epoch_end` after each epoch's evaluation, and :meth:`Callback.on_train_end`
with the finished record. Every hook receives the :class:`~noisylabels.train.trainer.RunState`,
which exposes the config, the method (``run.method.net`` is the evaluated network), the
training-split positions, the noisy and clean labels and the epoch counter.

Callbacks observe; they must not change the model, the optimiser or any random generator, or
the run is no longer the one its config describes. Tensors handed to ``on_batch_end`` live on
the training device: keep them there (index-assign into a preallocated tensor) rather than
calling ``.item()`` per batch, which waits for the device.

Example: a callback that keeps each sample's last per-sample loss::

    class LastLoss(Callback):
        def on_train_start(self, run):
            self.loss = torch.zeros(len(run.train_positions))

        def on_batch_end(self, run, batch, out, state):
            self.loss[batch.index.cpu()] = out.per_sample_loss.float().cpu()
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from noisylabels.methods.base import Batch, StepOutput, StepState
    from noisylabels.train.record import EpochRow
    from noisylabels.train.trainer import RunState


class Callback:
    """Base class with no-op hooks; override the ones you need."""

    def on_train_start(self, run: RunState) -> None:
        """Call every callback's ``on_train_start``."""
        """Before the first epoch of this process (``run.epoch`` > 0 when resuming)."""

    def on_batch_end(self, run: RunState, batch: Batch, out: StepOutput, state: StepState) -> None:
        """After one optimiser step.

        Args:
            run: The run.
            batch: The batch; ``batch.index`` holds training-split positions
                (``run.train_positions[batch.index]`` are rows of the dataset's training set).
            out: The method's output: detached ``logits``, ``per_sample_loss``, ``weights``.
            state: Epoch (0-based) and global step.
        """

    def on_epoch_end(self, run: RunState, row: EpochRow) -> None:
        """After an epoch's training and evaluation; ``row`` is its record row."""

    def on_train_end(self, run: RunState, record: dict[str, Any]) -> None:
        """After the final evaluation, with the run's JSON record."""


class CallbackList(Callback):
    """Calls each callback in turn (the trainer's dispatcher)."""

    def __init__(self, callbacks: Iterable[Callback] = ()) -> None:
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                from noisylabels.errors import UsageError

                raise UsageError(
                    f"callbacks must be noisylabels.train.callbacks.Callback instances, "
                    f"got {type(cb).__name__}"
                )
        # Only callbacks that override on_batch_end are called per step.
        self.batch_callbacks = [
            cb for cb in self.callbacks if type(cb).on_batch_end is not Callback.on_batch_end
        ]

    def on_train_start(self, run: RunState) -> None:
        """Hook: see :meth:`Callback.on_train_start`."""
        for cb in self.callbacks:
            cb.on_train_start(run)

    def on_batch_end(self, run: RunState, batch: Batch, out: StepOutput, state: StepState) -> None:
        """Hook: see :meth:`Callback.on_batch_end`."""
        for cb in self.batch_callbacks:
            cb.on_batch_end(run, batch, out, state)

    def on_epoch_end(self, run: RunState, row: EpochRow) -> None:
        """Hook: see :meth:`Callback.on_epoch_end`."""
        for cb in self.callbacks:
            cb.on_epoch_end(run, row)

    def on_train_end(self, run: RunState, record: dict[str, Any]) -> None:
        """Hook: see :meth:`Callback.on_train_end`."""
        for cb in self.callbacks:
            cb.on_train_end(run, record)


class EpochLog(Callback):
    """Writes one line per epoch (loss, accuracies, memorisation, weight AUROC, time)."""

    def __init__(self, write: Callable[[str], None] = print) -> None:
        self.write = write

    def on_epoch_end(self, run: RunState, row: EpochRow) -> None:
        """Hook: see :meth:`Callback.on_epoch_end`."""
        self.write(epoch_line(row, run.config.epochs))


class ProgressBar(Callback):
    """A tqdm bar over epochs on stderr, showing noisy-validation and test accuracy."""

    def __init__(self) -> None:
        self.bar: Any = None

    def on_train_start(self, run: RunState) -> None:
        """Hook: see :meth:`Callback.on_train_start`."""
        from tqdm import tqdm

        cfg = run.config
        self.bar = tqdm(
            total=cfg.epochs,
            initial=run.epoch,
            desc=f"{cfg.method} {cfg.noise}",
            unit="epoch",
            leave=False,
            file=sys.stderr,
        )

    def on_epoch_end(self, run: RunState, row: EpochRow) -> None:
        """Hook: see :meth:`Callback.on_epoch_end`."""
        if self.bar is None:
            return
        self.bar.update(1)
        shown = {"val": f"{row.val_acc_noisy or 0:.3f}"}
        if row.test_acc is not None:
            shown["test"] = f"{row.test_acc:.3f}"
        self.bar.set_postfix(shown)

    def on_train_end(self, run: RunState, record: dict[str, Any]) -> None:
        """Hook: see :meth:`Callback.on_train_end`."""
        self.close()

    def close(self) -> None:
        """Close the bar (also called when the run fails)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def epoch_line(r: EpochRow, total: int) -> str:
    """The one-line epoch summary :class:`EpochLog` writes."""
    val = "  -  " if r.val_acc_noisy is None else f"{100 * r.val_acc_noisy:5.2f}"
    test = "" if r.test_acc is None else f"test {100 * r.test_acc:5.2f}%"
    mem = "" if r.memorization is None else f" mem {100 * r.memorization:5.2f}%"
    w = ""
    if r.weights is not None and r.weights.auroc is not None:
        w = f" w-auroc {r.weights.auroc:.3f}"
    return (
        f"epoch {r.epoch:>3}/{total} loss {r.train_loss:.4f} "
        f"train(noisy) {100 * r.train_acc_noisy:5.2f}% val(noisy) {val}% "
        f"{test}{mem}{w} ({r.time_s:.1f}s)"
    )
