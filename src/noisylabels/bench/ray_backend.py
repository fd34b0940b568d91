"""Sweep runs as Ray tasks: one task per run, records written by the sweep's own process.

Each run becomes a Ray task asking for ``cpus_per_run`` CPUs and ``gpus_per_run`` GPUs (a
fraction lets several small CNNs share one device; Ray sets ``CUDA_VISIBLE_DEVICES`` of the
task, so ``device: auto`` lands on the GPU it was given, and on the CPU when it was given none).
Tasks return their record to the sweep process, which is the only writer of the results file, so
resume, torn-line handling and one line per run are those of the local backend. A task whose
worker process dies (killed, out of memory, a crash in native code) is not retried: its run gets
one ``failed`` record and the other runs go on.

Without an address a local Ray is started in this process (all the cores this process may use,
no dashboard, a small object store: records are a few KB) and stopped at the end; a Ray already
initialised in this process is used as it is. ``address="auto"`` joins the cluster this machine
belongs to (``ray start --head`` / ``ray start --address=...``), whose workers must be able to
import ``noisylabels`` and read the datasets.

Needs ``pip install 'noisylabels[ray]'``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from noisylabels.errors import UsageError
from noisylabels.train.threads import available_cores

if TYPE_CHECKING:
    from noisylabels.bench.grid import RunSpec

#: Object store of an embedded local Ray: records are small, nothing large goes through it.
EMBEDDED_OBJECT_STORE_BYTES = 128 * 2**20

INSTALL_HINT = "pip install 'noisylabels[ray]'"


def import_ray() -> Any:
    """The ``ray`` module, or a one-line UsageError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise UsageError(
            f"--backend ray needs Ray, which is not installed: {INSTALL_HINT}"
        ) from None
    return ray


def check_resources(cpus_per_run: float, gpus_per_run: float) -> None:
    """Reject resource requests Ray would refuse, as one-line errors."""
    if not cpus_per_run > 0:
        raise UsageError(f"--cpus-per-run must be > 0, got {cpus_per_run:g}")
    if gpus_per_run < 0:
        raise UsageError(f"--gpus-per-run must be >= 0, got {gpus_per_run:g}")
    if gpus_per_run > 1 and not float(gpus_per_run).is_integer():
        raise UsageError(
            f"--gpus-per-run above 1 must be a whole number, got {gpus_per_run:g} "
            "(a fraction below 1 shares one GPU between runs)"
        )


def ray_execute(spec: RunSpec, runner: Callable, threads: int) -> dict[str, Any]:
    """The body of one Ray task: run ``spec`` with ``threads`` torch threads."""
    import torch

    from noisylabels.bench.sweep import execute

    torch.set_num_threads(threads)
    return execute(spec, runner)


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Refuse a ``host:port`` / ``ray://host:port`` address that does not answer.

    Ray itself retries an unreachable address for minutes; a plain TCP connect says it at once.
    ``auto`` and other forms are left to Ray.

    Raises:
        UsageError: Nothing accepts a connection at that host and port within ``timeout`` s.
    """
    import socket

    hostport = address.removeprefix("ray://")
    host, sep, port = hostport.rpartition(":")
    if not sep or not host or not port.isdigit():
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as e:
        raise UsageError(
            f"cannot connect to Ray at {address!r}: nothing answers at {hostport} "
            f"({e.strerror or e}); start the cluster (ray start --head) or leave --ray-address "
            "out for a local Ray"
        ) from None


class RayRunner:
    """A connection to Ray that runs sweep runs as tasks.

    Built by :func:`~noisylabels.bench.sweep.run_sweep`, which checks the resource requests
    (:func:`check_resources`) and the address (:func:`check_reachable`) before the results file
    is touched.

    Args:
        address: A Ray cluster address (``auto``, ``ray://host:10001``), or None for a Ray in
            this process (started here unless one is initialised already).
        cpus_per_run: CPUs Ray reserves per run.
        gpus_per_run: GPUs Ray reserves per run (fractions share a GPU).

    Raises:
        UsageError: Ray missing, the cluster unreachable, or a run asking for more than it has.
    """

    def __init__(self, address: str | None, cpus_per_run: float, gpus_per_run: float) -> None:
        self.ray = ray = import_ray()
        self.cpus_per_run = cpus_per_run
        self.gpus_per_run = gpus_per_run
        self.started_here = False
        if not ray.is_initialized():
            if address is None:
                ray.init(
                    num_cpus=available_cores(),
                    include_dashboard=False,
                    object_store_memory=EMBEDDED_OBJECT_STORE_BYTES,
                    logging_level="ERROR",
                )
            else:
                try:
                    ray.init(address=address, logging_level="ERROR")
                except (ConnectionError, ValueError, RuntimeError) as e:
                    msg = " ".join(str(e).split())
                    raise UsageError(f"cannot connect to Ray at {address!r}: {msg}") from None
            self.started_here = True
        res = ray.cluster_resources()
        cpus, gpus = float(res.get("CPU", 0.0)), float(res.get("GPU", 0.0))
        #: What the sweep's meta entry records about the cluster.
        self.info = {
            "address": address,
            "cpus_per_run": cpus_per_run,
            "gpus_per_run": gpus_per_run,
            "cluster_cpus": cpus,
            "cluster_gpus": gpus,
        }
        if cpus_per_run > cpus or gpus_per_run > gpus:
            self.close()
            raise UsageError(
                f"a run asks for {cpus_per_run:g} CPU(s) and {gpus_per_run:g} GPU(s) but the Ray "
                f"cluster has {cpus:g} and {gpus:g}; lower --cpus-per-run / --gpus-per-run"
            )

    def run(
        self,
        todo: list[RunSpec],
        runner: Callable,
        record_done: Callable[[dict[str, Any]], None],
        threads: int,
    ) -> None:
        """Run ``todo`` as Ray tasks and hand each record to ``record_done`` as it arrives.

        Args:
            todo: The runs to do.
            runner: ``config -> record``; shipped to the workers (a module-level function).
            record_done: Called in this process with each record, in completion order.
            threads: Torch threads of each run.
        """
        from noisylabels.bench.sweep import failed_record, utc_now

        ray = self.ray
        task = ray.remote(ray_execute).options(
            num_cpus=self.cpus_per_run,
            num_gpus=self.gpus_per_run,
            max_retries=0,
            retry_exceptions=False,
        )
        inflight = {task.remote(spec, runner, threads): spec for spec in todo}
        try:
            while inflight:
                ready, _ = ray.wait(list(inflight), num_returns=1)
                for ref in ready:
                    spec = inflight.pop(ref)
                    try:
                        record = ray.get(ref)
                    except ray.exceptions.RayError as e:
                        # execute() turns every exception of a run into a record, so an error
                        # here means the worker itself died, or Ray could not run the task.
                        err = RuntimeError(
                            "the Ray worker running this run died (killed, out of memory or "
                            f"crashed): {type(e).__name__}"
                        )
                        record = failed_record(spec, err, utc_now(), 0.0)
                        record["label"] = spec.label
                    record_done(record)
        finally:
            for ref in inflight:
                ray.cancel(ref, force=True)

    def close(self) -> None:
        """Stop the local Ray if this object started it."""
        if self.started_here:
            self.ray.shutdown()
            self.started_here = False
