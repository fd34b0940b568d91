"""``noisylabels detect`` end to end on digits."""

import csv
import json

import numpy as np
import pytest

from noisylabels.cli import main


def test_detect_cli_digits_writes_ranked_outputs(tmp_path, capsys):
    out = tmp_path / "det"
    code = main([
        "detect", "--dataset", "digits", "--noise", "symmetric:0.3", "--folds", "2",
        "--epochs", "3", "--lr", "0.2", "--method", "ce", "--device", "cpu", "--quiet",
        "--out", str(out),
    ])  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    assert "estimated noise rate" in text and "realised 30.18%" in text
    probs = np.load(out / "pred_probs.npy")
    assert probs.shape == (1438, 10)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-6)
    rows = list(csv.DictReader(open(out / "issues.csv")))
    assert len(rows) == 1438
    assert sorted(int(r["index"]) for r in rows) == list(range(1438))
    assert [int(r["rank"]) for r in rows] == list(range(1, 1439))
    flagged = [int(r["flagged"]) for r in rows]
    assert flagged == sorted(flagged, reverse=True)  # the flagged set comes first
    assert all(int(r["flipped"]) == int(r["true_label"] != r["given_label"]) for r in rows)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["num_flagged"] == sum(flagged)
    assert summary["noise"]["realised_rate"] == pytest.approx(0.3, abs=0.005)
    est = np.array(summary["estimate"]["transition"])
    np.testing.assert_allclose(est.sum(1), 1.0, atol=1e-3)
    assert np.array(summary["noise"]["T_realised"]).shape == (10, 10)
    m = summary["metrics"]["cl"]
    # Far better than chance (precision 0.3) even with this tiny budget.
    assert m["precision"] > 0.5 and m["auroc"] > 0.7
    assert (out / "suspects.png").stat().st_size > 0 and (out / "pr_curve.png").stat().st_size > 0
    assert summary["fold_sizes"] == [719, 719]


def test_detect_cli_too_many_folds_is_exit_2(tmp_path, capsys):
    code = main(["detect", "--dataset", "digits", "--folds", "1000", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "fewer than the 1000 folds" in err
