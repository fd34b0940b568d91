"""The results store of a sweep: one JSONL file of run records plus two sidecar files.

A store at ``runs/r.jsonl`` is three files:

- ``runs/r.jsonl``: one record per finished run (the schema in :mod:`noisylabels.train.record`),
  append-only. A run retried after a failure appends a second record; readers keep the last
  ``ok`` one per ``run_id`` (:func:`latest_by_run`).
- ``runs/r.grid.yaml``: the normalised grid the sweep ran, runnable as is.
- ``runs/r.meta.json``: one *session* entry per sweep invocation (start, end, wall time, counts,
  workers, machine, versions), kept current after every finished run.

Crash safety. Each record is one ``write`` of the whole line and its newline on a file opened
in append mode, followed by ``fsync``. A process killed in the middle of a write (``kill -9``, a
machine stop) leaves at most one torn last line; readers skip unparsable lines with a warning,
and the next append starts on a fresh line, so nothing written before the crash is lost. The
session entry of a killed sweep stays ``running`` with the counts of its finished runs; the next
sweep on the file marks it ``killed``. While a sweep writes, it holds an exclusive ``flock`` on
the results file, so a second writer fails at once instead of interleaving lines. Only the
process holding the lock writes the files: sweep workers, local or remote, hand their records
to it.

Reading: :meth:`ResultsStore.records` (typed :class:`~noisylabels.train.record.RunRecord`
objects in file order, each read by the versioned :meth:`RunRecord.from_json
<noisylabels.train.record.RunRecord.from_json>`), :meth:`ResultsStore.finished_ids` (the resume
key set), :meth:`ResultsStore.sessions` and :meth:`ResultsStore.to_dataframe` (one row per
record, or per epoch, with ``pip install 'noisylabels[pandas]'``). :func:`load_records` is the
line reader below them: the JSON objects of the file, torn lines skipped.

Example:
    >>> import tempfile, pathlib
    >>> store = ResultsStore(pathlib.Path(tempfile.mkdtemp()) / "r.jsonl")
    >>> with store.writer() as w:
    ...     w.append({"run_id": "a", "status": "ok"})
    ...     w.append({"run_id": "b", "status": "failed", "error": "ValueError: x"})
    >>> sorted(store.finished_ids()), sorted(store.finished_ids(include_failed=True))
    (['a'], ['a', 'b'])
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from noisylabels.errors import UsageError
from noisylabels.train.record import RunRecord

if TYPE_CHECKING:
    import pandas

try:  # POSIX only; elsewhere a sweep runs without the cross-process lock.
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "ResultsStore",
    "ResultsWriter",
    "Session",
    "as_run_records",
    "close_stale_sessions",
    "dumps_record",
    "finished_ids",
    "grid_ordered",
    "in_run_order",
    "latest_by_run",
    "load_records",
    "parse_utc",
    "read_run_records",
    "sidecar",
    "to_dataframe",
    "utc_now",
]

_STAMP = "%Y-%m-%dT%H:%M:%SZ"


def utc_now() -> str:
    """Current UTC time as ``2026-11-21T14:00:00Z``."""
    return datetime.now(timezone.utc).strftime(_STAMP)


def parse_utc(text: object) -> float | None:
    """Seconds since the epoch of a ``2026-11-21T14:00:00Z`` stamp; None if it is not one."""
    try:
        return datetime.strptime(str(text), _STAMP).replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return None


def sidecar(results: str | Path, suffix: str) -> Path:
    """A file next to ``results``: (``runs/r.jsonl``, ``.meta.json``) -> ``runs/r.meta.json``."""
    p = Path(results)
    stem = p.stem if p.suffix == ".jsonl" else p.name
    return p.with_name(stem + suffix)


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def dumps_record(record: dict[str, Any]) -> str:
    """One record as a single line of strict JSON (no trailing newline; NaN and inf as null)."""
    return json.dumps(_finite(record), separators=(",", ":"), allow_nan=False, default=str)


# ------------------------------------------------------------------------------------ reading


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
        # A record is an object whose config/final, when present, are objects too.
        if isinstance(rec, dict) and all(
            rec.get(k) is None or isinstance(rec[k], dict) for k in ("config", "final")
        ):
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


def as_run_records(records: Iterable[RunRecord | Mapping[str, Any]]) -> list[RunRecord]:
    """``records`` as :class:`RunRecord` objects; JSON ones read by :meth:`RunRecord.from_json`.

    Raises:
        UsageError: A record that is not in the record format (one line naming it).
    """
    return [r if isinstance(r, RunRecord) else RunRecord.from_json(dict(r)) for r in records]


def read_run_records(path: str | Path, *, warn: bool = True) -> list[RunRecord]:
    """The run records of a results file, in file order, typed (:meth:`RunRecord.from_json`).

    Torn lines are skipped as by :func:`load_records`.

    Raises:
        UsageError: The file cannot be read, or a line is not a run record (the message names
            the file).
    """
    try:
        return as_run_records(load_records(path, warn=warn))
    except UsageError as e:
        msg = str(e)
        raise UsageError(msg if msg.startswith(str(path)) else f"{path}: {msg}") from None


def _cell_key(config: Mapping[str, Any], label: str | None) -> str:
    """What places a run in a report (table, row, column), whatever its seed or device."""
    keys = ("dataset", "noise", "model", "method", "method_params")
    return json.dumps([label, *(config.get(k) for k in keys)], sort_keys=True, default=str)


def in_run_order(records: Iterable[RunRecord], runs: Iterable[Any]) -> list[RunRecord]:
    """``records`` in the order of ``runs``, the :class:`~noisylabels.bench.grid.RunSpec` list.

    A record is placed by its run id, else by the first run of the same dataset, noise, model,
    method and label (a record written with another ``device`` or by an older version has
    another run id but the same place in a report); records matching no run come last, in file
    order. The sort is stable, so the records of one run (a failed attempt, then its retry)
    keep their order.
    """
    by_id: dict[str, int] = {}
    by_cell: dict[str, int] = {}
    for i, run in enumerate(runs):
        by_id.setdefault(run.run_id, i)
        by_cell.setdefault(_cell_key(run.config.to_dict(), run.label), i)
    last = len(by_id)

    def place(r: RunRecord) -> int:
        if r.run_id in by_id:
            return by_id[r.run_id]
        return by_cell.get(_cell_key(r.config, r.label), last)

    return sorted(records, key=place)


def grid_ordered(records: Iterable[RunRecord], results: str | Path) -> list[RunRecord]:
    """``records`` of ``results`` in the order of its sweep's grid (``<results>.grid.yaml``).

    A sweep appends a record when a run finishes: parallel workers finish out of order, and
    runs that were rerun are appended at the end. In grid order a report's tables, rows and
    columns follow the grid's datasets, methods and noise list whatever order the runs
    finished in (see :func:`in_run_order`). Without a sidecar grid, or with one that no longer
    expands (a method or dataset name unknown here), the file order stays.

    Args:
        records: The records read from ``results``.
        results: The results file whose sidecar grid gives the order.

    Returns:
        The same records, reordered.
    """
    records = list(records)
    path = sidecar(results, ".grid.yaml")
    if not path.is_file():
        return records
    from noisylabels.bench.grid import expand_grid, load_grid

    try:
        runs = expand_grid(load_grid(path), path.name)
    except (UsageError, OSError, ValueError):
        return records
    return in_run_order(records, runs)


def latest_by_run(records: Iterable[RunRecord]) -> dict[str, RunRecord]:
    """One record per ``run_id``: the last ``ok`` record if any, else the last record."""
    out: dict[str, RunRecord] = {}
    for rec in records:
        prev = out.get(rec.run_id)
        if prev is None or rec.ok or not prev.ok:
            out[rec.run_id] = rec
    return out


def finished_ids(path: str | Path, *, include_failed: bool = False) -> set[str]:
    """Run ids with an ``ok`` record in ``path`` (plus failed ones if ``include_failed``).

    A missing file has none; unreadable lines are skipped silently (they are rerun).
    """
    if not Path(path).exists():
        return set()
    records = load_records(path, warn=False)
    keep = ("ok", "failed") if include_failed else ("ok",)
    return {r["run_id"] for r in records if r.get("status") in keep and r.get("run_id")}


# Record blocks flattened into ``block.key`` columns by to_dataframe; the rest of a record's
# nested values (epochs, weight histograms, tracebacks) are left out of the run table.
_FLAT_BLOCKS = ("config", "noise", "final")
_SCALARS = ("run_id", "status", "label", "error", "device", "started_at", "wall_time_s")


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}", v, out)
    else:
        out[prefix] = value


def to_dataframe(
    records: Iterable[RunRecord | Mapping[str, Any]], *, epochs: bool = False, latest: bool = True
) -> pandas.DataFrame:
    """Records as a pandas DataFrame (needs the ``pandas`` extra).

    Args:
        records: Records as :meth:`ResultsStore.records` reads them (JSON records are read
            with :meth:`RunRecord.from_json`, so older records get the later config keys'
            defaults).
        epochs: One row per (run, epoch) with the epoch's metrics as columns, instead of one
            row per run.
        latest: Keep one record per ``run_id`` (:func:`latest_by_run`), as the report does.

    Returns:
        One row per run: ``run_id``, ``status``, ``label``, ``error``, ``wall_time_s`` ... and
        ``config.*``, ``noise.*``, ``final.*`` columns (nested mappings such as
        ``config.method_params.alpha`` flattened with dots). With ``epochs``: ``run_id``,
        ``label``, ``config.*`` and ``noise.*`` of the run, then the epoch's own fields
        (``epoch``, ``test_acc``, ``val_acc_noisy``, ...).

    Raises:
        UsageError: If pandas is not installed.
    """
    try:
        import pandas
    except ImportError:
        raise UsageError("to_dataframe needs pandas: pip install 'noisylabels[pandas]'") from None
    typed = as_run_records(records)
    recs = [r.to_json() for r in (latest_by_run(typed).values() if latest else typed)]
    rows: list[dict[str, Any]] = []
    for rec in recs:
        row = {k: rec.get(k) for k in _SCALARS}
        for block in _FLAT_BLOCKS:
            if epochs and block == "final":
                continue
            _flatten(block, rec.get(block) or {}, row)
        if not epochs:
            rows.append(row)
            continue
        for ep in rec.get("epochs") or []:
            rows.append({**row, **{k: v for k, v in ep.items() if not isinstance(v, dict)}})
    return pandas.DataFrame(rows)


# ------------------------------------------------------------------------------------ sessions


def close_stale_sessions(sessions: list[dict[str, Any]], results: Path) -> None:
    """Mark the session entries still ``running`` as ``killed``, in place.

    A sweep calls this holding the results file's exclusive lock, so no live sweep owns such an
    entry: its process died before its ``finally`` ran (readers that do not hold the lock use it
    on a copy they do not write back). Entries written by this version already count the
    finished runs and their time; an older entry without a wall time gets both from the records
    that started inside it (up to the next entry's start), its wall time ending with the last.
    """
    records: list[dict[str, Any]] | None = None
    for i, s in enumerate(sessions):
        if s.get("status") != "running":
            continue
        s["status"] = "killed"
        start = parse_utc(s.get("started_at"))
        if start is None:  # a hand-edited entry: nothing to derive from
            continue
        if s.get("wall_time_s") is None:
            if records is None:
                records = load_records(results, warn=False) if results.exists() else []
            nxt = parse_utc(sessions[i + 1].get("started_at")) if i + 1 < len(sessions) else None
            end = math.inf if nxt is None else nxt
            inside = []
            for r in records:
                began = parse_utc(r.get("started_at"))
                if began is not None and start <= began < end:
                    inside.append((began + float(r.get("wall_time_s") or 0), r))
            s["ok"] = sum(r.get("status") == "ok" for _, r in inside)
            s["failed"] = len(inside) - s["ok"]
            s["wall_time_s"] = round(max((e for e, _ in inside), default=start) - start, 3)
        if s.get("ended_at") is None:
            end_ts = start + float(s["wall_time_s"])
            s["ended_at"] = datetime.fromtimestamp(end_ts, timezone.utc).strftime(_STAMP)


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or not isinstance(data.get("sessions"), list):
            raise ValueError
    except (OSError, ValueError):
        data = {"sessions": []}
    return data


class Session:
    """The meta entry of one sweep invocation; every change is written at once (atomically).

    Created by :meth:`ResultsWriter.session`; the entry starts ``running`` and is rewritten
    after every finished run (:meth:`progress`), so a sweep killed hard still accounts for its
    finished runs.
    """

    def __init__(self, path: Path, data: dict[str, Any], entry: dict[str, Any]) -> None:
        self.path = path
        self.data = data
        self.entry = entry
        self._write()

    def progress(self, ok: int, failed: int, wall_time_s: float) -> None:
        """Counts and wall time so far."""
        self.entry.update(ok=ok, failed=failed, wall_time_s=round(wall_time_s, 3))
        self._write()

    def finish(self, ok: int, failed: int, wall_time_s: float, *, interrupted: bool) -> None:
        """Close the entry as ``finished`` or ``interrupted``."""
        self.entry.update(
            ended_at=utc_now(),
            wall_time_s=round(wall_time_s, 3),
            ok=ok,
            failed=failed,
            status="interrupted" if interrupted else "finished",
        )
        self._write()

    def _write(self) -> None:
        sessions = self.data["sessions"]
        self.data["wall_time_s"] = round(sum(s.get("wall_time_s") or 0.0 for s in sessions), 3)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.data, indent=2) + "\n")
        os.replace(tmp, self.path)


# ------------------------------------------------------------------------------------ writing


class ResultsWriter:
    """Appends records to a results file; holds an exclusive lock on it while open.

    Args:
        path: The results file (created with its parent folder if missing).

    Raises:
        UsageError: If another process holds the file (a sweep already writing to it).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Unbuffered: every append is exactly one write(2) of the whole line.
        self._f = open(self.path, "a+b", buffering=0)
        if fcntl is not None:
            try:
                fcntl.flock(self._f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                self._f.close()
                raise UsageError(
                    f"{self.path} is in use by another sweep; wait for it to finish or choose "
                    "another --out file"
                ) from None

    def append(self, record: dict[str, Any]) -> None:
        """Write ``record`` as one line, durably (flush + fsync) before returning."""
        line = dumps_record(record).encode() + b"\n"
        size = self._f.seek(0, os.SEEK_END)
        if size > 0:
            self._f.seek(size - 1)
            if self._f.read(1) != b"\n":  # a torn line from a killed writer: start afresh
                line = b"\n" + line
        n = self._f.write(line)
        if n != len(line):  # pragma: no cover - regular files write fully or raise
            self._f.write(line[n:])
        os.fsync(self._f.fileno())

    def save_grid(self, grid: dict[str, Any]) -> Path:
        """Write the normalised grid to ``<results>.grid.yaml``."""
        path = sidecar(self.path, ".grid.yaml")
        path.write_text(yaml.safe_dump(grid, sort_keys=False, allow_unicode=True))
        return path

    def session(self, **entry: Any) -> Session:
        """Open this invocation's meta entry (``started_at`` now, status ``running``).

        Entries left ``running`` by a killed sweep are first closed as ``killed``
        (:func:`close_stale_sessions`): this writer holds the lock, so no live sweep owns them.

        Args:
            **entry: Fields of the entry (``command``, ``workers``, ``planned``, ``skipped``,
                ``machine``, ``versions``, ...).
        """
        path = sidecar(self.path, ".meta.json")
        data = _read_meta(path)
        data["results"] = self.path.name
        data["grid"] = sidecar(self.path, ".grid.yaml").name
        close_stale_sessions(data["sessions"], self.path)
        full: dict[str, Any] = {"started_at": utc_now(), "ended_at": None, "wall_time_s": None}
        full.update(entry)
        for key, default in (("ok", 0), ("failed", 0), ("status", "running")):
            full.setdefault(key, default)
        data["sessions"].append(full)
        return Session(path, data, full)

    def close(self) -> None:
        """Release the lock and close the file."""
        if not self._f.closed:
            self._f.close()

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------------------------ the store


class ResultsStore:
    """A results file and its sidecars, read and written through one object.

    Args:
        path: The results file (``.jsonl``); it need not exist yet.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def grid_path(self) -> Path:
        """``<results>.grid.yaml``: the normalised grid of the last sweep."""
        return sidecar(self.path, ".grid.yaml")

    @property
    def meta_path(self) -> Path:
        """``<results>.meta.json``: one session entry per sweep invocation."""
        return sidecar(self.path, ".meta.json")

    def exists(self) -> bool:
        """Whether the results file exists."""
        return self.path.exists()

    def writer(self) -> ResultsWriter:
        """Open for appending, holding the file's lock (a context manager)."""
        return ResultsWriter(self.path)

    def append(self, record: dict[str, Any]) -> None:
        """Append one record, taking the lock for this one write."""
        with self.writer() as w:
            w.append(record)

    def records(self, *, warn: bool = True) -> list[RunRecord]:
        """Every record in file order, typed (see :func:`read_run_records`)."""
        return read_run_records(self.path, warn=warn)

    def latest(self) -> dict[str, RunRecord]:
        """One record per run id (see :func:`latest_by_run`)."""
        return latest_by_run(self.records(warn=False))

    def finished_ids(self, *, include_failed: bool = False) -> set[str]:
        """Run ids with an ``ok`` record (and failed ones with ``include_failed``)."""
        return finished_ids(self.path, include_failed=include_failed)

    def sessions(self) -> list[dict[str, Any]]:
        """The session entries of the meta file, oldest first; ``[]`` without one.

        Entries of sweeps that were killed still read ``running`` here (they are closed by the
        next sweep on the file).
        """
        return list(_read_meta(self.meta_path)["sessions"])

    def meta(self) -> dict[str, Any] | None:
        """The whole meta file (``sessions``, total ``wall_time_s``, ...); None without one."""
        if not self.meta_path.exists():
            return None
        data = _read_meta(self.meta_path)
        return data if data["sessions"] else None

    def to_dataframe(self, *, epochs: bool = False, latest: bool = True) -> pandas.DataFrame:
        """The records as a DataFrame (see :func:`to_dataframe`)."""
        return to_dataframe(self.records(), epochs=epochs, latest=latest)
