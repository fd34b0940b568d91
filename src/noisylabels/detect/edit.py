"""Train on what is left: drop or relabel the samples a detection listed.

``noisylabels train --exclude det/issues.csv`` removes the selected samples from the training
set; ``--relabel det/issues.csv`` gives them their suggested label when its predicted
probability is at least ``--relabel-confidence``. The selected samples are the file's
``flagged`` rows, or its first ``--edit-top N`` rows (the file is ranked, most suspect first).

The edit is applied after the run's own label noise, so a file written by
``noisylabels detect`` with the same ``--dataset``/``--noise``/``--seed`` lines up with the
labels being trained on; a ``given_label`` in the file that differs from the run's label is an
error rather than a silently wrong edit.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from noisylabels.errors import UsageError

_NEEDED = ("index", "given_label", "suggested_label", "suggested_prob", "flagged")


@dataclass(frozen=True)
class IssueList:
    """The rows of an ``issues.csv`` in file (rank) order.

    Attributes:
        path: The file.
        index: Row of the dataset's training set, ``(M,)``.
        given: Label the detection saw, ``(M,)``.
        suggested: Suggested label, ``(M,)``.
        suggested_prob: Its predicted probability, ``(M,)``.
        flagged: The detection's cut, ``(M,)`` bool.
    """

    path: str
    index: np.ndarray
    given: np.ndarray
    suggested: np.ndarray
    suggested_prob: np.ndarray
    flagged: np.ndarray


def read_issues(path: str | Path) -> IssueList:
    """Read an ``issues.csv`` written by ``noisylabels detect`` (one-line errors when malformed)."""
    p = Path(path)
    try:
        with open(p, newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in _NEEDED if c not in (reader.fieldnames or [])]
            if missing:
                raise UsageError(
                    f"{p}: not an issues file from noisylabels detect (no column "
                    f"{', '.join(missing)})"
                )
            rows = list(reader)
    except OSError as e:
        raise UsageError(f"cannot read issues file {p}: {e.strerror}") from None
    try:
        cols = {
            "index": np.array([int(r["index"]) for r in rows], dtype=np.int64),
            "given": np.array([int(r["given_label"]) for r in rows], dtype=np.int64),
            "suggested": np.array([int(r["suggested_label"]) for r in rows], dtype=np.int64),
            "suggested_prob": np.array([float(r["suggested_prob"]) for r in rows]),
            "flagged": np.array([int(r["flagged"]) != 0 for r in rows], dtype=bool),
        }
    except (TypeError, ValueError) as e:
        raise UsageError(f"{p}: bad value in an issues row ({e})") from None
    if len(np.unique(cols["index"])) != len(rows):
        raise UsageError(f"{p}: an index appears more than once")
    return IssueList(str(p), **cols)


def edit_labels(
    labels: np.ndarray,
    issues: IssueList,
    *,
    mode: str,
    top: int | None = None,
    min_prob: float = 0.5,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Which samples to keep and which labels to train on after a detection.

    Pure function: nothing is read or changed in place.

    Args:
        labels: The run's training labels (after its noise), ``(N,)``.
        issues: The detection's ranked list.
        mode: ``exclude`` (drop the selected samples) or ``relabel`` (give each selected sample
            its suggested label when ``suggested_prob >= min_prob``; the rest keep theirs).
        top: Select the first ``top`` rows of the list instead of its ``flagged`` rows.
        min_prob: The confidence a suggestion needs for ``relabel``.

    Returns:
        ``(keep, new_labels, info)``: a bool mask ``(N,)`` of samples to train on, the labels
        ``(N,)`` and a JSON-serialisable summary for the run's record.

    Raises:
        UsageError: Unknown mode, an index outside the data, or a ``given_label`` that is not
            the run's label (the file was made from other labels: other noise or seed).

    Example:
        >>> import numpy as np
        >>> iss = IssueList("issues.csv", np.array([2, 0]), np.array([1, 0]), np.array([0, 1]),
        ...                 np.array([0.9, 0.4]), np.array([True, False]))
        >>> keep, y, info = edit_labels(np.array([0, 1, 1]), iss, mode="relabel")
        >>> keep.tolist(), y.tolist(), info["num_relabelled"]
        ([True, True, True], [0, 1, 0], 1)
    """
    y = np.asarray(labels, dtype=np.int64)
    if mode not in ("exclude", "relabel"):
        raise UsageError(f"unknown label edit {mode!r}; choose exclude or relabel")
    if len(issues.index) and (issues.index.min() < 0 or issues.index.max() >= len(y)):
        raise UsageError(
            f"{issues.path}: index {int(issues.index.max())} is outside the {len(y)} training "
            "samples; was it made from another dataset?"
        )
    bad = np.flatnonzero(y[issues.index] != issues.given)
    if bad.size:
        i = int(issues.index[bad[0]])
        raise UsageError(
            f"{issues.path}: sample {i} has given label {int(issues.given[bad[0]])} in the file "
            f"but {int(y[i])} in this run ({bad.size} such rows); detect and train with the same "
            "--dataset, --noise and --seed"
        )
    if top is not None:
        if top < 0:
            raise UsageError(f"--edit-top must be >= 0, got {top}")
        chosen = np.zeros(len(issues.index), dtype=bool)
        chosen[:top] = True
    else:
        chosen = issues.flagged
    rows = issues.index[chosen]
    keep = np.ones(len(y), dtype=bool)
    new = y.copy()
    info: dict[str, Any] = {
        "mode": mode,
        "file": issues.path,
        "rule": f"top {top}" if top is not None else "flagged",
        "num_selected": int(chosen.sum()),
    }
    if mode == "exclude":
        keep[rows] = False
        info["num_excluded"] = int(rows.size)
    else:
        ok = chosen & (issues.suggested_prob >= min_prob) & (issues.suggested != issues.given)
        new[issues.index[ok]] = issues.suggested[ok]
        info["min_prob"] = float(min_prob)
        info["num_relabelled"] = int(ok.sum())
    return keep, new, info


def edit_from_config(config: Any, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """:func:`edit_labels` for a training config's ``exclude``/``relabel`` fields."""
    if config.exclude and config.relabel:
        raise UsageError("give either --exclude or --relabel, not both")
    mode = "exclude" if config.exclude else "relabel"
    issues = read_issues(config.exclude or config.relabel)
    return edit_labels(
        labels, issues, mode=mode, top=config.edit_top, min_prob=config.relabel_confidence
    )
