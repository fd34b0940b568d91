import pytest
import yaml

from noisylabels.bench.grid import EXAMPLE_GRID, expand_grid, load_grid, normalise_grid
from noisylabels.cli import main
from noisylabels.errors import UsageError
from noisylabels.train import run_id
from noisylabels.train.config import TrainConfig

GRID = {
    "base": {"epochs": 2, "batch_size": 32, "model": "mlp", "lr": 0.1},
    "datasets": ["digits", "moons"],
    "noise": ["clean", "symmetric:0.4"],
    "methods": [
        "ce",
        {"name": "nce+rce", "alpha": 1, "beta": 2, "label": "APL NCE+RCE"},
        {"name": "ciw", "label": "CIW", "config": {"lr": 0.02}},
    ],
    "seeds": [0, 1],
    "overrides": {"moons": {"batch_size": 64, "lr": 0.3}},
}


def no_check(cfg):
    pass


def test_expansion_is_the_product_seed_major_with_precedence():
    runs = expand_grid(GRID, check=no_check)
    assert len(runs) == 2 * 2 * 3 * 2
    assert [r.config.seed for r in runs] == [0] * 12 + [1] * 12
    assert len({r.run_id for r in runs}) == len(runs)
    assert all(r.run_id == run_id(r.config) for r in runs)
    by = {(r.config.dataset, r.config.noise, r.config.method, r.config.seed): r for r in runs}
    ce = by[("digits", "clean", "ce", 0)]
    assert (ce.config.epochs, ce.config.batch_size, ce.config.lr, ce.label) == (2, 32, 0.1, None)
    apl = by[("moons", "symmetric:0.4", "nce+rce", 1)]
    assert apl.config.method_params == {"alpha": 1, "beta": 2}
    assert apl.label == "APL NCE+RCE"
    assert (apl.config.batch_size, apl.config.lr) == (64, 0.3)  # dataset override beats base
    ciw = by[("moons", "clean", "ciw", 0)]
    assert (ciw.config.batch_size, ciw.config.lr) == (64, 0.02)  # method config beats override
    assert ciw.describe() == "moons clean CIW seed=0"


def test_absent_axes_come_from_base_and_models_axis():
    runs = expand_grid({"base": {"dataset": "moons", "seed": 5}, "models": ["mlp"]}, check=no_check)
    assert [(r.config.dataset, r.config.seed, r.config.model) for r in runs] == [
        ("moons", 5, "mlp")
    ]
    assert expand_grid({}, check=no_check)[0].config == TrainConfig()


def test_example_grid_in_docs_expands():
    runs = expand_grid(yaml.safe_load(EXAMPLE_GRID), check=no_check)
    assert len(runs) == 3 * 3 * 3
    assert {r.label for r in runs} == {None, "APL NCE+RCE", "CIW"}


def test_normalised_grid_expands_to_the_same_runs(tmp_path):
    g = normalise_grid(GRID)
    path = tmp_path / "g.yaml"
    path.write_text(yaml.safe_dump(g))
    again = expand_grid(load_grid(path), check=no_check)
    assert [r.run_id for r in again] == [r.run_id for r in expand_grid(GRID, check=no_check)]
    assert [r.label for r in again] == [r.label for r in expand_grid(GRID, check=no_check)]


@pytest.mark.parametrize(
    ("grid", "expected"),
    [
        ({"bogus": 1}, "unknown key(s) bogus"),
        ({"base": {"epoch": 3}}, "g: base: unknown key(s) epoch"),
        ({"base": {"epochs": 0}}, "g: base: epochs must be >= 1"),
        ({"base": {"epochs": "many"}}, "epochs='many' has the wrong type"),
        ({"methods": [{"name": "ce", "config": {"lr": -1}}]}, "methods[0] (ce) config: lr"),
        ({"methods": [{"name": "ce", "config": {"lrr": 1}}]}, "methods[0] (ce) config: unknown"),
        ({"methods": [{"alpha": 1}]}, "methods[0]: a method mapping needs a 'name'"),
        ({"methods": [{"name": "ce", "config": {"seed": 1}}]}, "may not set seed"),
        ({"methods": ["ce", "ce"]}, "have the same config"),
        ({"seeds": [0, "one"]}, "seeds must be a list of integers"),
        ({"seeds": [0, 0]}, "seed is listed twice"),
        ({"noise": ["symmetric:1.4"]}, "rate 1.4 is outside the valid range [0, 1]"),
        ({"noise": ["symmetric:abc"]}, "is not a number"),
        ({"noise": []}, "noise is an empty list"),
        ({"datasets": ["digits"], "overrides": {"mnist": {"epochs": 1}}}, "overrides.mnist"),
        ({"base": {"model": "resnet-9000"}}, "unknown model 'resnet-9000'"),
    ],
)
def test_bad_grids_fail_fast_with_one_line(grid, expected):
    with pytest.raises(UsageError) as e:
        expand_grid(grid, "g")
    msg = str(e.value)
    assert expected in msg
    assert "\n" not in msg


def test_unknown_model_names_the_offending_run():
    grid = {"datasets": ["digits"], "models": ["mlp", "nope"], "seeds": [0, 1]}
    with pytest.raises(UsageError, match=r"g: run \(dataset=digits, .*model=nope, seed=0\)"):
        expand_grid(grid, "g")


def test_unknown_dataset_is_rejected_before_any_run():
    pytest.importorskip("noisylabels.data", reason="dataset registry")
    with pytest.raises(UsageError, match="no-such-data"):
        expand_grid({"datasets": ["digits", "no-such-data"]}, "g")


def test_unknown_method_is_rejected_before_any_run():
    methods = pytest.importorskip("noisylabels.methods")
    if not hasattr(methods, "build_method"):
        pytest.skip("noisylabels.methods.build_method is not written yet")
    with pytest.raises(UsageError, match="no-such-method"):
        expand_grid({"methods": ["ce", "no-such-method"]}, "g")
    with pytest.raises(UsageError, match=r"g: run \(.*method=ciw, method_params=.*lamda"):
        expand_grid({"methods": ["ce", {"name": "ciw", "lamda": 0.1}]}, "g")


def test_bad_yaml_via_cli_is_one_line_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("base:\n  epochs: 3\n methods: [ce\n")
    code = main(["sweep", str(bad), "--out", str(tmp_path / "r.jsonl")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert "bad YAML in grid" in err and "line" in err
    assert not (tmp_path / "r.jsonl").exists()


def test_grid_that_is_not_a_mapping(tmp_path):
    p = tmp_path / "list.yaml"
    p.write_text("- ce\n- ciw\n")
    with pytest.raises(UsageError, match="expected a mapping"):
        load_grid(p)
    with pytest.raises(UsageError, match="cannot read grid"):
        load_grid(tmp_path / "missing.yaml")


@pytest.mark.parametrize("seeds", [3, 0])
def test_bare_number_of_seeds_is_ambiguous(seeds):
    both = rf"seeds: \[{seeds}\] for seed {seeds} alone, or seeds: \[0, 1, 2\]"
    with pytest.raises(UsageError, match=both):
        normalise_grid({"methods": ["ce"], "seeds": seeds})
