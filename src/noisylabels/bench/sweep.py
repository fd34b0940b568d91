"""Run a grid of training runs into one results file, resumably.

:func:`run_sweep` runs each :class:`~noisylabels.bench.grid.RunSpec` that has no ``ok`` record
in the results file yet, appends one record per finished run (see
:mod:`noisylabels.bench.results` for why that is crash-safe), and keeps going when a run fails:
the exception becomes a record with ``status: "failed"`` and a one-line ``error``. Failed runs
are retried by the next invocation unless ``retry_failed=False``.

With ``workers > 1`` runs execute in that many spawned processes, each limited to
``cores // workers`` torch threads, worker k placed on GPU k mod the GPU count; with
``backend="ray"`` each run is a Ray task. Either way the parent writes every record, in
completion order.
Ctrl-C stops the sweep at once; every run that finished before is already on disk, and rerunning
the same command resumes.

Next to ``results.jsonl`` a sweep writes ``results.grid.yaml`` (the normalised grid, runnable
as is) and ``results.meta.json`` (one entry per invocation: start, end, wall time, workers,
machine and versions). The entry is kept current after every finished run, so a sweep killed
hard (SIGKILL, a machine stop) still counts its finished runs and their time; the next invocation
marks such an entry ``killed``.
"""

from __future__ import annotations

import json
import math
import platform
import signal
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from noisylabels import __version__
from noisylabels.bench.grid import RunSpec, method_display, select_shard
from noisylabels.bench.results import ResultsStore, dumps_record, utc_now
from noisylabels.errors import UsageError
from noisylabels.outputs import rescue_dir
from noisylabels.train.config import TrainConfig
from noisylabels.train.record import SCHEMA_VERSION
from noisylabels.train.threads import available_cores, default_threads

Runner = Callable[[TrainConfig], dict[str, Any]]
Progress = Literal["bar", "quiet", "json"]
Backend = Literal["local", "ray"]


def train_runner(config: TrainConfig) -> dict[str, Any]:
    """The default runner: :func:`noisylabels.train.run` without its epoch progress bar."""
    from noisylabels.train import run

    return run(config, progress=False)


def auto_device() -> str:
    """What ``device: auto`` resolves to in this process: ``cuda`` when available, else ``cpu``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def is_done(spec: RunSpec, done: set[str], auto: str | None = None) -> bool:
    """Whether ``done`` (finished run ids) holds ``spec``.

    A run with ``device: auto`` also counts as done when the results hold the same run on the
    device ``auto`` resolves to here (``auto``, default :func:`auto_device`): a grid moved from
    ``device: cpu`` to ``auto`` resumes its CPU results on a machine without a GPU, and reruns
    them on one with a GPU.
    """
    if spec.run_id in done:
        return True
    if spec.config.device != "auto":
        return False
    from noisylabels.train import run_id

    return run_id(spec.config.replace(device=auto or auto_device())) in done


def one_line(exc: BaseException) -> str:
    """``Type: message`` on one line (the ``error`` field of a failed record)."""
    msg = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def versions() -> dict[str, str]:
    """Versions of noisylabels, torch, numpy and python."""
    import numpy
    import torch

    return {
        "noisylabels": __version__,
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
    }


def machine() -> dict[str, Any]:
    """Kind of machine a sweep ran on: OS, CPU architecture, cores, threads, accelerator.

    No host name or kernel build string: a results file describes the hardware, not the host.
    """
    import torch

    info: dict[str, Any] = {
        "platform": f"{platform.system()} {platform.machine()}",
        "processor": platform.processor() or platform.machine(),
        "cpu_count": available_cores(),
        "torch_threads": torch.get_num_threads(),
    }
    if torch.cuda.is_available():
        info["cuda"] = torch.cuda.get_device_name(0)
    return info


def failed_record(spec: RunSpec, exc: BaseException, started_at: str, wall: float) -> dict:
    """The record of a run that raised ``exc``."""
    tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return {
        "schema": SCHEMA_VERSION,
        "run_id": spec.run_id,
        "status": "failed",
        "error": one_line(exc),
        "config": spec.config.to_dict(),
        "versions": versions(),
        "traceback": "".join(tb[-6:]),
        "started_at": started_at,
        "wall_time_s": wall,
    }


def execute(spec: RunSpec, runner: Runner) -> dict[str, Any]:
    """Run one spec; any exception becomes a failed record (KeyboardInterrupt propagates)."""
    started_at, t0 = utc_now(), time.perf_counter()
    try:
        record = runner(spec.config)
        if not isinstance(record, dict):
            raise TypeError(f"runner returned {type(record).__name__}, expected a record dict")
        record = dict(record)
        record.setdefault("status", "ok")
    except Exception as e:
        record = failed_record(spec, e, started_at, time.perf_counter() - t0)
    record["run_id"] = spec.run_id
    record["label"] = spec.label
    record.setdefault("config", spec.config.to_dict())
    record.setdefault("started_at", started_at)
    record.setdefault("wall_time_s", time.perf_counter() - t0)
    return record


def worker_gpu(worker: int, n_gpus: int) -> int | None:
    """The GPU index local sweep worker ``worker`` (0, 1, ...) uses: ``worker mod n_gpus``.

    Runs with device ``auto`` or ``cuda`` in that worker train on this GPU; ``cpu`` and an
    explicit ``cuda:N`` keep theirs. None without GPUs.

    Example:
        >>> [worker_gpu(k, 2) for k in range(5)], worker_gpu(3, 0)
        ([0, 1, 0, 1, 0], None)
    """
    if worker < 0:
        raise ValueError(f"worker index must be >= 0, got {worker}")
    return worker % n_gpus if n_gpus > 0 else None


def gpu_count() -> int:
    """CUDA devices visible to this process (0 without CUDA)."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _init_worker(threads: int, counter: Any, n_gpus: int) -> None:
    # The parent owns Ctrl-C: it stops the pool; workers must not print tracebacks of their own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import torch

    torch.set_num_threads(threads)
    with counter.get_lock():
        worker = counter.value
        counter.value += 1
    gpu = worker_gpu(worker, n_gpus)
    if gpu is not None:
        # The current device: where runs with device "auto" or "cuda" go in this process.
        torch.cuda.set_device(gpu)


