"""Keep the CPU training loop off the kernel's page-fault path (glibc ``malloc`` tuning).

Every training step allocates the same few megabyte-sized tensors (the float batch, activations,
gradients) and frees them again. With glibc's defaults such blocks are handed back to the
kernel when freed (``munmap`` above the mmap threshold, or a heap trim once the free top of the
heap passes the trim threshold), so the next step faults every page in again and the kernel
zeroes it: hundreds of thousands of page faults per CIFAR-10 epoch of a small CNN, paid in
kernel time (measured in docs/performance.md, ``benchmarks/allocator_faults.py``).

:func:`tune_allocator` raises the thresholds with ``mallopt`` so freed blocks stay in the
process and are reused. The cost is memory: up to about :data:`TRIM_THRESHOLD` of freed heap may
stay mapped until the process exits. Allocations above :data:`MMAP_THRESHOLD` (whole datasets)
still map and unmap as before. It does nothing off glibc (macOS, Windows, musl) and nothing
when ``NOISYLABELS_TUNE_MALLOC=0`` is set.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading

__all__ = ["MMAP_THRESHOLD", "TOP_PAD", "TRIM_THRESHOLD", "tune_allocator"]

# mallopt parameter numbers from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 256 << 20
"""Blocks at least this large (bytes) are still mapped separately and unmapped when freed."""
TRIM_THRESHOLD = 1 << 30
"""Free memory at the top of the heap is returned to the kernel only past this many bytes."""
TOP_PAD = 64 << 20
"""Extra bytes requested whenever the heap grows, so it grows rarely."""

_lock = threading.Lock()
_state: bool | None = None


def tune_allocator() -> bool:
    """Raise glibc's mmap and trim thresholds for this process, once.

    Safe to call many times (only the first call acts) and from any thread. Honours
    ``NOISYLABELS_TUNE_MALLOC=0`` (leave the allocator alone).

    Returns:
        True if the thresholds are (now) raised, False if the allocator was left as it is
        (not glibc, opted out, or ``mallopt`` refused a value).

    Example:
        >>> from noisylabels.train.allocator import tune_allocator
        >>> isinstance(tune_allocator(), bool)
        True
    """
    global _state
    with _lock:
        if _state is None:
            _state = _apply()
        return _state


def _apply() -> bool:
    opt_out = os.environ.get("NOISYLABELS_TUNE_MALLOC", "1").strip().lower()
    if opt_out in ("0", "false", "no", "off"):
        return False
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        # Only glibc has gnu_get_libc_version; musl's mallopt is a stub that changes nothing.
        _ = libc.gnu_get_libc_version
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # Setting any one of these turns off glibc's self-adjusting mmap threshold: set all three.
    ok = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    ok &= mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    ok &= mallopt(_M_TOP_PAD, TOP_PAD)
    return bool(ok)
