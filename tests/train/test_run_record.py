"""RunRecord / EpochRow: the typed record reads every committed results file and writes it back."""

import json
from pathlib import Path

import pytest

from noisylabels.errors import UsageError
from noisylabels.train import RunRecord, TrainConfig, run
from noisylabels.train.record import EpochRow, portable_source

RESULTS = sorted((Path(__file__).parents[2] / "benchmarks" / "results").glob("*.jsonl"))


def _run_records(path):
    for line in path.read_text().splitlines():
        d = json.loads(line)
        if "status" in d:  # floor files beside the results hold other lines
            yield d


@pytest.mark.parametrize("path", RESULTS, ids=lambda p: p.name)
def test_every_committed_record_reads_and_writes_back(path):
    defaults = TrainConfig().to_dict()
    n = 0
    for d in _run_records(path):
        rec = RunRecord.from_json(d)
        out = rec.to_json()
        expected = json.loads(json.dumps(d))
        # The two migrations: config keys added later hold their default, no absolute paths.
        expected["config"] = {**expected["config"], **{
            k: v for k, v in defaults.items() if k not in expected["config"]}}  # fmt: skip
        if expected.get("data"):
            src = expected["data"]["source"]
            expected["data"]["source"] = src.rsplit("/", 1)[-1] if src.startswith("/") else src
            assert not out["data"]["source"].startswith("/")
        assert out == expected
        assert list(out) == list(expected)  # same key order: same JSON text
        assert all(isinstance(r, EpochRow) for r in rec.epochs)
        n += 1
    assert n > 0 or path.name.endswith(".floor.jsonl")


def test_old_record_gets_the_default_of_a_later_config_key():
    (path,) = [p for p in RESULTS if p.name == "student_cifar10.jsonl"]
    d = next(_run_records(path))
    assert "test_eval" not in d["config"]
    assert RunRecord.from_json(d).config["test_eval"] == "every_epoch"


def test_run_returns_exactly_the_json_of_its_run_record():
    rec = run(TrainConfig(dataset="moons", noise="symmetric:0.2", epochs=2, method="confidence"))
    typed = RunRecord.from_json(rec)
    assert typed.ok and typed.final.selected_epoch in (1, 2)
    assert typed.epochs[-1].weights is not None
    assert json.dumps(typed.to_json()) == json.dumps(rec)


def test_failed_record_round_trips():
    d = {
        "schema": 1, "run_id": "abc", "status": "failed", "error": "boom",
        "config": TrainConfig().to_dict(), "versions": {"torch": "x"},
        "traceback": "Traceback ...", "started_at": "2026-01-01T00:00:00Z",
        "wall_time_s": 0.5, "label": "CE",
    }  # fmt: skip
    rec = RunRecord.from_json(d)
    assert not rec.ok and rec.final is None and rec.epochs == ()
    assert json.dumps(rec.to_json()) == json.dumps(d)


def test_newer_schema_and_non_records_are_usage_errors():
    with pytest.raises(UsageError, match="upgrade"):
        RunRecord.from_json({"schema": 99, "run_id": "x"})
    with pytest.raises(UsageError, match="not a run record"):
        RunRecord.from_json({"schema": 1})


def test_portable_source_drops_directories():
    assert portable_source("/usr/share/datasets/fashion-mnist") == "fashion-mnist"
    assert portable_source("/data/cifar10.npz") == "cifar10.npz"
    described = "scikit-learn load_digits (embedded)"
    assert portable_source(described) == described
