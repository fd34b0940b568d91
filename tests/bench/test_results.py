import json
import sys
from pathlib import Path

import pytest
from bench_fakes import fake_record

from noisylabels.bench.grid import expand_grid
from noisylabels.bench.results import ResultsStore, to_dataframe
from noisylabels.errors import UsageError
from noisylabels.train.record import RunRecord

GRID = {
    "base": {"epochs": 1, "model": "mlp"},
    "datasets": ["digits"],
    "noise": ["clean", "symmetric:0.4"],
    "methods": ["ce", {"name": "nce+rce", "alpha": 1, "beta": 1, "label": "APL"}],
    "seeds": [0, 1],
}


def records():
    return [fake_record(s.config) | {"label": s.label} for s in expand_grid(GRID)]


def test_store_append_finished_ids_and_latest(tmp_path):
    store = ResultsStore(tmp_path / "sub" / "r.jsonl")
    assert not store.exists() and store.finished_ids() == set() and store.sessions() == []
    assert store.meta() is None
    recs = records()
    failed = {**recs[1], "status": "failed", "error": "RuntimeError: x"}
    with store.writer() as w:
        w.append(recs[0])
        w.append(failed)
    assert store.finished_ids() == {recs[0]["run_id"]}
    assert store.finished_ids(include_failed=True) == {recs[0]["run_id"], recs[1]["run_id"]}
    store.append(recs[1])  # the retry succeeds: the ok record wins over the earlier failure
    assert store.latest()[recs[1]["run_id"]].ok
    assert [r.run_id for r in store.records()] == [recs[i]["run_id"] for i in (0, 1, 1)]
    assert store.grid_path.name == "r.grid.yaml" and store.meta_path.name == "r.meta.json"


def test_sessions_are_kept_current_and_a_killed_one_is_closed_by_the_next(tmp_path):
    store = ResultsStore(tmp_path / "r.jsonl")
    with store.writer() as w:
        s = w.session(command="noisylabels sweep g.yaml", workers=2)
        s.progress(ok=3, failed=1, wall_time_s=12.3456)
        # no finish(): the process died here
    (entry,) = store.sessions()
    assert (entry["status"], entry["ok"], entry["failed"], entry["wall_time_s"]) == (
        "running",
        3,
        1,
        12.346,
    )
    assert entry["command"] == "noisylabels sweep g.yaml" and entry["workers"] == 2
    with store.writer() as w:
        s = w.session(command="again")
        s.finish(ok=2, failed=0, wall_time_s=1.0, interrupted=False)
    first, second = store.sessions()
    assert first["status"] == "killed" and first["ended_at"] is not None
    assert second["status"] == "finished" and second["ok"] == 2
    assert store.meta()["wall_time_s"] == pytest.approx(13.346)
    assert json.loads(store.meta_path.read_text())["results"] == "r.jsonl"


def test_to_dataframe_one_row_per_run_and_per_epoch(tmp_path):
    pd = pytest.importorskip("pandas")
    store = ResultsStore(tmp_path / "r.jsonl")
    recs = records()
    with store.writer() as w:
        for r in recs:
            w.append(r)
        w.append({**recs[0], "status": "failed"})  # an older ok record stays the run's record
    df = store.to_dataframe()
    assert isinstance(df, pd.DataFrame) and len(df) == len(recs)
    assert list(df["run_id"]) == [r["run_id"] for r in recs]
    assert list(df["final.test_acc_last"]) == [r["final"]["test_acc_last"] for r in recs]
    apl = df[df["label"] == "APL"]
    assert set(apl["config.method_params.alpha"]) == {1}
    assert set(df["noise.kind"]) == {"clean", "symmetric"}
    # Mean over seeds, as the report computes a cell.
    ce = df[(df["config.method"] == "ce") & (df["config.noise"] == "symmetric:0.4")]
    want = [r["final"]["test_acc_selected"] for r in (recs[2], recs[6])]
    assert {r["config"]["method"] + r["config"]["noise"] for r in (recs[2], recs[6])} == {
        "cesymmetric:0.4"
    }
    assert ce["final.test_acc_selected"].mean() == pytest.approx(sum(want) / 2)
    ep = store.to_dataframe(epochs=True)
    assert len(ep) == sum(len(r["epochs"]) for r in recs)
    assert {"run_id", "epoch", "test_acc", "config.seed"} <= set(ep.columns)
    assert "final.test_acc_last" not in ep.columns
    assert len(store.to_dataframe(latest=False)) == len(recs) + 1


def test_to_dataframe_without_pandas_is_a_one_line_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    with pytest.raises(UsageError, match=r"^to_dataframe needs pandas: pip install "):
        to_dataframe(records())


COMMITTED = sorted(
    p
    for p in (Path(__file__).parents[2] / "benchmarks" / "results").glob("*.jsonl")
    if not p.name.endswith(".floor.jsonl")
)


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name)
def test_store_reads_every_committed_results_file_as_run_records(path):
    recs = ResultsStore(path).records()
    assert recs and all(isinstance(r, RunRecord) for r in recs)
    assert len(recs) == len(path.read_text().splitlines())
    assert all(r.noise_spec is not None or r.noise.kind is None for r in recs if r.ok)


def test_a_line_that_is_not_a_run_record_is_a_one_line_error_naming_the_file(tmp_path):
    out = tmp_path / "r.jsonl"
    rec = records()[0]
    out.write_text(json.dumps(rec) + "\n" + json.dumps({**rec, "final": {"test_acc": 1}}) + "\n")
    with pytest.raises(UsageError, match=r"r\.jsonl: run record \w+: not in the record format"):
        ResultsStore(out).records()
