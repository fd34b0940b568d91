"""Trainer entry points used by detection: ``run`` with callbacks and a dataset, ``Callback``.

Uses :mod:`noisylabels.train.callbacks` when the trainer provides it; otherwise a stand-in that
drives the same trainer by substituting the dataset loader and wrapping the method's step.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Sequence
from typing import Any

import torch

try:  # pragma: no cover - which branch runs depends on the trainer version
    from noisylabels.train.callbacks import Callback
    from noisylabels.train.trainer import run as _run_real

    HAVE_CALLBACKS = True
except ImportError:  # pragma: no cover
    HAVE_CALLBACKS = False

    class Callback:  # type: ignore[no-redef]
        """No-op training callback (the trainer's interface)."""

        def on_train_start(self, run: Any) -> None:
            """Called once before the first epoch."""

        def on_batch_end(self, run: Any, batch: Any, out: Any, state: Any) -> None:
            """Called after every optimiser step."""

        def on_epoch_end(self, run: Any, row: Any) -> None:
            """Called after every epoch with its record row."""

        def on_train_end(self, run: Any, record: Any) -> None:
            """Called once with the finished record."""


@dataclasses.dataclass
class _RunState:
    config: Any
    method: Any
    train_positions: torch.Tensor
    noisy_labels: torch.Tensor | None = None
    clean_labels: torch.Tensor | None = None
    epoch: int = 0


def run(
    config: Any, *, callbacks: Sequence[Any] = (), dataset: Any = None, progress: bool = False
) -> dict[str, Any]:
    """``noisylabels.train.run(config, callbacks=..., dataset=...)``."""
    if HAVE_CALLBACKS:  # pragma: no cover
        return _run_real(config, callbacks=callbacks, dataset=dataset, progress=progress)
    import noisylabels.data as data_mod
    import noisylabels.methods as methods_mod
    from noisylabels.train import trainer

    n = len(dataset.y_train)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(config.seed + 1_000_003))
    n_val = int(round(config.val_fraction * n))
    state = _RunState(config, None, perm[n_val:].sort().values)
    real_build = methods_mod.build_method

    def build(*a: Any, **kw: Any) -> Any:
        method = real_build(*a, **kw)
        state.method = method
        step = method.step

        def wrapped(batch: Any, st: Any) -> Any:
            out = step(batch, st)
            state.epoch = st.epoch
            for cb in callbacks:
                cb.on_batch_end(state, batch, out, st)
            return out

        method.step = wrapped
        for cb in callbacks:
            cb.on_train_start(state)
        return method

    with contextlib.ExitStack() as stack:
        old_load, old_build = data_mod.load_dataset, methods_mod.build_method
        data_mod.load_dataset = lambda *a, **k: dataset
        methods_mod.build_method = build
        stack.callback(setattr, data_mod, "load_dataset", old_load)
        stack.callback(setattr, methods_mod, "build_method", old_build)
        record = trainer.run(config, progress=progress)
    for cb in callbacks:
        cb.on_train_end(state, record)
    return record
