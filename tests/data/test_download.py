"""The downloader: checksum, atomic write, mirrors, progress bar; never the real network."""

from __future__ import annotations

import hashlib
import http.client

import pytest

from noisylabels.data.download import DownloadError, Resource, download, file_md5
from noisylabels.errors import DataError

PAYLOAD = bytes(range(256)) * 5000
MD5 = hashlib.md5(PAYLOAD).hexdigest()


def res(urls=("https://a.example/f.bin",), md5=MD5):
    return Resource("f.bin", tuple(urls), md5)


def test_success_writes_verified_file_atomically(tmp_path, serve, capsys):
    calls = serve({"https://a.example/f.bin": PAYLOAD})
    dest = download(res(), tmp_path / "new" / "folder")
    assert dest == tmp_path / "new" / "folder" / "f.bin"
    assert dest.read_bytes() == PAYLOAD and file_md5(dest) == MD5
    assert [p.name for p in dest.parent.iterdir()] == ["f.bin"]  # no temp file left
    assert calls == ["https://a.example/f.bin"]
    assert "f.bin" in capsys.readouterr().err  # progress bar on stderr


def test_existing_verified_file_is_not_downloaded_again(tmp_path, serve):
    (tmp_path / "f.bin").write_bytes(PAYLOAD)
    calls = serve({})
    assert download(res(), tmp_path).read_bytes() == PAYLOAD
    assert calls == []


def test_existing_corrupt_file_is_replaced(tmp_path, serve):
    (tmp_path / "f.bin").write_bytes(b"stale")
    serve({"https://a.example/f.bin": PAYLOAD})
    assert download(res(), tmp_path).read_bytes() == PAYLOAD


def test_checksum_mismatch_names_file_expected_actual_and_cleans_up(tmp_path, serve):
    serve({"https://a.example/f.bin": PAYLOAD[:-1] + b"\x00"})
    with pytest.raises(DataError) as e:
        download(res(), tmp_path)
    msg = str(e.value)
    assert "checksum mismatch for f.bin" in msg and MD5 in msg
    assert hashlib.md5(PAYLOAD[:-1] + b"\x00").hexdigest() in msg
    assert not isinstance(e.value, DownloadError)
    assert list(tmp_path.iterdir()) == []


def test_mirror_fallback(tmp_path, serve):
    urls = ("https://down.example/f.bin", "https://up.example/f.bin")
    calls = serve({urls[0]: ConnectionResetError("reset by peer"), urls[1]: PAYLOAD})
    assert download(res(urls), tmp_path).read_bytes() == PAYLOAD
    assert calls == list(urls)


def test_all_mirrors_fail(tmp_path, serve):
    urls = ("https://a.example/f.bin", "https://b.example/f.bin")
    serve({urls[0]: TimeoutError("timed out"), urls[1]: http.client.IncompleteRead(b"")})
    with pytest.raises(DownloadError) as e:
        download(res(urls), tmp_path)
    assert len(e.value.errors) == 2 and "timed out" in e.value.errors[0]
    assert list(tmp_path.iterdir()) == []


def test_short_read_is_not_accepted(tmp_path, serve):
    serve({"https://a.example/f.bin": (PAYLOAD[:1000], len(PAYLOAD))})  # length header lies
    with pytest.raises(DownloadError, match="connection closed after 1000"):
        download(res(), tmp_path)
    assert list(tmp_path.iterdir()) == []
