"""benchmarks/sweep_floor.py: a sweep's wall time against its compute floor."""

import json
import sys

import pytest
from bench_scripts import load_script


def _module():
    return load_script("sweep_floor")


def _record(seed: int, epochs: int, wall: float, started: str) -> dict:
    return {
        "run_id": f"r{seed}",
        "status": "ok",
        "config": {"dataset": "digits", "batch_size": 128, "seed": seed},
        "data": {"model": "mlp", "num_train": 1000},
        "epochs": [{"epoch": e} for e in range(1, epochs + 1)],
        "wall_time_s": wall,
        "started_at": started,
    }


@pytest.fixture
def results(tmp_path):
    out = tmp_path / "r.jsonl"
    recs = [
        _record(0, 2, 5.0, "2026-12-01T10:00:00Z"),
        _record(1, 4, 9.0, "2026-12-01T10:00:10Z"),
    ]
    out.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return out


def _run(mod, monkeypatch, *argv):
    # A fixed bare epoch: the test checks the bookkeeping, not the machine.
    monkeypatch.setattr(mod, "bare_epoch_seconds", lambda *a: 0.5)
    monkeypatch.setattr(sys, "argv", ["sweep_floor.py", *map(str, argv)])
    mod.main()


def test_floor_is_epochs_times_bare_epoch(results, monkeypatch, capsys):
    _run(_module(), monkeypatch, results)
    # (2 + 4) epochs x 0.5 s = 3 s; run walls 5 + 9 = 14 s.
    assert "all 2 runs: compute floor 3 s; sum of run wall times 14 s = 4.67 x floor" in (
        capsys.readouterr().out
    )


def test_seeds_use_the_cli_syntax(results, monkeypatch, capsys):
    mod = _module()
    _run(mod, monkeypatch, results, "--seeds", "1,")  # a list: seed 1 alone
    assert "all 1 runs: compute floor 2 s; sum of run wall times 9 s" in capsys.readouterr().out
    _run(mod, monkeypatch, results, "--seeds", "1")  # a count: seed 0 alone
    assert "all 1 runs: compute floor 1 s; sum of run wall times 5 s" in capsys.readouterr().out


def test_absent_seed_is_a_one_line_error(results, monkeypatch):
    with pytest.raises(SystemExit, match=r"no record has seed 5; seeds in the results: 0, 1"):
        _run(_module(), monkeypatch, results, "--seeds", "0,5")