def summary_line(record: dict[str, Any]) -> dict[str, Any]:
    """The short per-run object printed by ``--json``."""
    cfg = record.get("config") or {}
    final = record.get("final") or {}
    noise = record.get("noise") or {}
    return {
        "run_id": record.get("run_id"),
        "status": record.get("status"),
        "label": record.get("label") or method_display(cfg),
        "dataset": cfg.get("dataset"),
        "noise": cfg.get("noise"),
        "method": cfg.get("method"),
        "method_params": cfg.get("method_params"),
        "model": cfg.get("model"),
        "seed": cfg.get("seed"),
        "realised_noise_rate": noise.get("realised_rate"),
        "test_acc_last": final.get("test_acc_last"),
        "test_acc_selected": final.get("test_acc_selected"),
        "test_acc_best": final.get("test_acc_best"),
        "wall_time_s": record.get("wall_time_s"),
        "error": record.get("error"),
    }


@dataclass
class SweepResult:
    """What one invocation of :func:`run_sweep` did."""

    planned: int
    skipped: int
    ok: int = 0
    failed: int = 0
    interrupted: bool = False
    wall_time_s: float = 0.0
    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def finished(self) -> int:
        """Runs finished (ok or failed) in this invocation."""
        return self.ok + self.failed


def run_sweep(
    runs: list[RunSpec],
    out: str | Path,
    *,
    workers: int = 1,
    runner: Runner | None = None,
    retry_failed: bool = True,
    progress: Progress = "bar",
    grid: dict[str, Any] | None = None,
    command: str | None = None,
    threads: int | None = None,
    shard: tuple[int, int] | None = None,
    backend: Backend = "local",
    ray_address: str | None = None,
    cpus_per_run: float = 1.0,
    gpus_per_run: float = 0.0,
) -> SweepResult:
    """Run every spec of ``runs`` that has no ``ok`` record in ``out`` yet.

    Args:
        runs: The runs, e.g. from :func:`~noisylabels.bench.grid.expand_grid`.
        out: The JSONL results file (appended to; created if missing).
        workers: Parallel processes; 1 runs in this process.
        runner: ``config -> record``; defaults to :func:`train_runner`. With ``workers > 1`` it
            must be picklable (a module-level function).
        retry_failed: Rerun runs whose only records are failed ones.
        progress: ``bar`` (tqdm and one line per run on stderr), ``quiet`` (only failures on
            stderr) or ``json`` (one JSON object per finished run on stdout).
        grid: The normalised grid, saved as ``<out>.grid.yaml`` when given.
        command: The command line, recorded in ``<out>.meta.json``.
        threads: Torch threads per run (default: the cores this process may use divided by
            ``workers``, see :func:`~noisylabels.train.threads.default_threads`; with Ray,
            ``cpus_per_run`` rounded up). Small models on a busy machine run much faster on 1
            thread than on several that wait for each other.
        shard: ``(i, n)``: run only shard ``i`` of ``n`` (:func:`~noisylabels.bench.grid.
            select_shard`), e.g. one task of a SLURM job array.
        backend: ``local`` (this process, or a pool of ``workers`` processes, worker k on GPU
            k mod the GPU count) or ``ray`` (one Ray task per run, see
            :mod:`noisylabels.bench.ray_backend`).
        ray_address: Ray cluster to join (``auto``); None starts a local Ray.
        cpus_per_run: CPUs Ray reserves per run.
        gpus_per_run: GPUs Ray reserves per run; fractions share a GPU.

    Returns:
        Counts of what ran. On Ctrl-C the meta file is updated and KeyboardInterrupt re-raised.
    """
    if workers < 1:
        raise UsageError(f"--workers must be >= 1, got {workers}")
    if threads is not None and threads < 1:
        raise UsageError(f"--threads must be >= 1, got {threads}")
    if backend not in ("local", "ray"):
        raise UsageError(f"unknown backend {backend!r}; choose local or ray")
    if backend == "ray":
        from noisylabels.bench.ray_backend import (
            RayRunner,
            check_reachable,
            check_resources,
            import_ray,
        )

        check_resources(cpus_per_run, gpus_per_run)
        if ray_address is not None:
            check_reachable(ray_address)
        import_ray()  # before the results file is touched: missing Ray is a one-line error
        threads = threads or max(1, math.ceil(cpus_per_run))
    runner = train_runner if runner is None else runner
    threads = threads or default_threads(workers)
    if shard is not None:
        runs = select_shard(runs, *shard)
    out = Path(out)
    store = ResultsStore(out)
    with store.writer() as writer:  # lock first: a second sweep on this file fails here
        done = store.finished_ids(include_failed=not retry_failed)
        auto = auto_device()
        todo = [r for r in runs if not is_done(r, done, auto)]
        result = SweepResult(planned=len(runs), skipped=len(runs) - len(todo))
        if grid is not None:
            writer.save_grid(grid)
        machine_info = machine()
        extra: dict[str, Any] = {}
        if shard is not None:
            extra["shard"] = f"{shard[0]}/{shard[1]}"
        ray_runner = None
        if backend == "ray":
            extra["backend"] = "ray"
            if todo:  # connected (and checked) before this invocation's meta entry is opened
                ray_runner = RayRunner(ray_address, cpus_per_run, gpus_per_run)
                extra["ray"] = ray_runner.info
        session = writer.session(
            command=command,
            workers=workers if backend == "local" else None,
            threads_per_run=threads,
            planned=len(runs),
            skipped=result.skipped,
            ok=0,
            failed=0,
            status="running",
            machine=machine_info,
            versions=versions(),
            **extra,
        )
        reporter = _Reporter(progress, total=len(todo), skipped=result.skipped)
        t0 = time.perf_counter()

        def record_done(rec: dict[str, Any]) -> None:
            try:
                writer.append(rec)
            except OSError as e:  # disk full, file system gone read-only: keep this run
                rescue = rescue_dir("sweep") / "record.jsonl"
                rescue.write_text(dumps_record(rec) + "\n")
                raise UsageError(
                    f"cannot append to {out}: {e.strerror or type(e).__name__}; this run's "
                    f"record is saved in {rescue}, the runs before it are in {out}; fix the "
                    "cause and rerun the same command to resume"
                ) from None
            result.records.append(rec)
            if rec.get("status") == "ok":
                result.ok += 1
            else:
                result.failed += 1
            session.progress(result.ok, result.failed, time.perf_counter() - t0)
            reporter.update(rec)

        try:
            if not todo:
                pass
            elif ray_runner is not None:
                ray_runner.run(todo, runner, record_done, threads)
            elif workers == 1:
                _run_here(todo, runner, threads, record_done)
            else:
                _run_pool(todo, runner, workers, threads, record_done)
        except KeyboardInterrupt:
            result.interrupted = True
            raise
        finally:
            result.wall_time_s = time.perf_counter() - t0
            if ray_runner is not None:
                ray_runner.close()
            reporter.close()
            session.finish(
                result.ok, result.failed, result.wall_time_s, interrupted=result.interrupted
            )
    return result


