"""The Ray backend of `sweep`, against a local Ray with 2 CPUs (one session for the module)."""

import os
from collections import Counter
from pathlib import Path

import pytest
import yaml
from bench_fakes import dies_on_ciw_runner, fake_runner

from noisylabels.bench.grid import expand_grid
from noisylabels.bench.report import sweep_info
from noisylabels.bench.results import ResultsStore, load_records
from noisylabels.bench.sweep import run_sweep, train_runner
from noisylabels.cli import main

ray = pytest.importorskip("ray", reason="the ray extra is not installed")
pytestmark = pytest.mark.ray

HERE = Path(__file__).parent
GRID = {
    "base": {"epochs": 1, "model": "mlp"},
    "datasets": ["digits"],
    "noise": ["symmetric:0.4"],
    "methods": ["ce", {"name": "nce+rce", "alpha": 1, "beta": 1, "label": "APL"}, "ciw"],
    "seeds": [0, 1],
}
# Fields that differ between two executions of the same run: timings and where it ran.
VOLATILE = {"wall_time_s", "started_at", "time_s", "train_time_s", "eval_time_s"}
VOLATILE |= {"inference_ms_per_1000", "versions", "device", "host"}


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    # Workers import the fake runners from this folder.
    path = os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])
    ray.init(
        num_cpus=2,
        object_store_memory=100 * 2**20,
        include_dashboard=False,
        logging_level="ERROR",
        runtime_env={"env_vars": {"PYTHONPATH": path}},
    )
    yield
    ray.shutdown()


def runs(grid=GRID):
    return expand_grid(grid)


def stable(value):
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


def by_id(path):
    return {r["run_id"]: stable(r) for r in load_records(path)}


def test_same_records_as_the_local_backend_for_real_digits_runs(tmp_path):
    """Two real 1-epoch digits runs: identical records (but timings) from both backends."""
    specs = [r for r in runs() if r.config.method in ("ce", "ciw") and r.config.seed == 0]
    local, remote = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    res_local = run_sweep(specs, local, progress="quiet", threads=1)
    res_ray = run_sweep(specs, remote, backend="ray", progress="quiet", threads=1)
    assert (res_local.ok, res_ray.ok, res_ray.failed) == (2, 2, 0)
    recs = load_records(remote)
    assert len(recs) == 2 and all(r["status"] == "ok" for r in recs)
    assert all(0.1 < r["final"]["test_acc_last"] <= 1 for r in recs)  # it really trained
    assert by_id(remote) == by_id(local)
    (session,) = ResultsStore(remote).sessions()
    assert session["backend"] == "ray" and session["ray"]["cluster_cpus"] == 2
    assert session["status"] == "finished" and session["ok"] == 2
    info = sweep_info(remote)
    assert "Ray: 1 CPU(s) and 0 GPU(s) per run on 2 CPUs and 0 GPUs" in info
    assert train_runner.__module__ == "noisylabels.bench.sweep"


def test_resume_skips_finished_runs(tmp_path):
    out = tmp_path / "r.jsonl"
    first = run_sweep(runs()[:3], out, runner=fake_runner, backend="ray", progress="quiet")
    assert first.ok == 3
    res = run_sweep(runs(), out, runner=fake_runner, backend="ray", progress="quiet")
    assert (res.skipped, res.ok, res.failed) == (3, 3, 0)
    ids = [r["run_id"] for r in load_records(out)]
    assert Counter(ids) == Counter({r.run_id: 1 for r in runs()})
    want = {r.run_id: stable({**fake_runner(r.config), "label": r.label}) for r in runs()}
    assert by_id(out) == want


def test_a_dying_worker_fails_only_its_own_run(tmp_path):
    out = tmp_path / "r.jsonl"
    specs = runs()[:3]  # ce, APL and ciw of seed 0: the ciw worker kills itself
    res = run_sweep(specs, out, runner=dies_on_ciw_runner, backend="ray", progress="quiet")
    assert (res.ok, res.failed) == (2, 1)
    recs = load_records(out)
    assert sorted(r["run_id"] for r in recs) == sorted(s.run_id for s in specs)
    (failed,) = [r for r in recs if r["status"] == "failed"]
    assert failed["config"]["method"] == "ciw" and "Ray worker" in failed["error"]
    assert "\n" not in failed["error"]


def test_cli_ray_backend_with_shards_and_flags(tmp_path, monkeypatch, capsys):
    import noisylabels.bench.sweep as sweep_mod

    monkeypatch.setattr(sweep_mod, "train_runner", fake_runner)
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump(GRID))
    outs = [tmp_path / f"r{i}.jsonl" for i in range(2)]
    for i, out in enumerate(outs):
        args = ["sweep", str(grid), "--out", str(out), "--backend", "ray", "--quiet"]
        assert main([*args, "--shard", f"{i}/2", "--cpus-per-run", "1"]) == 0
    ids = [r["run_id"] for out in outs for r in load_records(out)]
    assert sorted(ids) == sorted(r.run_id for r in runs())
    assert (
        main(["sweep", str(grid), "--out", str(outs[0]), "--backend", "ray", "--workers", "2"]) == 2
    )
    assert "--workers applies to --backend local" in capsys.readouterr().err
    big = ["--cpus-per-run", "4"]
    assert main(["sweep", str(grid), "--out", str(outs[0]), "--backend", "ray", *big]) == 2
    assert "lower --cpus-per-run" in capsys.readouterr().err
