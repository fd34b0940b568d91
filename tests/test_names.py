"""The torch-free name lists used by `--help` equal the registries; --help imports no torch."""

from __future__ import annotations

import json
import subprocess
import sys

from noisylabels import names

_REGISTRIES = """
import json
from noisylabels.data import DATASETS
from noisylabels.losses import LOSSES
from noisylabels.methods.registry import METHODS
from noisylabels.models import MODELS
print(json.dumps({k: sorted(r.names()) for k, r in
                  dict(DATASETS=DATASETS, LOSSES=LOSSES, METHODS=METHODS, MODELS=MODELS).items()}))
"""


def test_names_match_the_registries():
    # A fresh process: tests in this one may have registered extra entries.
    out = subprocess.run(
        [sys.executable, "-c", _REGISTRIES], capture_output=True, text=True, check=True
    ).stdout
    for what, builtin in json.loads(out.strip().splitlines()[-1]).items():
        copy = sorted(getattr(names, what))
        assert copy == builtin, f"update noisylabels/names.py: {what} are {builtin}"


_PROBE = """
import sys
from noisylabels.cli import build_parser
for argv in ({argvs}):
    try:
        build_parser().parse_args(argv)
    except SystemExit as e:
        assert e.code == 0, (argv, e.code)
heavy = sorted(m for m in ("torch", "matplotlib", "pandas", "sklearn") if m in sys.modules)
print("HEAVY:" + ",".join(heavy))
"""


def test_help_and_version_import_no_torch():
    argvs = [["--help"], ["--version"]] + [
        [cmd, "--help"]
        for cmd in ("train", "noise", "sweep", "report", "bench", "moons", "datasets", "detect")
    ]
    code = _PROBE.format(argvs=", ".join(map(repr, argvs)))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "HEAVY:"


def test_train_help_lists_the_names(capsys):
    import pytest

    from noisylabels.cli import main

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    # argparse wraps long lines at hyphens too ("report-dynamic-\nweight-ce")
    text = text.replace("- ", "-")
    for name in (*names.METHODS, *names.LOSSES, *names.MODELS, *names.DATASETS):
        assert name in text
    for kind in ("symmetric", "pairflip", "cifar10n-worst"):
        assert kind in text
    assert "Peak learning rate" in text
    assert ":mod:" not in text and ":class:" not in text and "``" not in text  # plain help
