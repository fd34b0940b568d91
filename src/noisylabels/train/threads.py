"""How many torch threads a run uses by default: the cores this process was given.

``torch.get_num_threads()`` defaults to every core of the machine. A run confined to fewer
cores (``taskset``, a SLURM allocation, a container's CPU quota) or sharing the machine with
other work then keeps more threads than cores busy, and threads waiting on each other can make
a small model many times slower. :func:`default_threads` counts the cores the process may run
on (its CPU affinity, capped by a cgroup CPU quota) and divides them among the workers.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from pathlib import Path

__all__ = ["available_cores", "default_threads", "torch_threads"]


def _cgroup_quota(path: Path = Path("/sys/fs/cgroup/cpu.max")) -> float | None:
    """CPUs allowed by a cgroup v2 quota (``"max 100000"`` means none), or None."""
    try:
        quota, period = path.read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    try:
        return int(quota) / int(period)
    except (ValueError, ZeroDivisionError):
        return None


def available_cores() -> int:
    """Cores this process may use: its CPU affinity, capped by a cgroup v2 CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    quota = _cgroup_quota()
    if quota is not None:
        cores = min(cores, max(1, math.ceil(quota)))
    return max(1, cores)


def default_threads(workers: int = 1) -> int:
    """Torch threads per run when ``workers`` runs share this process's cores (at least 1).

    Example:
        >>> default_threads(workers=10**6)
        1
    """
    return max(1, available_cores() // max(1, workers))


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[int]:
    """Use ``n`` torch threads inside the block (None: :func:`default_threads`), then restore."""
    import torch

    before = torch.get_num_threads()
    n = default_threads() if n is None else n
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(before)
