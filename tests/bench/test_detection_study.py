"""benchmarks/detection_study.py: one tiny row end to end, beside cleanlab when installed."""

import json

import numpy as np
import pytest
from bench_scripts import load_script

pytest.importorskip("cleanlab")


def test_cleanlab_metrics_use_its_default_filter():
    from cleanlab.filter import find_label_issues

    study = load_script("detection_study")
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(3), size=60)
    y = rng.integers(0, 3, 60)
    y[:3] = [0, 1, 2]
    flipped = rng.random(60) < 0.3
    m = study.cleanlab_metrics(p, y, flipped)
    assert m["num_flagged"] == int(find_label_issues(labels=y, pred_probs=p).sum())


def test_study_one_row(tmp_path, capsys):
    study = load_script("detection_study")
    out = tmp_path / "s.json"
    assert study.main(["--dataset", "digits", "--rows", "symmetric:0.3", "--methods", "ce",
                       "--folds", "2", "--epochs", "2", "--lr", "0.2", "--retrain",
                       "--out", str(out)]) == 0  # fmt: skip
    res = json.loads(out.read_text())
    src = res["rows"][0]["sources"]["ce"]
    assert {"cl", "self_confidence", "normalized_margin"} <= set(src["detectors"])
    assert src["cleanlab"]["num_flipped"] == src["detectors"]["cl"]["num_flipped"]
    r = res["rows"][0]["retrain"]
    assert r["pruned_num_train"] < r["all_num_train"] == 1438
    assert "| ce | cl |" in capsys.readouterr().out