def _run_here(
    todo: Iterable[RunSpec],
    runner: Runner,
    threads: int,
    record_done: Callable[[dict], None],
) -> None:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for spec in todo:
            record_done(execute(spec, runner))
    finally:
        torch.set_num_threads(before)


def _run_pool(
    todo: Iterable[RunSpec],
    runner: Runner,
    workers: int,
    threads: int,
    record_done: Callable[[dict], None],
) -> None:
    import multiprocessing

    n_gpus = gpu_count()
    context = multiprocessing.get_context("spawn")
    counter = context.Value("i", 0)  # worker k of the sweep places itself on GPU k mod n_gpus
    pending = deque(todo)
    while pending:
        pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_init_worker,
            initargs=(threads, counter, n_gpus),
        )
        inflight: dict[Future, RunSpec] = {}
        try:
            # At most `workers` runs are submitted at a time, so if a worker dies (killed, out of
            # memory) only the runs then in flight are affected.
            while pending or inflight:
                while pending and len(inflight) < workers:
                    # Taken off the queue only once submitted: submit raises on a pool that
                    # broke since the last wait, and the run must then go to the next pool.
                    inflight[pool.submit(execute, pending[0], runner)] = pending[0]
                    pending.popleft()
                finished, _ = wait(inflight, return_when=FIRST_COMPLETED)
                for fut in finished:
                    record_done(_outcome(fut, inflight[fut]))
                    del inflight[fut]
        except BrokenProcessPool:
            for fut, spec in inflight.items():
                record_done(_outcome(fut, spec))
            _stop_pool(pool)
            continue
        except BaseException:
            _stop_pool(pool)
            raise
        pool.shutdown(wait=True)


