"""Methods as compositions of parts: the typed builder, presets, YAML/CLI forms, user parts."""

import ast
import dataclasses
import json
import math
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest
import torch
import yaml

from noisylabels.bench.grid import expand_grid, load_grid, method_display
from noisylabels.bench.sweep import run_sweep
from noisylabels.cli import main
from noisylabels.errors import UsageError
from noisylabels.methods import METHODS, PRESETS, MethodSpec, build_method, parse_method
from noisylabels.methods.base import MethodContext, StepState
from noisylabels.params import build_params, coerce
from noisylabels.train import TrainConfig, from_dict, run
from noisylabels.weighting import WEIGHTINGS, WeightingPart, weighted_mean
from noisylabels.weighting import base as weighting_base

ROOT = Path(__file__).resolve().parents[2]
CTX = MethodContext(num_classes=3, num_train=40, num_epochs=4, steps_per_epoch=5, noise_rate=0.3)


def make_net():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return torch.nn.Linear(5, 3)


# -- the generic builder ------------------------------------------------------------------------
@dataclass(frozen=True)
class Knobs:
    lam: float = 0.1
    steps: int | None = None
    flag: bool = False
    mode: Literal["soft", "hard"] = "soft"
    label: str = "x"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"lam": "0.5"}, Knobs(lam=0.5)),
        ({"lam": 2}, Knobs(lam=2.0)),
        ({"steps": "3"}, Knobs(steps=3)),
        ({"steps": 4.0}, Knobs(steps=4)),
        ({"steps": "none"}, Knobs(steps=None)),
        ({"flag": "yes"}, Knobs(flag=True)),
        ({"flag": "off"}, Knobs(flag=False)),
        ({"flag": 1}, Knobs(flag=True)),
        ({"mode": "HARD"}, Knobs(mode="hard")),
        ({"label": " y "}, Knobs(label="y")),
    ],
)
def test_builder_converts_values_to_the_field_types(values, expected):
    built = build_params(Knobs, values, what="knobs")
    assert built == expected
    for f in dataclasses.fields(built):
        v = getattr(built, f.name)
        assert v is None or type(v) is type(getattr(expected, f.name))


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"steps": True}, "steps=True must be an integer"),
        ({"lam": True}, "lam=True must be a finite number"),
        ({"lam": "nan"}, "lam='nan' must be a finite number"),
        ({"lam": float("inf")}, "lam=inf must be a finite number"),
        ({"steps": 2.5}, "steps=2.5 must be an integer"),
        ({"flag": "maybe"}, "flag='maybe' must be true or false"),
        ({"mode": "medium"}, "mode='medium' must be one of soft, hard"),
        ({"label": 3}, "label=3 must be a string"),
        ({"lamb": 1}, "unknown parameter lamb; valid: lam, steps, flag, mode, label"),
        ({"a": 1, "b": 2}, "unknown parameters a, b; valid: lam"),
    ],
)
def test_builder_errors_are_one_line_and_name_the_problem(values, match):
    with pytest.raises(UsageError, match=match) as e:
        build_params(Knobs, values, what="knobs")
    assert str(e.value).startswith("knobs: ") and "\n" not in str(e.value)


def test_coerce_refuses_a_bool_for_an_int_but_reads_integral_strings():
    assert coerce("1e3", int, "n") == 1000
    with pytest.raises(UsageError):
        coerce(False, int, "n")


# -- presets -------------------------------------------------------------------------------------
# What each preset is, written out as parts (the preset tables of the docs).
EXPLICIT = {
    "standard": {},
    "confidence": {"weighting": {"name": "confidence", "tau": 0.6, "mode": "soft"}},
    "ciw": {"weighting": {"name": "ciw", "lam": 0.1, "alpha": 0.1}},
    "ciw-m": {
        "weighting": {"name": "ciw", "lam": 10, "alpha": 0.1},
        "mixup": {"name": "label_smoothing_w", "alpha": 0.2},
    },
    "cicw": {"weighting": {"name": "cicw", "lam": 0.1, "cls_div": "kl", "cls_gamma": 0.1}},
    "cicw-m": {
        "weighting": {"name": "cicw", "lam": 2.5, "cls_div": "kl", "cls_gamma": 0.01},
        "mixup": {"name": "sample_weight_w", "alpha": 2, "recompute_weights": True},
    },
    "mixup": {"mixup": {"name": "vanilla", "alpha": 1, "per_sample_lam": False}},
    "dynamic-mixup": {"mixup": {"name": "dynamic", "alpha": 32}},
    "coteaching": {"selection": {"name": "coteaching"}},
}


