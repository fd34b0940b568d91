"""Output paths: checked before a command's work starts, written so that a failure loses nothing.

Every command that writes (``noise``, ``train``, ``sweep``, ``report``, ``bench``, ``moons``)
checks its output paths with :func:`check_output_file` / :func:`check_output_dir` before it
loads data or trains, so a bad ``--out`` costs nothing, and writes files with
:func:`write_file` / :func:`write_with`:

- only a regular file is ever replaced: a folder, FIFO, device or socket at the path is refused;
- a path that is one of the command's own inputs (the dataset it read, the grid it runs) is
  refused, compared by the file itself (``os.path.samefile``), not by spelling;
- the folder must exist or be creatable, and writable (tested by creating a file in it);
- a file is written to a temporary name beside it and renamed into place, so a reader never
  sees half a file; when the write still fails (disk full, permissions changed mid-run) the
  content goes to the system's temporary folder instead and the one-line error says where.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from noisylabels.errors import UsageError

PathLike = str | os.PathLike[str]


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _reason(e: OSError) -> str:
    return e.strerror or type(e).__name__


def _writable_folder(folder: Path, option: str) -> None:
    """Raise unless ``folder`` (or the nearest existing folder above it) accepts new files."""
    probe_dir = folder
    while not probe_dir.exists():
        if probe_dir.is_symlink():  # a dangling link: creating the folder would fail
            raise UsageError(f"{option}: {probe_dir} is a broken symbolic link")
        probe_dir = probe_dir.parent
    if not probe_dir.is_dir():
        raise UsageError(
            f"{option}: {probe_dir} is a file, not a folder; choose a path inside a folder"
        )
    try:
        fd, probe = tempfile.mkstemp(prefix=".noisylabels-probe-", dir=probe_dir)
    except OSError as e:
        raise UsageError(f"{option}: cannot write in {probe_dir}: {_reason(e)}") from None
    os.close(fd)
    os.unlink(probe)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def _where(path: Path) -> Path:
    """Where ``path`` is or will be, as an absolute resolved path.

    `new/../data.npz` does not exist until `new/` is created, then it is data.npz: the absolute
    path is resolved, not the path as given.
    """
    return Path(os.path.abspath(path)).resolve()


def _refuse_inputs(path: Path, inputs: Iterable[PathLike | None], option: str) -> None:
    # A file not yet written can still lie inside an input folder.
    where = _where(path)
    for inp in inputs:
        if inp is None:
            continue
        src = Path(inp).expanduser()
        if not src.exists():
            continue
        if (path.exists() and _same_file(path, src)) or where == src.resolve():
            raise UsageError(
                f"{option} {path} is an input of this command ({src}); writing it would destroy "
                "it: choose another path"
            )
        if src.is_dir() and where.is_relative_to(src.resolve()):
            raise UsageError(
                f"{option} {path} is a file of the input folder {src}; writing it would change "
                "the input: choose another path"
            )


def check_output_file(
    path: PathLike, *, inputs: Iterable[PathLike | None] = (), option: str = "--out"
) -> Path:
    """Check that ``path`` can be written as a file before the work that produces it starts.

    Args:
        path: The file to be written (replaced or appended to if it exists).
        inputs: Files or folders the same command reads; ``path`` may be none of them (nor a
            file inside an input folder).
        option: How the user named the path (``--out``, ``--plots``), for the messages.

    Returns:
        ``path`` with ``~`` expanded.

    Raises:
        UsageError: The path is a folder, FIFO, device or socket, is an input, or its folder is
            missing and cannot be created, or not writable.
    """
    p = Path(path).expanduser()
    if str(path) == "":
        raise UsageError(f"{option} is empty; give a file name")
    try:
        st = p.stat()
    except (FileNotFoundError, NotADirectoryError):
        st = None  # the folder checks below say what is wrong with the parents
    except OSError as e:
        raise UsageError(f"{option} {p}: {_reason(e)}") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        what = _kind(st.st_mode)
        hint = "give a file name" if what == "a folder" else "only a regular file is replaced"
        raise UsageError(f"{option} {p} is {what}; {hint}")
    _refuse_inputs(p, inputs, option)
    _writable_folder(p.parent, option)
    return p


def check_output_dir(
    path: PathLike, *, inputs: Iterable[PathLike | None] = (), option: str = "--out"
) -> Path:
    """Check that ``path`` is, or can be created as, a writable folder.

    Args:
        path: The output folder.
        inputs: Files and folders the same command reads: ``path`` may be none of them, nor
            lie inside an input folder (an image folder would gain a class); an input inside
            ``path`` is checked by :func:`check_output_file` on the names written.
        option: How the user named the path, for the messages.

    Returns:
        ``path`` with ``~`` expanded.

    Raises:
        UsageError: The path exists and is not a folder, or cannot be created or written.
    """
    p = Path(path).expanduser()
    if str(path) == "":
        raise UsageError(f"{option} is empty; give a folder name")
    if p.exists() and not p.is_dir():
        raise UsageError(f"{option} {p} is a file, not a folder; give a folder name")
    for inp in inputs:
        src = None if inp is None else Path(inp).expanduser()
        if src is None or not src.exists():
            continue
        if p.exists() and _same_file(p, src):
            raise UsageError(f"{option} {p} is an input of this command; choose another folder")
        if src.is_dir() and _where(p).is_relative_to(src.resolve()):
            raise UsageError(
                f"{option} {p} is inside the input folder {src}; writing there would change the "
                "input: choose another folder"
            )
    _writable_folder(p, option)  # after the input checks: its probe file would go there
    return p


def make_dir(path: PathLike, option: str = "--out") -> Path:
    """Create ``path`` (and its parents), turning a failure into a one-line :class:`UsageError`."""
    p = Path(path).expanduser()
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"{option}: cannot create folder {p}: {_reason(e)}") from None
    return p


def _refuse_special(p: Path, option: str) -> None:
    # Checked again at write time: the path may have changed since check_output_file.
    with contextlib.suppress(OSError):
        mode = p.stat().st_mode
        if not stat.S_ISREG(mode):
            what = _kind(mode)
            raise UsageError(f"{option} {p} is {what}; only a regular file is replaced")


def _fallback_path(p: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=f"noisylabels-{p.stem}-", suffix=p.suffix)
    os.close(fd)
    return Path(name)


def write_with(path: PathLike, write: Callable[[Path], None], *, option: str = "--out") -> Path:
    """Let ``write(tmp)`` produce a file, then rename it onto ``path``.

    Args:
        path: The destination (a regular file or absent).
        write: Writes the whole content to the path it is given (a temporary name beside
            ``path`` with the same suffix, so writers that pick a format by suffix still work).
        option: How the user named the path, for the messages.

    Returns:
        ``path``.

    Raises:
        UsageError: ``path`` is not a regular file, or writing failed; in the second case the
            content was written to a file in the temporary folder and the message names it.
    """
    p = Path(path).expanduser()
    _refuse_special(p, option)
    tmp = p.with_name(f".{p.stem}.tmp{os.getpid()}{p.suffix}")
    try:
        if not p.parent.is_dir():
            p.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        os.replace(tmp, p)
        return p
    except OSError as e:
        reason = _reason(e)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    try:
        rescue = _fallback_path(p)
        write(rescue)
    except OSError:
        raise UsageError(f"cannot write {option} {p}: {reason}") from None
    raise UsageError(f"cannot write {option} {p}: {reason}; the result is saved in {rescue}")


def write_file(path: PathLike, data: bytes | str, *, option: str = "--out") -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`write_with`); text is UTF-8."""
    raw = data.encode() if isinstance(data, str) else data
    return write_with(path, lambda p: p.write_bytes(raw), option=option)


def rescue_dir(name: str) -> Path:
    """A new folder in the system's temporary folder for output that could not go where asked."""
    return Path(tempfile.mkdtemp(prefix=f"noisylabels-{name}-"))
