"""The compute a process was given: usable CPU cores, default torch threads, GPU placement.

Torch's own default thread count is the machine's core count, whatever share of it the process
may use; on a machine shared with other work (a CI runner, a cluster node with a CPU limit, a
sweep's other workers) that oversubscribes the cores and a small model slows down several times
while its threads wait for each other. :func:`default_threads` starts from the cores this process
may actually run on instead.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

__all__ = ["available_cores", "default_threads", "worker_gpu"]


def _cgroup_limit(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """CPUs allowed by a cgroup quota (``cpu.max`` v2, ``cpu.cfs_quota_us`` v1); None if none."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        if quota != "max":
            return int(quota) / int(period)
        return None
    except (OSError, ValueError):
        pass
    try:
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        return quota / period if quota > 0 and period > 0 else None
    except (OSError, ValueError):
        return None


def available_cores() -> int:
    """Cores this process may use: its CPU affinity, capped by a cgroup CPU quota (rounded up).

    Example:
        >>> available_cores() >= 1
        True
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cores = os.cpu_count() or 1
    limit = _cgroup_limit()
    if limit is not None:
        cores = min(cores, max(1, math.ceil(limit)))
    return max(1, cores)


def default_threads(workers: int = 1) -> int:
    """Torch threads per run when ``workers`` runs share this process's cores.

    ``available_cores() // workers``, at least 1.

    Example:
        >>> default_threads(workers=10**6)
        1
    """
    return max(1, available_cores() // max(1, workers))


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