def test_every_preset_is_covered():
    assert set(EXPLICIT) == set(METHODS.names()) == set(PRESETS)


@pytest.mark.parametrize("name", sorted(EXPLICIT))
def test_preset_expands_to_its_explicit_parts(name):
    spec = parse_method(name)
    explicit = parse_method("standard", EXPLICIT[name])
    assert dataclasses.replace(spec, name="standard") == explicit
    assert from_dict({"method": EXPLICIT[name]}).method_spec == explicit


@pytest.mark.parametrize(
    ("name", "flat", "parts"),
    [
        ("nce+rce", {"alpha": 1, "beta": 1}, {"loss": {"alpha": 1.0, "beta": 1.0}}),
        ("bitempered", {"t1": 0.8, "t2": 1.2}, {"loss": {"t1": 0.8, "t2": 1.2}}),
        ("ciw", {"lam": 0.1}, {"weighting": {"lam": 0.1}}),
        (
            "cicw",
            {"lam": 0.1, "cls_div": "kl", "cls_gamma": 0.01},
            {"weighting": {"lam": 0.1, "cls_div": "kl", "cls_gamma": 0.01}},
        ),
        (
            "confidence",
            {"tau": 0.6, "mode": "soft", "warmup_epochs": 1, "normalize": True},
            {"weighting": {"warmup_epochs": 1, "normalize": True}},
        ),
        (
            "ciw",
            {"ciw_alpha": 1.0, "loss": "gce", "q": 0.5},
            {"weighting": {"alpha": 1}, "loss": {"name": "gce", "q": 0.5}},
        ),
        ("ciw", {"cls_div": "l2"}, {"weighting": {"name": "cicw", "lam": 0.1, "cls_div": "l2"}}),
        ("cicw", {"cls_div": "none"}, {"weighting": {"name": "ciw", "lam": 0.1}}),
        ("standard", {"cls_div": "l1"}, {"weighting": {"name": "class", "cls_div": "l1"}}),
        ("mixup", {"mixup_alpha": 0.4}, {"mixup": {"alpha": 0.4}}),
        ("dynamic-mixup", {"warmup_epochs": 2}, {"mixup": {"warmup_epochs": 2}}),
        ("coteaching", {"forget_rate": 0.2}, {"selection": {"forget_rate": 0.2}}),
    ],
)
def test_flat_preset_params_mean_the_same_as_parts(name, flat, parts):
    assert parse_method(name, flat) == parse_method(name, parts)


def test_flat_and_part_forms_build_the_same_method():
    a = build_method("cicw-m", CTX, make_net, lam=2.5, cls_div="kl", cls_gamma=0.01)
    b = build_method("cicw-m", CTX, make_net, weighting={"lam": 2.5, "cls_gamma": 0.01})
    assert a.hparams() == b.hparams()
    assert a.hparams()["lam"] == 2.5 and a.hparams()["cls_gamma"] == 0.01


def test_loss_parameters_may_share_names_with_weighting_parameters():
    # tau, mode and lam name weighting parameters in the flat form; inside a part they are free.
    spec = parse_method(
        "standard",
        {
            "loss": {"name": "label_smoothing", "eps": 0.2},
            "weighting": {"name": "confidence", "mode": "hard"},
        },
    )
    assert spec.loss.kwargs == {"eps": 0.2} and spec.weighting.params.mode == "hard"
    with pytest.raises(UsageError, match="loss 'gce': unknown parameter tau; valid: q"):
        parse_method("standard", {"loss": {"name": "gce", "tau": 1}})


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("ce", {"tau": 0.5}, "does not use tau .*belongs to weighting confidence"),
        ("ciw", {"lamda": 0.5}, "does not use lamda .*weighting 'ciw' takes lam, alpha"),
        ("ciw", {"lam": 0.2, "weighting": {"lam": 0.3}}, "weighting.lam is given twice"),
        ("ciw", {"weighting": {"lam": "nan"}}, "lam='nan' must be a finite number"),
        ("standard", {"mixup": {"name": "vanilla", "m_pow": 2}}, "unknown parameter m_pow"),
        ("standard", {"selection": "nope"}, "unknown selection 'nope'"),
        ("standard", {"weighting": 3}, "weighting must be a name or a mapping"),
        ("confidence", {"cls_div": "kl"}, "cls_div .* not with weighting 'confidence'"),
        ("coteaching", {"weighting": "ciw"}, "does not combine with weighting 'ciw'"),
        ("dynamic-mixup", {"loss": {"name": "gce"}}, "plain cross entropy"),
        ("standard", {"mixup": "sample_w"}, "guided by sample weights"),
        ("standard", {"loss": {"name": "ce", "reduction": "sum"}}, "reduction is fixed"),
    ],
)
def test_bad_specs_are_one_line_errors(name, params, match):
    with pytest.raises(UsageError, match=match) as e:
        build_method(name, CTX, make_net, **params)
    assert "\n" not in str(e.value)


