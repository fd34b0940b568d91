"""The training engine: :func:`run` trains one :class:`TrainConfig` and returns its record.

:func:`run` is the three stages :func:`prepare` (data, noise, split, method, optimiser),
:func:`fit` (the epochs) and :func:`evaluate` (selection, final scores, record) in one call;
:class:`Callback` objects observe a run through its :class:`RunState`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from noisylabels._lazy import lazy_imports

if TYPE_CHECKING:  # imported on first use, so `noisylabels --help` needs no torch
    from noisylabels.train.callbacks import Callback
    from noisylabels.train.check import check_config
    from noisylabels.train.config import TrainConfig, from_dict, load_yaml
    from noisylabels.train.record import EpochRow, RunRecord
    from noisylabels.train.trainer import RunState, evaluate, fit, prepare, run, run_id

__getattr__, __dir__ = lazy_imports(__name__, __file__)

__all__ = [
    "Callback",
    "EpochRow",
    "RunRecord",
    "RunState",
    "TrainConfig",
    "check_config",
    "evaluate",
    "fit",
    "from_dict",
    "load_yaml",
    "prepare",
    "run",
    "run_id",
]
