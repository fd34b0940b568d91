"""The result of corrupting labels, and its one-file ``.npz`` format."""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from noisylabels.errors import DataError, UsageError
from noisylabels.noise.sampling import confusion_T
from noisylabels.noise.spec import NoiseSpec
from noisylabels.safeload import check_file_kind

FORMAT = "noisylabels.noise/1"
_KEYS = ("format", "spec", "num_classes", "clean_labels", "noisy_labels", "noise_mask",
         "T_nominal", "T_realised", "realised_rate")  # fmt: skip


def _label_dtype(K: int) -> np.dtype:
    # Smallest unsigned type: the file stays small (CIFAR-10: 100 kB of labels, not 800 kB).
    for t in (np.uint8, np.uint16, np.uint32):
        if K - 1 <= np.iinfo(t).max:
            return np.dtype(t)
    return np.dtype(np.int64)


def _is_int(a: np.ndarray) -> bool:
    # bool is a numpy integer kind for some checks; a label is never True/False.
    return np.issubdtype(a.dtype, np.integer) and a.dtype != np.bool_


def _labels(a: np.ndarray, key: str, K: int, path: Path) -> np.ndarray:
    """``a`` as 1-D ``int64`` labels in ``0..K-1``, or a one-line :class:`DataError`."""
    if a.ndim != 1:
        raise DataError(f"{path}: {key} must be a 1-D array of labels, got shape {a.shape}")
    if not _is_int(a):
        raise DataError(
            f"{path}: {key} must hold integer class indices, got dtype {a.dtype}; "
            "write the file with `noisylabels noise --out` or NoisyLabels.save"
        )
    if a.size and (int(a.min()) < 0 or int(a.max()) >= K):
        raise DataError(
            f"{path}: {key} has labels {int(a.min())}..{int(a.max())}, outside 0..{K - 1}"
        )
    return a.astype(np.int64)