# -- the spec as part of the config --------------------------------------------------------------
def test_yaml_method_mapping_is_parsed_into_the_config(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(
        "dataset: moons\nmethod:\n  loss: {name: gce, q: 0.7}\n  weighting: {name: ciw, lam: 0.1}\n"
    )
    cfg = from_dict(yaml.safe_load(path.read_text()))
    assert cfg.method == "standard"
    assert cfg.method_params == {
        "loss": {"name": "gce", "q": 0.7},
        "weighting": {"name": "ciw", "lam": 0.1},
    }
    spec = cfg.method_spec
    assert spec.loss.kwargs == {"q": 0.7} and spec.weighting.name == "ciw"
    assert from_dict(cfg.to_dict()) == cfg  # the record's config reads back
    with_preset = from_dict({"method": {"preset": "cicw-m", "loss": "gce"}})
    assert (
        with_preset.method == "cicw-m" and with_preset.method_spec.mixup.name == "sample_weight_w"
    )
    with pytest.raises(UsageError, match="unknown key.*wieghting; valid: preset, loss"):
        from_dict({"method": {"wieghting": "ciw"}})


def test_spec_round_trips_through_a_config_and_pickle():
    spec = parse_method("ciw-m", {"loss": {"name": "gce", "q": 0.6}, "weighting": {"lam": 0.1}})
    cfg = TrainConfig(dataset="moons", method=spec)
    assert cfg.method == "ciw-m" and cfg.method_spec == spec
    assert cfg.replace(seed=4).method_spec == spec
    again = pickle.loads(pickle.dumps(cfg))
    assert again == cfg and "method_spec" not in again.__dict__ and again.method_spec == spec
    assert json.loads(json.dumps(cfg.to_dict()))["method_params"]["mixup"]["margin"] == 0.01


def test_cli_parts_flags(tmp_path, capsys):
    args = ["train", "--dataset", "moons", "--epochs", "1", "--out", str(tmp_path), "--json"]
    assert (
        main(
            [
                *args,
                "--method",
                "ciw",
                "--loss",
                "gce",
                "--set",
                "loss.q=0.7",
                "--set",
                "weighting.lam=0.5",
            ]
        )
        == 0
    )
    rec = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rec["config"]["method"] == "ciw"
    hp = rec["method_hparams"]
    assert (hp["loss"], hp["q"], hp["weighting"], hp["lam"]) == ("gce", 0.7, "ciw", 0.5)
    # --loss on the default method (a loss name) composes on plain cross entropy.
    assert (
        main([*args, "--loss", "gce", "--weighting", "confidence", "--set", "weighting.tau=0.5"])
        == 0
    )
    rec = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rec["config"]["method"] == "standard"
    assert (rec["method_hparams"]["loss"], rec["method_hparams"]["tau"]) == ("gce", 0.5)
    assert main([*args, "--set", "q=1"]) == 2
    assert main([*args, "--loss", "gce", "--set", "loss.tau=1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "PART.KEY=VALUE" in err[0] and "unknown parameter tau; valid: q" in err[1]


def test_cli_flags_change_the_parts_of_a_yaml_method(tmp_path, capsys):
    cfg = tmp_path / "run.yaml"
    cfg.write_text(
        "dataset: moons\nepochs: 1\n"
        "method: {loss: {name: gce, q: 0.7}, weighting: {name: ciw, lam: 0.1}}\n"
    )
    args = ["train", "--config", str(cfg), "--out", str(tmp_path), "--json"]
    assert main([*args, "--set", "weighting.lam=0.3", "--set", "weighting.burnin_steps=0"]) == 0
    hp = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["method_hparams"]
    assert (hp["loss"], hp["q"], hp["lam"], hp["burnin_steps"]) == ("gce", 0.7, 0.3, 0)
    # Naming another part replaces it, with the parameters of the old one dropped.
    assert main([*args, "--weighting", "confidence", "--loss", "sce"]) == 0
    hp = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["method_hparams"]
    assert (hp["loss"], hp["weighting"], hp["tau"]) == ("sce", "confidence", 0.6)
    assert "q" not in hp and "lam" not in hp


def test_report_names_a_parts_method_by_its_parts():
    cfg = from_dict({"method": {"loss": {"name": "gce", "q": 0.7}, "weighting": "ciw"}})
    assert method_display(cfg) == "standard (loss=gce(q=0.7), weighting=ciw)"
    assert method_display({"method": "nce+rce", "method_params": {"alpha": 1.0, "beta": 1}}) == (
        "nce+rce (alpha=1, beta=1)"
    )


# -- a user-registered weighting -----------------------------------------------------------------
class HalfWeights:
    """Weight 2 on the lower-loss half of a batch and 0 on the rest (mean 1)."""

    name = "test-halves"

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def active(self, state):
        return True

    def weights(self, losses, state, logits=None, target=None):
        low = losses <= losses.median()
        return low.to(losses.dtype) * self.scale

    def extras(self, state):
        return {}

    def hparams(self):
        return {"scale": self.scale}


@pytest.fixture
def halves():
    @dataclass(frozen=True)
    class HalvesPart(WeightingPart):
        scale: float = 2.0

        def build(self, ctx):
            return HalfWeights(self.scale)

    WEIGHTINGS.register("test-halves")(HalvesPart)
    yield HalvesPart
    WEIGHTINGS._items.pop("test-halves")
    WEIGHTINGS._help.pop("test-halves")


def test_user_weighting_is_used_by_the_step(halves):
    m = build_method("standard", CTX, make_net, weighting={"name": "test-halves", "scale": "3"})
    x = torch.randn(8, 5, generator=torch.Generator().manual_seed(1))
    y = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    from noisylabels.methods.base import Batch

    out = m.step(Batch(x, y, torch.arange(8)), StepState(0, 0, 4, 5))
    per = out.per_sample_loss
    ref = ((per <= per.median()).double() * 3.0 * per.double()).mean()
    assert math.isclose(out.loss.item(), ref.item(), rel_tol=1e-6)
    assert m.hparams()["weighting"] == "test-halves" and m.hparams()["scale"] == 3.0


def test_user_weighting_in_run_and_in_a_sweep_grid(halves, tmp_path):
    method = {"loss": {"name": "gce", "q": 0.7}, "weighting": {"name": "test-halves"}}
    rec = run(TrainConfig(dataset="moons", epochs=1, method=method))
    assert rec["status"] == "ok" and rec["method_hparams"]["weighting"] == "test-halves"
    grid = {
        "base": {"dataset": "moons", "epochs": 1},
        "methods": [
            {"weighting": {"name": "test-halves", "scale": 1.5}, "label": "halves"},
            {"name": "ciw", "weighting": {"lam": 0.5}},
        ],
        "seeds": [0],
    }
    runs = expand_grid(grid)
    assert [r.config.method for r in runs] == ["standard", "ciw"]
    out = tmp_path / "r.jsonl"
    run_sweep(runs, out, progress="quiet")
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["status"] for r in recs] == ["ok", "ok"]
    assert recs[0]["method_hparams"]["scale"] == 1.5 and recs[1]["method_hparams"]["lam"] == 0.5


# -- committed grids and results -----------------------------------------------------------------
@pytest.mark.parametrize(
    "path", sorted((ROOT / "benchmarks" / "grids").glob("*.yaml")), ids=lambda p: p.name
)
def test_every_committed_grid_expands(path):
    runs = expand_grid(load_grid(path), where=path.name)
    assert runs
    for r in runs:
        assert isinstance(r.config.method_spec, MethodSpec)


def test_every_committed_result_names_a_method_that_parses():
    seen = set()
    for path in sorted((ROOT / "benchmarks" / "results").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            try:
                cfg = json.loads(line).get("config")
            except json.JSONDecodeError:
                continue  # a torn line
            if not cfg or cfg.get("method") is None:
                continue
            key = (cfg["method"], json.dumps(cfg.get("method_params") or {}, sort_keys=True))
            if key not in seen:
                seen.add(key)
                parse_method(cfg["method"], cfg.get("method_params"))
    assert len(seen) >= 10


# -- the weighting contract ----------------------------------------------------------------------
def test_weighting_package_does_not_import_methods():
    for path in (ROOT / "src" / "noisylabels" / "weighting").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("noisylabels.methods"), path.name


def test_step_state_is_one_class_and_weighted_mean_matches_a_loop():
    from noisylabels.methods import base as methods_base

    assert methods_base.StepState is weighting_base.StepState
    assert methods_base.MethodContext is weighting_base.MethodContext
    per = torch.tensor([0.5, 2.0, 1.0], dtype=torch.float64)
    w = torch.tensor([1.0, 0.0, 2.0], dtype=torch.float32)
    assert weighted_mean(per, w).item() == pytest.approx((0.5 * 1 + 0 + 1.0 * 2) / 3)
    assert weighted_mean(per, None).item() == pytest.approx(3.5 / 3)
