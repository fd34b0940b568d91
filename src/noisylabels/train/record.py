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
                "realised_rate": 0.4, "realised_rate_train": ..., "num_noisy": ...,
                "realised_rate_subset": ..., "num_noisy_subset": ...},  # train_subset only
      "epochs": [
        {"epoch": 1, "lr": ..., "train_loss": ..., "train_acc_noisy": ..., "train_acc_clean": ...,
         "memorization": ...,       # share of the training split's mislabeled samples
                                    # predicted as their wrong (given) label during the epoch
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

A sweep adds ``"label"`` (the grid's row name); a failed run's record has ``schema``,
``run_id``, ``status``, ``error``, ``config``, ``versions``, ``traceback``, ``started_at`` and
``wall_time_s``. ``data.source`` never holds an absolute path: a file is recorded by its name.

:class:`RunRecord` is the typed form: :meth:`RunRecord.from_json` reads every record written so
far (fields added over time get their value for older runs) and :meth:`RunRecord.to_json` writes
the JSON above.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import TYPE_CHECKING, Any

from noisylabels.errors import UsageError

if TYPE_CHECKING:
    from noisylabels.noise.spec import NoiseSpec

SCHEMA_VERSION = 1

# Keys of the top level, in the order records are written.
_TOP_ORDER = (
    "schema", "run_id", "status", "error", "config", "method_hparams", "versions", "device",
    "traceback", "noise", "data", "epochs", "final", "weights", "started_at", "wall_time_s",
    "label",
)  # fmt: skip


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
        memorization: Share of the training split's mislabeled samples predicted as their wrong
            (given) label in the epoch, each as the network stood when its batch was trained on
            (None without mislabeled samples).
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


@dataclass(frozen=True)
class NoiseSummary:
    """The label noise a run trained with (``record["noise"]``).

    Attributes:
        spec: Canonical noise spec (``symmetric:0.4``, ``cifar10n-worst``, ``file:name.npz``).
        kind: Noise kind (``symmetric``, ``clean``, ...), None for a noise file.
        rate: Nominal rate, None for kinds without one.
        sampling: ``exact`` or ``iid``.
        realised_rate: Share of the whole training set's labels that differ from the clean ones.
        realised_rate_train: The same on the training split (without the validation split).
        num_noisy: Number of wrong labels in the whole training set.
        realised_rate_subset: With ``train_subset``: the share of wrong labels in the subset
            (both splits); absent from the record otherwise.
        num_noisy_subset: With ``train_subset``: the number of wrong labels in the subset.
    """

    spec: str
    kind: str | None
    rate: float | None
    sampling: str | None
    realised_rate: float
    realised_rate_train: float | None = None
    num_noisy: int | None = None
    realised_rate_subset: float | None = None
    num_noisy_subset: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``noise`` block (the subset keys only for a run with ``train_subset``)."""
        return _block(self, ("realised_rate_subset", "num_noisy_subset"))


@dataclass(frozen=True)
class DataSummary:
    """What the run trained and was tested on (``record["data"]``).

    Attributes:
        source: Where the data came from: a file name (never an absolute path) or how the data
            were generated.
        num_train: Training-split size.
        num_val: Noisy validation-split size.
        num_test: Test-set size.
        num_classes: K.
        augment: The augmentation used (``auto`` resolved).
        model: The model (``auto`` resolved; a user module's class name).
        num_subset: With ``train_subset``: the subset's size (training plus validation split);
            absent from the record otherwise.
    """

    source: str
    num_train: int
    num_val: int
    num_test: int
    num_classes: int
    augment: str
    model: str
    num_subset: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``data`` block (``num_subset`` only for a run with ``train_subset``)."""
        return _block(self, ("num_subset",))


def _block(obj: Any, optional: tuple[str, ...]) -> dict[str, Any]:
    # Keys added for an option stay out of the records of runs without it.
    return {
        f.name: getattr(obj, f.name)
        for f in fields(obj)
        if f.name not in optional or getattr(obj, f.name) is not None
    }


@dataclass(frozen=True)
class FinalScores:
    """Test accuracies and timings of the finished run (``record["final"]``).

    Attributes:
        test_acc_last: Test accuracy after the last epoch.
        test_acc_selected: Test accuracy at the epoch with the best noisy-validation accuracy.
        selected_epoch: That epoch (1-based).
        test_acc_best: Best test accuracy over epochs (optimistic; None with
            ``test_eval=selected``).
        train_time_s: Training time, all epochs.
        eval_time_s: Evaluation time, all epochs.
        inference_ms_per_1000: Test-set inference time per 1000 samples, in milliseconds.
    """

    test_acc_last: float
    test_acc_selected: float
    selected_epoch: int
    test_acc_best: float | None
    train_time_s: float
    eval_time_s: float
    inference_ms_per_1000: float

    def to_json(self) -> dict[str, Any]:
        """The ``final`` block."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def portable_source(source: str) -> str:
    """A dataset source fit for a record: an absolute file path becomes its file name.

    Example:
        >>> portable_source("/data/sets/cifar10.npz"), portable_source("generated: two moons")
        ('cifar10.npz', 'generated: two moons')
    """
    text = str(source)
    if os.path.isabs(text) or text.startswith("~"):
        return os.path.basename(text.rstrip("/\\")) or text
    return text


def migrate_config(config: dict[str, Any]) -> dict[str, Any]:
    """A recorded config with the keys added since it was written set to their default.

    A setting added after a record was written is absent from it; that run had the default.
    The defaults are serialised as records store them, so a default compares equal to a
    stored value.
    """
    from noisylabels.train.config import TrainConfig

    defaults = TrainConfig().to_dict()
    return {**config, **{k: v for k, v in defaults.items() if k not in config}}


@dataclass(frozen=True)
class RunRecord:
    """One run's record, typed. ``run()`` returns :meth:`to_json` of this.

    Attributes:
        schema: Record format version (:data:`SCHEMA_VERSION`).
        run_id: Hash of the resolved config (the sweep's resume key).
        status: ``ok`` or ``failed``.
        error: One-line error of a failed run, else None.
        config: The resolved config as a dict, keys added since the run filled with defaults.
        versions: Library versions the run used.
        started_at: UTC start time, ``YYYY-MM-DDTHH:MM:SSZ``.
        wall_time_s: Wall time of the whole run.
        method_hparams: The method's hyperparameters (None for a failed run).
        device: The device description (None for a failed run).
        noise: The label noise (None for a failed run).
        data: Data facts (None for a failed run).
        epochs: One :class:`EpochRow` per epoch.
        final: Final scores (None for a failed run).
        weights: Last-epoch weight histogram of clean and mislabeled samples, or None.
        label: Row name given by a sweep grid, or None.
        traceback: Last frames of a failed run's traceback, or None.
    """

    schema: int
    run_id: str
    status: str
    error: str | None
    config: dict[str, Any]
    versions: dict[str, str]
    started_at: str | None
    wall_time_s: float | None
    method_hparams: dict[str, Any] | None = None
    device: str | None = None
    noise: NoiseSummary | None = None
    data: DataSummary | None = None
    epochs: tuple[EpochRow, ...] = ()
    final: FinalScores | None = None
    weights: dict[str, list[Any]] | None = None
    label: str | None = None
    traceback: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True for a finished run."""
        return self.status == "ok"

    @cached_property
    def noise_spec(self) -> NoiseSpec | None:
        """The run's label noise as a :class:`~noisylabels.noise.NoiseSpec` (parsed once).

        Built from the recorded ``noise`` block (canonical kind, rate, sampling); a record
        without one has its ``config.noise`` parsed, aliases resolved (``sym:0.4`` is
        ``symmetric:0.4``). The seed is the run's noise seed. None for a saved noise file
        (``file:``) and for a kind unknown to this process (a user kind registered elsewhere).
        """
        from noisylabels.noise.spec import SAMPLINGS, NoiseSpec, noise_file

        cfg = self.config
        seed = cfg.get("noise_seed")
        seed = cfg.get("seed") if seed is None else seed
        seed = seed if isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0 else 0
        sampling = cfg.get("noise_sampling") or "exact"
        n = self.noise
        try:
            if n is not None and n.kind:
                # A block's sampling may name a scheme outside NoiseSpec (per-batch noise):
                # the spec then keeps the config's sampling.
                own = n.sampling if n.sampling in SAMPLINGS else sampling
                return NoiseSpec(n.kind, n.rate, sampling=own, seed=seed)
            text = str(cfg.get("noise"))
            if n is not None or noise_file(text) is not None:
                return None  # a noise file: the block has no kind
            return NoiseSpec.parse(text, sampling=sampling, seed=seed)
        except UsageError:
            return None

    def to_json(self) -> dict[str, Any]:
        """The JSON record (a finished run's keys always all present, a failed run's only set)."""
        d: dict[str, Any] = {
            "schema": self.schema,
            "run_id": self.run_id,
            "status": self.status,
            "error": self.error,
            "config": dict(self.config),
        }
        full = self.ok
        if full or self.method_hparams is not None:
            d["method_hparams"] = self.method_hparams
        d["versions"] = dict(self.versions)
        if full or self.device is not None:
            d["device"] = self.device
        if self.traceback is not None:
            d["traceback"] = self.traceback
        for key in ("noise", "data"):
            block = getattr(self, key)
            if full or block is not None:
                d[key] = None if block is None else block.to_json()
        if full or self.epochs:
            d["epochs"] = [r.to_json() for r in self.epochs]
        if full or self.final is not None:
            d["final"] = None if self.final is None else self.final.to_json()
        if full or self.weights is not None:
            d["weights"] = self.weights
        d["started_at"] = self.started_at
        d["wall_time_s"] = self.wall_time_s
        if self.label is not None:
            d["label"] = self.label
        d.update(self.extra)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RunRecord:
        """Read a record of any schema up to :data:`SCHEMA_VERSION`.

        Migrations: config keys added after the run was recorded get their default (the value
        the run had); rows without ``eval_time_s`` keep None; an absolute ``data.source`` path
        becomes its file name. Unknown top-level keys are kept in :attr:`extra`.

        Raises:
            UsageError: Not a run record, or written by a newer noisylabels.
        """
        if not isinstance(d, dict) or "run_id" not in d:
            raise UsageError("not a run record: expected a JSON object with a run_id")
        schema = d.get("schema", 1)
        if not isinstance(schema, int) or schema > SCHEMA_VERSION:
            raise UsageError(
                f"run record {d.get('run_id')} has schema {schema!r}; this noisylabels reads "
                f"schema <= {SCHEMA_VERSION}: upgrade noisylabels"
            )
        try:
            return cls._from_json(d, schema)
        except (KeyError, TypeError, ValueError) as e:
            what = f"missing key {e}" if isinstance(e, KeyError) else str(e)
            raise UsageError(
                f"run record {d.get('run_id')}: not in the record format ({what}); "
                "records are the lines `noisylabels sweep` and `run()` write"
            ) from None

    @classmethod
    def _from_json(cls, d: dict[str, Any], schema: int) -> RunRecord:
        noise = d.get("noise")
        data = d.get("data")
        final = d.get("final")
        if isinstance(data, dict):
            data = {**data, "source": portable_source(data.get("source", ""))}
        known = set(_TOP_ORDER)
        return cls(
            schema=schema,
            run_id=str(d["run_id"]),
            status=str(d.get("status", "ok")),
            error=d.get("error"),
            config=migrate_config(dict(d.get("config") or {})),
            versions=dict(d.get("versions") or {}),
            started_at=d.get("started_at"),
            wall_time_s=d.get("wall_time_s"),
            method_hparams=d.get("method_hparams"),
            device=d.get("device"),
            noise=NoiseSummary(**noise) if isinstance(noise, dict) else None,
            data=DataSummary(**data) if isinstance(data, dict) else None,
            epochs=tuple(EpochRow.from_json(r) for r in d.get("epochs") or ()),
            final=FinalScores(**final) if isinstance(final, dict) else None,
            weights=d.get("weights"),
            label=d.get("label"),
            traceback=d.get("traceback"),
            extra={k: v for k, v in d.items() if k not in known},
        )