def _outcome(fut: Future, spec: RunSpec) -> dict[str, Any]:
    """The record a finished future holds, or a failed record saying why there is none."""
    err: BaseException | None
    if fut.done() and not fut.cancelled():
        err = fut.exception()
        if err is None:
            return fut.result()
    else:
        err = None
    if err is None or isinstance(err, BrokenProcessPool):
        err = RuntimeError(
            "a worker process died during this run or one running beside it "
            "(killed, out of memory or crashed)"
        )
    rec = failed_record(spec, err, utc_now(), 0.0)
    rec["label"] = spec.label
    return rec


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for p in procs:
        p.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        p.join(timeout=5)


class _Reporter:
    """Progress output of a sweep: bar, quiet or JSON lines."""

    def __init__(self, mode: Progress, total: int, skipped: int) -> None:
        self.mode = mode
        self.total = total
        self.count = 0
        self.bar = None
        if mode == "bar" and total:
            from tqdm import tqdm

            # disable=None: no bar when stderr is not a terminal (logs keep the per-run lines).
            self.bar = tqdm(
                total=total, unit="run", desc="sweep", file=sys.stderr, leave=False, disable=None
            )
        if mode == "bar" and skipped:
            self._err(f"{skipped} run(s) already finished; {total} to run")

    def _err(self, line: str) -> None:
        if self.bar is not None and not self.bar.disable:
            self.bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr, flush=True)

    def update(self, rec: dict[str, Any]) -> None:
        self.count += 1
        s = summary_line(rec)
        if self.mode == "json":
            print(json.dumps(s), flush=True)
            return
        desc = f"{s['dataset']} {s['noise']} {s['label']} seed={s['seed']}"
        head = f"[{self.count}/{self.total}]"
        if s["status"] != "ok":
            self._err(f"{head} FAILED {desc}: {s['error']}")
        elif self.mode == "bar":
            acc = s["test_acc_selected"]
            acc_txt = f"test acc (selected) {100 * acc:.2f}%" if isinstance(acc, float) else ""
            wall = s["wall_time_s"]
            wall_txt = f" in {wall:.1f}s" if isinstance(wall, int | float) else ""
            self._err(f"{head} ok {desc}: {acc_txt}{wall_txt}")
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
