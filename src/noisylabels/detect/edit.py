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


def _column(rows: list[dict[str, str]], key: str, kind: type, p: Path) -> np.ndarray:
    out = []
    for i, r in enumerate(rows):
        text = (r.get(key) or "").strip()
        try:
            out.append(kind(text))
        except ValueError:
            what = "an integer" if kind is int else "a number"
            raise UsageError(
                f"{p}: row {i + 1} has {key} {text!r}, not {what}; give the issues.csv written "
                "by noisylabels detect"
            ) from None
    return np.array(out, dtype=np.int64 if kind is int else np.float64)


def read_issues(path: str | Path) -> IssueList:
    """Read an ``issues.csv`` written by ``noisylabels detect`` (one-line errors when malformed).

    Raises:
        UsageError: Not a regular UTF-8 file, a missing column, no rows, a value that is not an
            integer (indices, labels, ``flagged``) or a probability in [0, 1], or an index that
            appears twice.
    """
    p = Path(path).expanduser()
    fix = "give the issues.csv written by noisylabels detect"
    if p.exists() and not p.is_file():
        what = "a folder" if p.is_dir() else "not a regular file"
        raise UsageError(f"issues file {p} is {what}; {fix}")
    try:
        with open(p, newline="", encoding="utf-8") as f:
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
    except UnicodeDecodeError as e:
        raise UsageError(
            f"issues file {p} is not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset "
            f"{e.start}); {fix}"
        ) from None
    except csv.Error as e:
        raise UsageError(f"issues file {p} is not a readable CSV ({e}); {fix}") from None
    if not rows:
        raise UsageError(f"issues file {p} has no rows; {fix} (it lists every sample)")
    cols = {
        "index": _column(rows, "index", int, p),
        "given": _column(rows, "given_label", int, p),
        "suggested": _column(rows, "suggested_label", int, p),
        "suggested_prob": _column(rows, "suggested_prob", float, p),
        "flagged": _column(rows, "flagged", int, p) != 0,
    }
    prob = cols["suggested_prob"]
    bad = np.flatnonzero(~((prob >= 0) & (prob <= 1)))  # NaN fails both comparisons
    if bad.size:
        raise UsageError(
            f"{p}: row {bad[0] + 1} has suggested_prob {prob[bad[0]]}, not a probability in "
            f"[0, 1]; {fix}"
        )
    values, counts = np.unique(cols["index"], return_counts=True)
    if (counts > 1).any():
        raise UsageError(
            f"{p}: index {int(values[counts > 1][0])} appears more than once; each sample has "
            "one row"
        )
    return IssueList(str(p), **cols)


def edit_labels(
    labels: np.ndarray,
    issues: IssueList,
    *,
    mode: str,
    top: int | None = None,
    min_prob: float = 0.5,
    num_classes: int | None = None,
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
        num_classes: The run's class count ``K``: every suggested label must be in
            ``0..K-1`` (None: not checked).

    Returns:
        ``(keep, new_labels, info)``: a bool mask ``(N,)`` of samples to train on, the labels
        ``(N,)`` and a JSON-serialisable summary for the run's record.

    Raises:
        UsageError: Unknown mode, an index outside the data, a suggested label outside
            ``0..K-1``, ``top`` outside ``0..M``, or a ``given_label`` that is not the run's
            label (the file was made from other labels: other noise or seed).

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
    if top is not None and not 0 <= top <= len(issues.index):
        raise UsageError(
            f"--edit-top must be in 0..{len(issues.index)} (the rows of {issues.path}), got {top}"
        )
    outside = np.flatnonzero((issues.index < 0) | (issues.index >= len(y)))
    if outside.size:
        raise UsageError(
            f"{issues.path}: index {int(issues.index[outside[0]])} is outside the {len(y)} "
            f"training samples (0..{len(y) - 1}); was it made from another dataset?"
        )
    if num_classes is not None:
        sug = issues.suggested
        wrong = np.flatnonzero((sug < 0) | (sug >= num_classes))
        if wrong.size:
            raise UsageError(
                f"{issues.path}: sample {int(issues.index[wrong[0]])} has suggested label "
                f"{int(sug[wrong[0]])}, outside the {num_classes} classes 0..{num_classes - 1}; "
                "was it made from another dataset?"
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


def edit_from_config(
    config: Any, labels: np.ndarray, num_classes: int | None = None
) -> tuple[np.ndarray, np.ndarray, dict]:
    """:func:`edit_labels` for a training config's ``exclude``/``relabel`` fields."""
    if config.exclude and config.relabel:
        raise UsageError("give either --exclude or --relabel, not both")
    mode = "exclude" if config.exclude else "relabel"
    issues = read_issues(config.exclude or config.relabel)
    return edit_labels(
        labels,
        issues,
        mode=mode,
        top=config.edit_top,
        min_prob=config.relabel_confidence,
        num_classes=num_classes,
    )
