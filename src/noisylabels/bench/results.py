"""The results file of a sweep: JSON Lines, one record per finished run, append-only.

Writing is crash-safe: each record is one ``write`` of the whole line and its newline on a file
opened in append mode, followed by ``fsync``. A process killed in the middle of a write can leave
at most one torn line; readers skip unparsable lines, and the next append starts on a fresh line,
so nothing written before the crash is lost. While a sweep runs it holds an exclusive ``flock`` on
the file, so a second sweep on the same file fails at once instead of interleaving. If the file is
replaced or deleted while the sweep runs (``git checkout`` or ``git stash`` of a tracked results
file, an editor's save, a sync tool), the writer notices at its next append, writes into the file
now at the path every record of its own copy that the new file lacks, and goes on there, so no
record ends up only in an unlinked file.

Records follow the schema in :mod:`noisylabels.train.record`. Non-finite floats (NaN, inf) are
written as ``null`` so the file stays strict JSON that any tool reads.
"""

from __future__ import annotations

import json
import math
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from noisylabels.errors import UsageError

try:  # POSIX only; elsewhere the sweep runs without the cross-process lock.
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def dumps_record(record: dict[str, Any]) -> str:
    """One record as a single line of strict JSON (no trailing newline)."""
    return json.dumps(_finite(record), separators=(",", ":"), allow_nan=False, default=str)


class ResultsWriter:
    """Appends records to a JSONL file; holds an exclusive lock on it while open.

    Args:
        path: The results file (created with its parent folder if missing).

    Raises:
        UsageError: If another process holds the file (a sweep already writing to it).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "r.jsonl"
        >>> with ResultsWriter(p) as w:
        ...     w.append({"run_id": "a", "status": "ok"})
        >>> [r["run_id"] for r in load_records(p)]
        ['a']
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f = self._open_locked()

    def _open_locked(self) -> Any:
        # Unbuffered: every append is exactly one write(2) of the whole line.
        f = open(self.path, "a+b", buffering=0)
        if fcntl is not None:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                f.close()
                raise UsageError(
                    f"{self.path} is in use by another sweep; wait for it to finish or choose "
                    "another --out file"
                ) from None
        return f

    def _follow_path(self) -> None:
        """Move to the file now at ``self.path`` if ours was replaced or deleted."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            st = None
        own = os.fstat(self._f.fileno())
        if st is not None and (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino):
            return
        # Appending to our descriptor now would write into an unlinked file, lost at close.
        self._f.seek(0)
        ours = self._f.read()
        new = self._open_locked()
        new.seek(0)
        theirs = set(new.read().split(b"\n"))
        missing = [ln for ln in ours.split(b"\n") if ln.strip() and ln not in theirs]
        self._f.close()
        self._f = new
        for ln in missing:
            self._write_line(ln + b"\n")
        os.fsync(self._f.fileno())
        what = "deleted" if st is None else "replaced"
        warnings.warn(
            f"{self.path} was {what} while the sweep was writing to it; wrote back the "
            f"{len(missing)} line(s) of the sweep's copy that the new file lacked",
            stacklevel=3,
        )

    def _write_line(self, line: bytes) -> None:
        size = self._f.seek(0, os.SEEK_END)
        if size > 0:
            self._f.seek(size - 1)
            if self._f.read(1) != b"\n":  # a torn line from a killed writer: start afresh
                line = b"\n" + line
        n = self._f.write(line)
        if n != len(line):  # pragma: no cover - regular files write fully or raise
            self._f.write(line[n:])

    def append(self, record: dict[str, Any]) -> None:
        """Write ``record`` as one line, durably (flush + fsync) before returning."""
        self._follow_path()
        line = dumps_record(record).encode() + b"\n"
        self._write_line(line)
        os.fsync(self._f.fileno())

    def close(self) -> None:
        """Release the lock and close the file."""
        if not self._f.closed:
            self._f.close()

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load_records(path: str | Path, *, warn: bool = True) -> list[dict[str, Any]]:
    """All records of a results file, in file order.

    Blank and unparsable lines (a run killed mid-write leaves at most one) are skipped, with a
    warning when ``warn`` is true. A missing file is an error; an empty one gives ``[]``.

    Raises:
        UsageError: If the file cannot be read.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise UsageError(f"cannot read results {p}: {e.strerror}") from None
    records: list[dict[str, Any]] = []
    bad: list[int] = []
    for i, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            bad.append(i)
            continue
        if isinstance(rec, dict):
            records.append(rec)
        else:
            bad.append(i)
    if bad and warn:
        where = ", ".join(map(str, bad[:5])) + (" ..." if len(bad) > 5 else "")
        warnings.warn(
            f"{p}: skipped {len(bad)} unreadable line(s) (line {where}); "
            "a run interrupted mid-write leaves one, and it is rerun on resume",
            stacklevel=2,
        )
    return records


def latest_by_run(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """One record per ``run_id``: the last ``ok`` record if any, else the last record."""
    out: dict[str, dict[str, Any]] = {}
    for i, rec in enumerate(records):
        rid = rec.get("run_id") or f"?{i}"
        prev = out.get(rid)
        if prev is None or rec.get("status") == "ok" or prev.get("status") != "ok":
            out[rid] = rec
    return out


def finished_ids(path: str | Path, *, include_failed: bool = False) -> set[str]:
    """Run ids with an ``ok`` record in ``path`` (plus failed ones if ``include_failed``)."""
    if not Path(path).exists():
        return set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        records = load_records(path)
    keep = ("ok", "failed") if include_failed else ("ok",)
    return {r["run_id"] for r in records if r.get("status") in keep and r.get("run_id")}


def warn_to_stderr(message: str) -> None:
    """Print a warning line to stderr (used by the CLI for skipped lines)."""
    print(f"warning: {message}", file=sys.stderr)
