import json

import pytest
from bench_fakes import fake_runner

import noisylabels.bench.sweep as sweep_mod
from noisylabels.bench.job import BENCH_GRID, bench_grid
from noisylabels.bench.report import load_records
from noisylabels.cli import main


def _have_trainer() -> bool:
    try:
        from noisylabels.methods import build_method  # noqa: F401
        from noisylabels.train import run  # noqa: F401
    except ImportError:
        return False
    return True


def test_bench_grid_is_ce_apl_ciw_on_digits_at_40_percent_over_3_seeds():
    g = BENCH_GRID
    assert (g["base"]["dataset"], g["base"]["noise"]) == ("digits", "symmetric:0.4")
    assert [m["name"] for m in g["methods"]] == ["ce", "nce+rce", "ciw"]
    assert g["seeds"] == [0, 1, 2]
    g2 = bench_grid(epochs=2, seeds=[5])
    assert (g2["base"]["epochs"], g2["seeds"]) == (2, [5])
    assert BENCH_GRID["base"]["epochs"] != 2 or BENCH_GRID["seeds"] != [5]  # not mutated


def test_bench_command_runs_the_grid_prints_the_table_and_resumes(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sweep_mod, "train_runner", fake_runner)
    out = tmp_path / "bench"
    assert main(["bench", "--out", str(out), "--quiet"]) == 0
    stdout = capsys.readouterr().out
    assert "### digits · symmetric noise" in stdout
    # fake: selected = base - 0.5 * 0.4 + 0.01 * seed - 0.02 -> CE 0.58 + {0, .01, .02}
    assert "| CE | 59.00 ± 1.00 |" in stdout
    for name in ("results.jsonl", "results.grid.yaml", "results.meta.json", "report.md",
                 "report.csv", "bench.png"):  # fmt: skip
        assert (out / name).stat().st_size > 0, name
    assert len(load_records(out / "results.jsonl")) == 9
    # Rerun: nothing to train, same table.
    assert main(["bench", "--out", str(out)]) == 0
    cap = capsys.readouterr()
    assert "| CE | 59.00 ± 1.00 |" in cap.out
    assert "0 ok, 0 failed, 9 already finished" in cap.err
    assert len(load_records(out / "results.jsonl")) == 9
    # Other settings: the report only shows the runs of the current grid.
    assert main(["bench", "--out", str(out), "--seeds", "1", "--epochs", "2", "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["seed"] for line in lines] == [0, 0, 0]
    assert "(n=" not in (out / "report.md").read_text()


@pytest.mark.skipif(not _have_trainer(), reason="needs noisylabels.train.run and methods")
def test_real_tiny_sweep_end_to_end(tmp_path, capsys):
    """One real 1-epoch digits run through `noisylabels sweep` and `noisylabels report`."""
    grid = tmp_path / "grid.yaml"
    grid.write_text(
        "base: {dataset: digits, model: mlp, epochs: 2, batch_size: 256, device: cpu}\n"
        "noise: [symmetric:0.4]\n"
        "methods: [{name: ciw, label: CIW}]\n"
        "seeds: [0]\n"
    )
    out = tmp_path / "r.jsonl"
    assert main(["sweep", str(grid), "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["status"] == "ok", summary["error"]
    (rec,) = load_records(out)
    assert rec["status"] == "ok" and rec["label"] == "CIW"
    assert rec["config"]["method"] == "ciw" and len(rec["epochs"]) == 2
    assert 0.0 <= rec["final"]["test_acc_selected"] <= 1.0
    assert rec["noise"]["realised_rate"] == pytest.approx(0.4, abs=0.01)
    assert main(["report", str(out), "--plots", str(tmp_path / "plots")]) == 0
    assert "| CIW |" in capsys.readouterr().out
    assert (tmp_path / "plots" / "curves_digits_symmetric_0.4.png").exists()