@dataclass(frozen=True, eq=False)
class NoisyLabels:
    """Noisy labels together with everything needed to interpret and reproduce them.

    Attributes:
        noisy_labels: ``int64`` ``(N,)``, the labels to train on.
        clean_labels: ``int64`` ``(N,)``, the labels they were made from.
        noise_mask: ``bool`` ``(N,)``, ``noisy_labels != clean_labels``.
        T_nominal: ``(K, K)`` row-stochastic ``T[true, noisy]`` the labels were drawn from (for
            instance noise the per-class mean of the per-sample rows; for human noise the
            realised T).
        T_realised: ``(K, K)`` row-normalised confusion of clean vs noisy labels (rows of empty
            classes are identity rows).
        realised_rate: Share of wrong labels, ``noise_mask.mean()``.
        num_classes: ``K``.
        spec: The :class:`NoiseSpec` (kind, rate, sampling, seed) that produced them.
    """

    noisy_labels: np.ndarray
    clean_labels: np.ndarray
    noise_mask: np.ndarray
    T_nominal: np.ndarray
    T_realised: np.ndarray
    realised_rate: float
    num_classes: int
    spec: NoiseSpec

    @classmethod
    def build(
        cls, clean: np.ndarray, noisy: np.ndarray, T_nominal: np.ndarray, spec: NoiseSpec, K: int
    ) -> NoisyLabels:
        """Fill in the mask, realised T and rate from clean and noisy labels."""
        clean = np.ascontiguousarray(clean, dtype=np.int64)
        noisy = np.ascontiguousarray(noisy, dtype=np.int64)
        mask = noisy != clean
        return cls(
            noisy_labels=noisy,
            clean_labels=clean,
            noise_mask=mask,
            T_nominal=np.asarray(T_nominal, dtype=np.float64),
            T_realised=confusion_T(clean, noisy, K),
            realised_rate=float(mask.mean()) if mask.size else 0.0,
            num_classes=int(K),
            spec=spec,
        )

    def __len__(self) -> int:
        return int(self.noisy_labels.shape[0])

    @property
    def num_noisy(self) -> int:
        """Number of wrong labels."""
        return int(self.noise_mask.sum())

    @property
    def expected_rate(self) -> float:
        """Noise rate expected from ``T_nominal`` and the class sizes."""
        counts = np.bincount(self.clean_labels, minlength=self.num_classes)
        n = counts.sum()
        return float(((1.0 - np.diag(self.T_nominal)) * counts).sum() / n) if n else 0.0

    def to_cleanlab(self, realised: bool = False) -> np.ndarray:
        """The noise matrix in cleanlab's orientation, ``noise_matrix[i, j] = P(noisy=i | true=j)``.

        Columns sum to 1 (cleanlab's ``noise_matrix``); ours is the transpose. ``realised=True``
        converts :attr:`T_realised` instead of :attr:`T_nominal`.
        """
        T = self.T_realised if realised else self.T_nominal
        return np.ascontiguousarray(T.T)

    def summary(self) -> dict:
        """Plain-JSON summary for run records (spec, rates, counts)."""
        return {
            "spec": str(self.spec),
            **self.spec.to_dict(),
            "realised_rate": self.realised_rate,
            "expected_rate": self.expected_rate,
            "num_noisy": self.num_noisy,
            "n": len(self),
            "num_classes": self.num_classes,
        }

    # ---- file format ---------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write one uncompressed ``.npz`` (no pickle); the same record gives the same bytes.

        Keys: ``format``, ``spec`` (JSON), ``num_classes``, ``clean_labels``, ``noisy_labels``
        (smallest unsigned int type), ``noise_mask``, ``T_nominal``, ``T_realised``,
        ``realised_rate``. The zip members carry numpy's fixed timestamp (1980-01-01), so the
        file depends only on the content. Written to a temporary file and renamed into place.

        Returns:
            The path written (exactly ``path``; no suffix is added).
        """
        path = Path(path)
        ldt = _label_dtype(self.num_classes)
        arrays = {
            "format": np.array(FORMAT),
            "spec": np.array(json.dumps(self.spec.to_dict(), sort_keys=True)),
            "num_classes": np.array(self.num_classes, dtype=np.int64),
            "clean_labels": self.clean_labels.astype(ldt),
            "noisy_labels": self.noisy_labels.astype(ldt),
            "noise_mask": self.noise_mask.astype(bool),
            "T_nominal": self.T_nominal.astype(np.float64),
            "T_realised": self.T_realised.astype(np.float64),
            "realised_rate": np.array(self.realised_rate, dtype=np.float64),
        }
        buf = io.BytesIO()
        np.savez(buf, allow_pickle=False, **arrays)
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        try:
            tmp.write_bytes(buf.getvalue())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        expected_n: int | None = None,
        num_classes: int | None = None,
    ) -> NoisyLabels:
        """Read a file written by :meth:`save`, checking it fits the dataset.

        Args:
            path: The ``.npz`` file.
            expected_n: Number of training labels of the dataset, if known.
            num_classes: Number of classes of the dataset, if known.

        Raises:
            DataError: Missing, unreadable or inconsistent file.
            UsageError: Length or classes do not match ``expected_n`` / ``num_classes``.
        """
        path = Path(path)
        if not path.is_file():
            what = "is not a regular file" if path.exists() else "not found"
            raise DataError(f"noise file {path} {what}")
        check_file_kind(path, "npz", "noise file")
        try:
            with np.load(path, allow_pickle=False) as z:
                missing = [k for k in _KEYS if k not in z.files]
                if missing:
                    raise DataError(
                        f"{path} is not a noisylabels noise file (missing {', '.join(missing)}); "
                        "write one with `noisylabels noise --out` or NoisyLabels.save"
                    )
                d = {k: z[k] for k in _KEYS}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
            raise DataError(f"cannot read noise file {path}: {e}") from None
        if d["format"].shape != () or str(d["format"]) != FORMAT:
            raise DataError(f"{path}: unsupported noise file format {str(d['format'])[:80]!r}")
        try:
            spec = NoiseSpec.from_dict(json.loads(str(d["spec"])))
        except (ValueError, KeyError, TypeError, AttributeError, UsageError) as e:
            raise DataError(f"{path}: bad spec in noise file: {e}") from None
        nk = d["num_classes"]
        if nk.shape != () or not _is_int(nk) or int(nk) < 1:
            raise DataError(f"{path}: num_classes must be one integer >= 1, got {nk!r}")
        K = int(nk)
        clean = _labels(d["clean_labels"], "clean_labels", K, path)
        noisy = _labels(d["noisy_labels"], "noisy_labels", K, path)
        n = clean.shape[0]
        if noisy.shape[0] != n or d["noise_mask"].shape != (n,):
            raise DataError(f"{path}: clean labels, noisy labels and mask differ in length")
        for key in ("T_nominal", "T_realised"):
            T = d[key]
            if T.shape != (K, K) or not np.issubdtype(T.dtype, np.floating):
                raise DataError(f"{path}: {key} is not a {K}x{K} float matrix")
            if not np.isfinite(T).all() or (T < 0).any():
                raise DataError(f"{path}: {key} has negative, NaN or infinite entries")
        if expected_n is not None and n != int(expected_n):
            raise UsageError(
                f"noise file {path} has {n} labels but the dataset has {int(expected_n)} training "
                "labels; it was made for another dataset"
            )
        max_label = int(max(clean.max(initial=0), noisy.max(initial=0)))
        if num_classes is not None and (K != int(num_classes) or max_label >= int(num_classes)):
            raise UsageError(
                f"noise file {path} has {K} classes (labels up to {max_label}) but the dataset "
                f"has {int(num_classes)} classes; it was made for another dataset"
            )
        return cls.build(clean, noisy, d["T_nominal"], spec, K)
