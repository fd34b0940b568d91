"""benchmarks/speed_target.py: a sweep with a bare-epoch probe beside each run."""

import json
import re
import sys

import pytest
from bench_scripts import load_script


def _module():
    return load_script("speed_target")


def test_probe_beside_each_run_and_ratio(tmp_path, monkeypatch, capsys):
    mod = _module()
    grid = tmp_path / "g.yaml"
    grid.write_text(
        "name: t\nbase: {dataset: digits, model: seed-cnn, epochs: 2, batch_size: 128, "
        "optimizer: sgd, lr: 0.05, augment: flip, device: cpu, test_eval: selected}\n"
        "noise: [clean, uniform:0.3]\nmethods: [{name: ce}]\nseeds: [0]\n"
    )
    out = tmp_path / "r.jsonl"
    argv = ["speed_target.py", str(grid), "--out", str(out), "--threads", "1"]
    monkeypatch.setattr(sys, "argv", argv)
    mod.main()
    printed = capsys.readouterr().out
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    probes = [json.loads(line) for line in (tmp_path / "r.floor.jsonl").read_text().splitlines()]
    assert [p["run_id"] for p in probes] == [r["run_id"] for r in recs]
    # The probe call times the epoch and more (batch creation, warm-up).
    assert all(0 < p["bare_epoch_s"] * 0.5 <= p["probe_call_s"] for p in probes)
    # The ratio, recomputed from the files: session wall minus probe time over epochs x probe.
    meta = json.loads((tmp_path / "r.meta.json").read_text())
    wall = meta["sessions"][0]["wall_time_s"] - sum(p["probe_call_s"] for p in probes)
    floor = sum(len(r["epochs"]) * p["bare_epoch_s"] for r, p in zip(recs, probes, strict=True))
    assert f"floor {floor:.0f} s; wall = {wall / floor:.2f} x floor" in printed
    assert re.search(r"2 runs with a probe beside them \(of 2 ok records\)", printed)
    # Resuming runs nothing and reports the same runs.
    mod.main()
    assert len((tmp_path / "r.floor.jsonl").read_text().splitlines()) == 2


def test_report_without_probes_says_so(tmp_path):
    mod = _module()
    out = tmp_path / "r.jsonl"
    out.write_text("")
    (tmp_path / "r.floor.jsonl").write_text("")
    with pytest.raises(SystemExit, match="no run of"):
        mod.report(out)


def test_report_subtracts_every_probe_call_even_replaced_ones(tmp_path, capsys):
    mod = _module()
    out = tmp_path / "r.jsonl"
    rec = {"run_id": "a", "status": "ok", "wall_time_s": 30.0, "epochs": [{}, {}]}
    out.write_text(json.dumps(rec) + "\n")
    # Run "a" was interrupted after its first probe and rerun: two probe lines, the later counts.
    probes = [
        {"run_id": "a", "bare_epoch_s": 99.0, "probe_call_s": 4.0},
        {"run_id": "a", "bare_epoch_s": 10.0, "probe_call_s": 6.0},
    ]
    (tmp_path / "r.floor.jsonl").write_text("".join(json.dumps(p) + "\n" for p in probes))
    (tmp_path / "r.meta.json").write_text(json.dumps({"sessions": [{"wall_time_s": 50.0}]}))
    mod.report(out)
    printed = capsys.readouterr().out
    # wall 50 - (4 + 6) = 40 against floor 2 epochs x 10 s = 20.
    assert "sweep wall 50 s - probes 10 s = 40 s; floor 20 s; wall = 2.00 x floor" in printed
