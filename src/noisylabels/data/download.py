"""Download of the official dataset files: progress bar, checksum, atomic write.

A file is streamed to a temporary name next to its destination while its MD5 is computed, then
renamed into place only when the checksum matches the published one. A failed or mismatching
download leaves nothing behind, so a later run never mistakes a partial file for data.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from noisylabels.errors import DataError

TIMEOUT_S = 30.0
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Resource:
    """One official file and where to get it.

    Attributes:
        filename: Name of the file (and of the download destination).
        urls: Mirrors, tried in order.
        md5: The MD5 published with the dataset (and checked by torchvision).
    """

    filename: str
    urls: tuple[str, ...]
    md5: str


class DownloadError(DataError):
    """Every mirror of a resource failed (no network, HTTP error, ...); ``errors`` says why."""

    def __init__(self, resource: Resource, errors: list[str]) -> None:
        self.resource = resource
        self.errors = errors
        super().__init__(f"could not download {resource.filename}: {'; '.join(errors)}")


def urlopen(url: str, timeout: float) -> Any:
    """Open ``url`` (a seam: tests replace this function so they never touch the network)."""
    return urllib.request.urlopen(url, timeout=timeout)


def file_md5(path: str | os.PathLike[str]) -> str:
    """Hex MD5 of a file, read in chunks."""
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _fetch(url: str, dest: Path, desc: str) -> str:
    """Stream ``url`` into ``dest`` with a progress bar on stderr; return the MD5 of the bytes."""
    from tqdm import tqdm

    h = hashlib.md5(usedforsecurity=False)
    with urlopen(url, timeout=TIMEOUT_S) as resp, open(dest, "wb") as out:
        length = resp.headers.get("Content-Length") if getattr(resp, "headers", None) else None
        total = int(length) if length and str(length).isdigit() else None
        with tqdm(
            total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc, file=sys.stderr
        ) as bar:
            for block in iter(lambda: resp.read(_CHUNK), b""):
                out.write(block)
                h.update(block)
                bar.update(len(block))
        received = out.tell()
    if total is not None and received != total:
        raise OSError(f"connection closed after {received} of {total} bytes")
    return h.hexdigest()


def download(resource: Resource, folder: str | os.PathLike[str]) -> Path:
    """Download ``resource`` into ``folder`` unless a copy with the right MD5 is already there.

    Args:
        resource: The file, its mirrors and checksum.
        folder: Destination folder (created if needed).

    Returns:
        Path of the verified file.

    Raises:
        DataError: The downloaded bytes do not match the published MD5 (the message names the
            file, the expected and the actual checksum; the partial file is deleted).
        DownloadError: Every mirror failed (offline, HTTP error, connection dropped).
    """
    folder = Path(folder)
    dest = folder / resource.filename
    if dest.is_file() and file_md5(dest) == resource.md5:
        return dest
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DownloadError(resource, [f"cannot create {folder}: {e}"]) from None
    errors: list[str] = []
    for url in resource.urls:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{resource.filename}.", suffix=".part", dir=folder)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            actual = _fetch(url, tmp, resource.filename)
            if actual != resource.md5:
                raise DataError(
                    f"checksum mismatch for {resource.filename} downloaded from {url}: expected "
                    f"md5 {resource.md5}, got {actual}; the partial file was deleted, try again "
                    f"or place a verified copy in {folder}"
                )
            os.replace(tmp, dest)
            return dest
        except (OSError, http.client.HTTPException, ValueError) as e:
            if isinstance(e, DataError):
                raise
            errors.append(f"{url}: {e}")
        finally:
            tmp.unlink(missing_ok=True)
    raise DownloadError(resource, errors)
