"""noisylabels: train classifiers when some training labels are wrong.

Subpackages, one per concept: :mod:`noisylabels.data` (datasets), :mod:`noisylabels.noise`
(label corruption), :mod:`noisylabels.losses` (robust losses), :mod:`noisylabels.weighting`
(per-batch sample weights and mixup), :mod:`noisylabels.methods` (training steps that combine
them), :mod:`noisylabels.models`, :mod:`noisylabels.train` (the trainer) and
:mod:`noisylabels.bench` (sweeps, reports, plots).
"""

__version__ = "0.1.0"

from noisylabels.errors import DataError, UsageError

__all__ = ["DataError", "UsageError", "__version__", "load_model"]


def __getattr__(name: str) -> object:
    # noisylabels.load_model(DIR): a saved model, imported lazily (it needs torch).
    if name == "load_model":
        from noisylabels.models.saved import load_model

        return load_model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
