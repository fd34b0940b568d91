import re

import numpy as np
import pytest

from noisylabels.cli import main
from noisylabels.noise import NoisyLabels


def test_default_runs_on_digits(capsys):
    assert main(["noise"]) == 0
    out = capsys.readouterr().out
    assert "symmetric:0.4" in out and "digits" in out
    rate = float(re.search(r"realised noise rate: ([0-9.]+)", out).group(1))
    assert abs(rate - 0.4) < 10 / 1438  # per-class rounding of round(0.4 * n_c)
    assert "T realised" in out


def test_writes_file_byte_identical(tmp_path, capsys):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    args = ["noise", "--dataset", "digits", "--kind", "pairflip", "--rate", "0.3", "--seed", "4"]
    assert main([*args, "--out", str(a)]) == 0
    assert main([*args, "--out", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()
    res = NoisyLabels.load(a)
    assert str(res.spec) == "pairflip:0.3" and res.spec.seed == 4
    assert f"wrote {a}" in capsys.readouterr().out
    # show a saved file
    assert main(["noise", "--kind", f"file:{a}"]) == 0
    assert "pairflip:0.3" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra",
    [
        ["--kind", "uniform:0.5", "--sampling", "iid"],
        ["--kind", "instance", "--rate", "0.3"],
        ["--kind", "clean"],
    ],
)
def test_other_kinds(extra, capsys):
    assert main(["noise", *extra]) == 0
    assert "realised noise rate" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra,match",
    [
        (["--kind", "asymmetric", "--rate", "0.3"], "cifar10, cifar100, mnist"),
        (["--kind", "symmetric", "--rate", "1.5"], r"\[0, 1\]"),
        (["--kind", "symmetric", "--rate", "0.9"], "independent"),
        (["--kind", "pairflip", "--rate", "0.5"], "below 0.5"),
        (["--kind", "symmetric"], "--rate"),
        (["--kind", "nonsense", "--rate", "0.1"], "choose one of"),
        (["--kind", "cifar10n-worst"], "cifar10"),
        (["--kind", "cifar10n-worst", "--rate", "0.2"], "takes no"),
    ],
)
def test_bad_input_exit_2_one_line(extra, match, capsys):
    assert main(["noise", *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert re.search(match, err)


def test_wrong_file_for_dataset(tmp_path, capsys):
    from noisylabels.noise import corrupt

    path = corrupt(np.arange(50) % 10, "symmetric:0.2", num_classes=10).save(tmp_path / "x.npz")
    assert main(["noise", "--kind", f"file:{path}"]) == 2
    err = capsys.readouterr().err
    assert "50 labels" in err and "1438" in err


def test_summary_for_many_classes():
    from noisylabels.data.classes import CIFAR100_CLASSES, asymmetric_map
    from noisylabels.noise.commands import format_T
    from noisylabels.noise.matrices import asymmetric_T

    lines = format_T(asymmetric_T(asymmetric_map("cifar100"), 0.4), CIFAR100_CLASSES)
    assert "diagonal" in lines[0] and len(lines) <= 13
    assert any("apple ->" in line for line in lines)
