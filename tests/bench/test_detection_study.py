"""benchmarks/detection_study.py: the target check, the retraining sets, one tiny row end to end."""

import json

import numpy as np
import pytest
from bench_scripts import load_script

from noisylabels.detect.core import find_label_issues


def test_cleanlab_metrics_use_its_default_filter():
    pytest.importorskip("cleanlab")
    from cleanlab.filter import find_label_issues as cl_find

    study = load_script("detection_study")
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(3), size=60)
    y = rng.integers(0, 3, 60)
    y[:3] = [0, 1, 2]
    flipped = rng.random(60) < 0.3
    m = study.cleanlab_metrics(p, y, flipped)
    assert m["num_flagged"] == int(cl_find(labels=y, pred_probs=p).sum())


def _m(f1, ap):
    return {"f1": f1, "average_precision": ap}


def test_target_check_takes_best_f1_and_best_ap_separately():
    study = load_script("detection_study")
    row = {
        "sources": {
            "ce": {"detectors": {"cl": _m(0.80, 0.70), "aum": _m(0.75, 0.90)},
                   "cleanlab": _m(0.78, 0.85)},
            "gce": {"detectors": {"cl": _m(0.70, 0.60)}, "cleanlab": _m(0.99, 0.99)},
        }
    }  # fmt: skip
    t = study.target_check(row)
    # By hand: best F1 0.80 (ce/cl) > 0.78; best AP 0.90 (ce/aum) > 0.85; only ce/aum... no:
    # ce/cl has AP 0.70 < 0.85 and ce/aum F1 0.75 < 0.78, so no single detector beats both.
    assert (t["best_f1"], t["best_f1_by"], t["holds_f1"]) == (0.80, "ce/cl", True)
    assert (t["best_ap"], t["best_ap_by"], t["holds_ap"]) == (0.90, "ce/aum", True)
    assert t["both"] == []
    row["sources"]["ce"]["cleanlab"] = _m(0.85, 0.95)
    t = study.target_check(row)
    assert not t["holds_f1"] and not t["holds_ap"]
    row["sources"]["ce"]["cleanlab"] = None
    assert study.target_check(row) is None


def test_retrain_variants_prune_relabel_and_references():
    study = load_script("detection_study")
    p = np.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.3, 0.7], [0.9, 0.1], [0.45, 0.55]])
    given = np.array([0, 0, 1, 1, 1, 0])
    clean = np.array([0, 1, 1, 1, 0, 0])
    det = find_label_issues(p, given)
    flagged = np.array([False, False, False, False, True, True])
    det.flagged["mine"] = flagged
    v = study.retrain_variants({"ce": det}, ["ce/mine"], clean, why=True)
    keep, y = v["prune ce/mine"]
    assert keep.tolist() == (~flagged).tolist() and y.tolist() == given.tolist()
    keep, y = v["relabel ce/mine"]
    # Flagged rows 4 and 5 take their argmax (0, prob 0.9; 1, prob 0.55 >= 0.5).
    assert keep.all() and y.tolist() == [0, 0, 1, 1, 0, 1]
    assert v["prune the true flips (reference)"][0].tolist() == [1, 0, 1, 1, 0, 1]
    assert v["true labels (reference)"][1].tolist() == clean.tolist()
    # Flips are rows 1 and 4; the cut catches 4 (missed 1) and wrongly takes 5.
    assert v["prune the true flips and ce/mine's false positives"][0].tolist() == [1, 0, 1, 1, 0, 0]
    assert v["prune the true flips except those ce/mine missed"][0].tolist() == [1, 1, 1, 1, 0, 1]
    with pytest.raises(SystemExit, match="no such source/detector"):
        study.retrain_variants({"ce": det}, ["gce/cl"], clean)


def test_parse_method():
    study = load_script("detection_study")
    assert study.parse_method("ce") == ("ce", {})
    assert study.parse_method("ciw:lam=0.1,loss=gce") == ("ciw", {"lam": 0.1, "loss": "gce"})


def test_study_one_row_and_resume(tmp_path, capsys, monkeypatch):
    study = load_script("detection_study")
    out = tmp_path / "s.json"
    argv = ["--dataset", "digits", "--rows", "symmetric:0.3", "--methods", "ce", "--folds", "2",
            "--epochs", "2", "--lr", "0.2", "--retrain", "--out", str(out)]  # fmt: skip
    assert study.main(argv) == 0
    res = json.loads(out.read_text())
    row = res["rows"][0]
    src = row["sources"]["ce"]
    assert {"cl", "self_confidence", "normalized_margin"} <= set(src["detectors"])
    per = row["retrain"]["methods"]["ce"]
    assert per["all labels"]["num_train"] == 1438 == per["true labels (reference)"]["num_train"]
    assert per["true labels (reference)"]["num_wrong"] == 0
    pruned = per["prune ce/cl"]
    assert pruned["num_train"] == 1438 - src["detectors"]["cl"]["num_flagged"]
    # The same number of SGD steps: epochs scaled by all / kept.
    assert pruned["epochs"] == round(2 * 1438 / pruned["num_train"])
    text = capsys.readouterr().out
    assert "| ce | cl |" in text and "| prune ce/cl |" in text
    if src["cleanlab"] is not None:
        assert src["cleanlab"]["num_flipped"] == src["detectors"]["cl"]["num_flipped"]
        assert row["target"]["cleanlab_f1"] == src["cleanlab"]["f1"]
    # Same settings: the row is taken from the file, nothing is trained again.
    monkeypatch.setattr(study, "study_row", lambda *a, **k: pytest.fail("row recomputed"))
    assert study.main(argv) == 0
    assert json.loads(out.read_text())["rows"] == res["rows"]
