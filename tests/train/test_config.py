import pytest

from noisylabels.cli import main
from noisylabels.errors import UsageError
from noisylabels.train.commands import parse_params
from noisylabels.train.config import TrainConfig, from_dict, load_yaml


def test_defaults_validate_and_round_trip():
    cfg = TrainConfig()
    assert from_dict(cfg.to_dict()) == cfg
    assert cfg.replace(epochs=3).epochs == 3


def test_unknown_key_is_one_line_error():
    with pytest.raises(UsageError, match="unknown key.*epoch\\b"):
        from_dict({"epoch": 3})


@pytest.mark.parametrize(
    ("key", "value", "msg"),
    [
        ("epochs", 0, "epochs must be >= 1"),
        ("val_fraction", 1.0, "val_fraction"),
        ("optimizer", "lbfgs", "unknown optimizer"),
        ("schedule", "linear", "unknown schedule"),
        ("epochs", "three", "wrong type"),
        ("amp", "maybe", "wrong type"),
    ],
)
def test_bad_values(key, value, msg):
    with pytest.raises(UsageError, match=msg):
        from_dict({key: value})


def test_bad_yaml_reports_line(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("epochs: 3\nmethod: [ce\n")
    with pytest.raises(UsageError, match=r"bad YAML in .*bad.yaml at line \d+"):
        load_yaml(p)
    p.write_text("- 1\n- 2\n")
    with pytest.raises(UsageError, match="expected a mapping"):
        load_yaml(p)


def test_cli_bad_yaml_exit_code_2(tmp_path, capsys):
    p = tmp_path / "bad.yaml"
    p.write_text("epochs: [\n")
    assert main(["train", "--config", str(p), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "bad YAML" in err


def test_parse_params():
    assert parse_params(["alpha=1", "beta=0.5", "mode=soft", "flag=true"]) == {
        "alpha": 1,
        "beta": 0.5,
        "mode": "soft",
        "flag": True,
    }
    with pytest.raises(UsageError, match="KEY=VALUE"):
        parse_params(["alpha"])
