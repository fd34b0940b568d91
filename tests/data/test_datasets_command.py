"""`noisylabels datasets` through noisylabels.cli.main."""

from __future__ import annotations

import pytest

from noisylabels.cli import main
from noisylabels.data import readers


def _rows(out: str) -> dict[str, list[str]]:
    lines = out.strip().splitlines()
    assert lines[0].split()[:3] == ["dataset", "found", "train"]
    return {line.split()[0]: line.split() for line in lines[1:]}


def test_lists_every_dataset_with_where_and_sizes(isolated, fakes, capsys):
    fakes.write_cifar_npz(isolated.root / "cifar10.npz", fakes.cifar_arrays())
    fakes.write_mnist_idx(isolated.debian / "fashion-mnist", fakes.mnist_arrays(n_train=40))
    assert main(["datasets", "--root", str(isolated.root)]) == 0
    rows = _rows(capsys.readouterr().out)
    assert sorted(rows) == ["cifar10", "cifar100", "digits", "fashion-mnist", "mnist", "moons"]
    assert rows["cifar10"][1:6] == ["yes", "30", "6", "3x32x32", "10"]
    assert str(isolated.root / "cifar10.npz") in rows["cifar10"]
    assert rows["fashion-mnist"][1:4] == ["yes", "40", "12"]
    assert str(isolated.debian / "fashion-mnist") in rows["fashion-mnist"]
    assert rows["mnist"][1:4] == ["no", "-", "-"] and "not" in rows["mnist"]
    assert rows["cifar100"][5] == "100"
    assert rows["digits"][1:4] == ["yes", "1438", "359"]
    assert rows["moons"][4] == "2"


def test_listing_decodes_nothing(isolated, fakes, capsys, monkeypatch):
    fakes.write_cifar_npz(isolated.root / "cifar10.npz", fakes.cifar_arrays())
    fakes.write_mnist_idx(isolated.root / "mnist", fakes.mnist_arrays())
    fakes.write_cifar10_folder(isolated.root / "cifar10", fakes.cifar_arrays())

    def boom(*args, **kw):
        raise AssertionError("the listing must not decode data")

    for name in ("read_npz", "read_idx", "read_cifar_batch", "read_cifar_tar", "read_cifar_folder"):
        monkeypatch.setattr(readers, name, boom)
    assert main(["datasets", "--root", str(isolated.root)]) == 0
    rows = _rows(capsys.readouterr().out)
    assert rows["cifar10"][1] == "yes" and rows["mnist"][1:4] == ["yes", "30", "12"]


def test_broken_file_is_shown_not_raised(isolated, capsys):
    (isolated.root / "cifar10.npz").write_bytes(b"junk")
    assert main(["datasets", "--root", str(isolated.root)]) == 0
    rows = _rows(capsys.readouterr().out)
    assert rows["cifar10"][1] == "BROKEN"


def test_missing_root_is_a_usage_error(isolated, capsys):
    assert main(["datasets", "--root", str(isolated.tmp / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such folder" in err


@pytest.mark.parametrize("argv", [["datasets", "--help"]])
def test_help(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 0
    assert "NOISYLABELS_DATA" in capsys.readouterr().out
