"""Where dataset files are looked for, in order.

1. an explicit ``root`` argument,
2. the ``NOISYLABELS_DATA`` environment variable (``os.pathsep``-separated folders),
3. the user cache folder (``$XDG_CACHE_HOME/noisylabels`` or ``~/.cache/noisylabels``),
4. Debian's dataset packages under ``/usr/share/datasets`` (e.g. ``dataset-fashion-mnist``).
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "NOISYLABELS_DATA"
DEBIAN_DIR = Path("/usr/share/datasets")


def cache_dir() -> Path:
    """The user cache folder where downloads and decompressed caches go."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "noisylabels"


def search_dirs(root: str | os.PathLike[str] | None = None) -> list[Path]:
    """Folders to search for dataset files, most specific first (duplicates removed)."""
    dirs: list[Path] = []
    if root is not None:
        dirs.append(Path(root))
    env = os.environ.get(ENV_VAR)
    if env:
        dirs.extend(Path(p) for p in env.split(os.pathsep) if p)
    dirs.append(cache_dir())
    dirs.append(DEBIAN_DIR)
    seen: set[Path] = set()
    out = []
    for d in dirs:
        d = d.expanduser()
        if d not in seen:
            seen.add(d)
            out.append(d)
    return out


def find_file(
    names: list[str], root: str | os.PathLike[str] | None = None, subdirs: tuple[str, ...] = ("",)
) -> Path | None:
    """First existing file among ``dir/subdir/name`` over :func:`search_dirs`, or None."""
    for d in search_dirs(root):
        for sub in subdirs:
            for name in names:
                p = d / sub / name if sub else d / name
                if p.is_file():
                    return p
    return None


def cifar10n_file(root: str | os.PathLike[str] | None = None) -> Path:
    """The CIFAR-10N label file over :func:`search_dirs` (what ``corrupt(label_file=)`` takes).

    Raises:
        DataError: If none is found (the message lists where it looked).
    """
    from noisylabels.noise.human import find_cifar10n

    return find_cifar10n(search_dirs(root))
