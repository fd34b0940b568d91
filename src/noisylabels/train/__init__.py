"""The training engine: :func:`run` trains one :class:`TrainConfig` and returns its record."""

from noisylabels.train.check import check_config
from noisylabels.train.config import TrainConfig, from_dict, load_yaml
from noisylabels.train.trainer import run, run_id

__all__ = ["TrainConfig", "check_config", "from_dict", "load_yaml", "run", "run_id"]
