import json

import numpy as np
from bench_fakes import fake_record

from noisylabels.bench.grid import expand_grid
from noisylabels.bench.plots import plot_overview, write_plots
from noisylabels.bench.report import summarise
from noisylabels.cli import main

GRID = {
    "base": {"epochs": 3, "model": "mlp"},
    "noise": ["clean", "symmetric:0.2", "symmetric:0.4", "asymmetric:0.3"],
    "methods": ["ce", {"name": "nce+rce", "label": "APL NCE+RCE"}, {"name": "ciw", "label": "CIW"}],
    "seeds": [0, 1],
}


def records():
    out = []
    for spec in expand_grid(GRID, check=lambda c: None):
        r = fake_record(spec.config)
        r["label"] = spec.label
        out.append(r)
    return out


def test_write_plots_writes_every_kind(tmp_path):
    recs = records()
    tables = summarise(recs, "selected")
    paths = write_plots(recs, tables, tmp_path)
    names = sorted(p.name for p in paths)
    assert "acc_digits_symmetric.png" in names
    assert "acc_digits_asymmetric.png" in names
    assert sum(n.startswith("curves_") for n in names) == 4
    # Only CIW records carry weights: one weight figure per noise setting.
    assert sum(n.startswith("weights_") for n in names) == 4
    for p in paths:
        assert p.exists() and p.stat().st_size > 5000
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_curves_for_limits_settings_and_overview(tmp_path):
    recs = records()
    tables = summarise(recs, "last")
    paths = write_plots(recs, tables, tmp_path, curves_for=["symmetric:0.4"])
    assert sorted(p.name for p in paths if not p.name.startswith("acc_")) == [
        "curves_digits_symmetric_0.4.png",
        "weights_digits_symmetric_0.4.png",
    ]
    p = plot_overview(recs, tables[0], "symmetric:0.4", tmp_path / "bench.png")
    assert p.stat().st_size > 5000
    # An alias names the same setting (the spec is parsed as the tables parse it).
    alias = write_plots(recs, tables, tmp_path / "alias", curves_for=["sym:0.4"])
    assert sorted(p.name for p in alias if p.name.startswith("curves_")) == [
        "curves_digits_symmetric_0.4.png"
    ]


def test_cli_report_plots(tmp_path, capsys):
    res = tmp_path / "r.jsonl"
    res.write_text("".join(json.dumps(r) + "\n" for r in records()))
    assert main(["report", str(res), "--plots", str(tmp_path / "plots")]) == 0
    assert "wrote 10 plot(s)" in capsys.readouterr().err
    assert len(list((tmp_path / "plots").glob("*.png"))) == 10


def test_methods_past_the_tenth_get_their_own_look(tmp_path):
    from noisylabels.bench.plots import _Colors

    colors = _Colors()
    looks = [(*colors.style(f"m{i}").values(), colors.hatch(f"m{i}")) for i in range(12)]
    assert len(set(looks)) == 12  # colours repeat after 10, line style/marker/hatch do not
    assert colors("m10") == colors("m0") and colors.style("m10") != colors.style("m0")
    methods = [
        {"name": "ce", "label": f"CE {i}", "config": {"lr": 0.01 * (i + 1)}} for i in range(12)
    ]
    grid = dict(GRID, methods=methods, seeds=[0])
    recs = []
    for spec in expand_grid(grid, check=lambda c: None):
        r = fake_record(spec.config)
        r["label"] = spec.label
        recs.append(r)
    paths = write_plots(recs, summarise(recs, "selected"), tmp_path, curves_for=["symmetric:0.4"])
    assert all(p.stat().st_size > 5000 for p in paths)


def test_runs_scored_only_at_selected_epochs_draw_no_test_curve(tmp_path):
    from noisylabels.bench.plots import _curves, plot_learning_curves

    recs = records()
    for r in recs:
        if r["config"]["method"] == "ciw":  # as test_eval: selected writes them
            for e in r["epochs"][:-1]:
                e["test_acc"] = None
    curves = _curves(recs, "digits", "symmetric:0.4")
    assert np.isnan(curves["CIW"]["test_acc"]).all()
    assert np.isfinite(curves["CIW"]["val_acc_noisy"]).all()
    assert np.isfinite(curves["ce"]["test_acc"]).all()
    for r in recs:
        for e in r["epochs"][:-1]:
            e["test_acc"] = None
    p = plot_learning_curves(recs, "digits", "symmetric:0.4", tmp_path / "c.png")
    assert p is not None and p.stat().st_size > 5000
