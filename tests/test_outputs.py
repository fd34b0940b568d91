"""Output paths: refused before the work, written atomically, rescued when the write fails."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from noisylabels.errors import UsageError
from noisylabels.outputs import check_output_dir, check_output_file, write_file, write_with


def test_new_file_in_new_folder_is_fine(tmp_path):
    p = check_output_file(tmp_path / "a" / "b" / "x.npz")
    assert not p.parent.exists()  # checking creates nothing
    assert write_file(p, "hi").read_text() == "hi"


def test_symlink_to_an_input_is_the_input(tmp_path):
    data = tmp_path / "data.npz"
    data.write_bytes(b"keep")
    link = tmp_path / "link.npz"
    link.symlink_to(data)
    with pytest.raises(UsageError, match="is an input of this command"):
        check_output_file(link, inputs=[data])
    with pytest.raises(UsageError, match="is an input of this command"):
        check_output_file(tmp_path / "sub" / ".." / "data.npz", inputs=[data])


def test_a_file_inside_an_input_folder_is_refused(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    (folder / "data_batch_1").write_bytes(b"keep")
    with pytest.raises(UsageError, match="input folder"):
        check_output_file(folder / "data_batch_1", inputs=[folder])
    # A new file too: in an image folder it would be a new image or class.
    with pytest.raises(UsageError, match="input folder"):
        check_output_file(folder / "sub" / "new.png", inputs=[folder])
    check_output_file(tmp_path / "new.npz", inputs=[folder])  # beside the folder is fine


def test_unrelated_existing_file_may_be_replaced(tmp_path):
    old = tmp_path / "old.npz"
    old.write_bytes(b"old")
    other = tmp_path / "other.npz"
    other.write_bytes(b"x")
    assert check_output_file(old, inputs=[other, None]) == old
    write_file(old, b"new")
    assert old.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.npz", "other.npz"]  # no temp left


def test_fifo_is_refused_at_write_time_too(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match="FIFO"):
        write_file(fifo, b"x")
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_failed_write_is_rescued_and_named(tmp_path):
    calls = []

    def write(p):
        calls.append(p)
        if len(calls) == 1:
            raise OSError(28, "No space left on device")
        p.write_bytes(b"result")

    with pytest.raises(UsageError, match="No space left on device; the result is saved in") as e:
        write_with(tmp_path / "out.png", write)
    rescue = calls[1]
    assert str(rescue) in str(e.value) and rescue.read_bytes() == b"result"
    assert rescue.suffix == ".png" and rescue.parent != tmp_path
    rescue.unlink()
    assert list(tmp_path.iterdir()) == []


def test_output_dir_checks(tmp_path):
    f = tmp_path / "f"
    f.write_text("")
    with pytest.raises(UsageError, match="is a file, not a folder"):
        check_output_dir(f)
    with pytest.raises(UsageError, match="is a file, not a folder"):
        check_output_dir(f / "sub")
    assert check_output_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_read_only_folder_is_refused(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(UsageError, match="cannot write in"):
            check_output_file(ro / "x.npz")
        with pytest.raises(UsageError, match="cannot write in"):
            check_output_dir(ro / "runs")
    finally:
        ro.chmod(0o700)


def test_train_run_is_rescued_when_its_folder_breaks(tmp_path):
    from noisylabels.train.commands import write_run
    from noisylabels.train.config import TrainConfig

    blocker = tmp_path / "runs"
    blocker.write_text("a file where the run folder should go")
    record = {"run_id": "abc123", "final": {}}
    with pytest.raises(UsageError, match="it is saved in") as e:
        write_run(record, TrainConfig(), blocker)
    saved = Path(str(e.value).rsplit("it is saved in ", 1)[1])
    try:
        assert '"run_id": "abc123"' in (saved / "record.json").read_text()
        assert (saved / "config.yaml").is_file()
    finally:
        shutil.rmtree(saved)


def test_unchecked_file_system_error_is_one_line(monkeypatch, capsys):
    import noisylabels.noise.commands as noise_commands
    from noisylabels.cli import main

    def refused(args):
        raise PermissionError(13, "Permission denied", "/some/file")

    monkeypatch.setattr(noise_commands, "run", refused)
    assert main(["noise"]) == 1
    assert capsys.readouterr().err == "noisylabels noise: error: Permission denied: /some/file\n"
