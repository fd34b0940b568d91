import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest
import torch
import yaml
from bench_fakes import dying_runner, failing_runner, fake_record, fake_runner

import noisylabels.bench.sweep as sweep_mod
from noisylabels.bench.grid import expand_grid, load_grid
from noisylabels.bench.results import (
    ResultsStore,
    ResultsWriter,
    finished_ids,
    load_records,
    sidecar,
)
from noisylabels.bench.sweep import run_sweep
from noisylabels.cli import main
from noisylabels.errors import UsageError

GRID = {
    "base": {"epochs": 1, "model": "mlp"},
    "datasets": ["digits"],
    "noise": ["clean", "symmetric:0.2", "symmetric:0.4"],
    "methods": ["ce", {"name": "nce+rce", "alpha": 1, "beta": 1, "label": "APL"}, "ciw"],
    "seeds": [0, 1],
}
HERE = Path(__file__).parent


def runs():
    return expand_grid(GRID, check=lambda cfg: None)


def ids_in(path, status="ok"):
    return [r["run_id"] for r in load_records(path) if r["status"] == status]


def test_sweep_writes_one_line_per_run_with_label_and_sidecars(tmp_path):
    out = tmp_path / "r.jsonl"
    threads = torch.get_num_threads()
    seen = []

    def runner(cfg):
        seen.append(torch.get_num_threads())
        return fake_runner(cfg)

    res = run_sweep(runs(), out, runner=runner, progress="quiet", grid=GRID, threads=1)
    assert (res.ok, res.failed, res.skipped, res.planned) == (18, 0, 0, 18)
    assert set(seen) == {1} and torch.get_num_threads() == threads
    lines = out.read_text().splitlines()
    assert len(lines) == 18
    recs = [json.loads(line) for line in lines]
    assert [r["run_id"] for r in recs] == [r.run_id for r in runs()]
    assert {r["label"] for r in recs} == {None, "APL"}
    meta = json.loads(sidecar(out, ".meta.json").read_text())
    assert meta["sessions"][0]["status"] == "finished"
    assert meta["sessions"][0]["ok"] == 18
    assert meta["sessions"][0]["threads_per_run"] == 1
    assert meta["wall_time_s"] >= 0 and "torch" in meta["sessions"][0]["versions"]
    saved = load_grid(sidecar(out, ".grid.yaml"))
    assert [r.run_id for r in expand_grid(saved, check=lambda c: None)] == ids_in(out)


def test_rerun_skips_finished_runs(tmp_path):
    out = tmp_path / "r.jsonl"
    run_sweep(runs()[:5], out, runner=fake_runner, progress="quiet")
    calls = []

    def counting(cfg):
        calls.append(cfg)
        return fake_record(cfg)

    res = run_sweep(runs(), out, runner=counting, progress="quiet")
    assert (res.skipped, res.ok, len(calls)) == (5, 13, 13)
    assert sorted(ids_in(out)) == sorted(r.run_id for r in runs())
    res = run_sweep(runs(), out, runner=counting, progress="quiet")
    assert (res.skipped, res.ok, len(calls)) == (18, 0, 13)
    meta = json.loads(sidecar(out, ".meta.json").read_text())
    assert len(meta["sessions"]) == 3


def test_failing_run_is_recorded_and_the_sweep_goes_on(tmp_path):
    out = tmp_path / "r.jsonl"
    res = run_sweep(runs(), out, runner=failing_runner, progress="quiet")
    assert (res.ok, res.failed) == (12, 6)
    failed = [r for r in load_records(out) if r["status"] == "failed"]
    assert {r["config"]["method"] for r in failed} == {"ciw"}
    err = failed[0]["error"]
    assert err == "NonFiniteLossError: loss became nan at epoch 2, step 3 (second line)"
    assert failed[0]["run_id"] in {r.run_id for r in runs()}
    # Failed runs are retried by default, and not with retry_failed=False.
    res = run_sweep(runs(), out, runner=failing_runner, progress="quiet", retry_failed=False)
    assert (res.skipped, res.ok, res.failed) == (18, 0, 0)
    res = run_sweep(runs(), out, runner=fake_runner, progress="quiet")
    assert (res.skipped, res.ok, res.failed) == (12, 6, 0)
    assert sorted(ids_in(out)) == sorted(r.run_id for r in runs())


def test_keyboard_interrupt_stops_and_resume_completes(tmp_path):
    out = tmp_path / "r.jsonl"
    n = 0

    def interrupted(cfg):
        nonlocal n
        n += 1
        if n == 7:
            raise KeyboardInterrupt
        return fake_record(cfg)

    with pytest.raises(KeyboardInterrupt):
        run_sweep(runs(), out, runner=interrupted, progress="quiet")
    assert len(ids_in(out)) == 6
    meta = json.loads(sidecar(out, ".meta.json").read_text())
    assert meta["sessions"][-1]["status"] == "interrupted"
    run_sweep(runs(), out, runner=fake_runner, progress="quiet")
    ok = ids_in(out)
    assert len(ok) == len(set(ok)) == 18
    assert set(ok) == {r.run_id for r in runs()}


def test_killed_process_resumes_without_duplicates_or_gaps(tmp_path, monkeypatch):
    """A sweep process dies hard (os._exit) mid-sweep; rerunning completes the grid."""
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump(GRID))
    out = tmp_path / "r.jsonl"
    script = (
        "import sys; import bench_fakes, noisylabels.bench.sweep as s;"
        "s.train_runner = bench_fakes.dying_runner;"
        "from noisylabels.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
        "FAKE_COUNTER": str(tmp_path / "counter"),
        "DIE_AFTER": "7",
    }
    proc = subprocess.run(
        [sys.executable, "-c", script, "sweep", str(grid), "--out", str(out), "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 3, proc.stderr
    assert len(ids_in(out)) == 7
    # The killed session's entry is current to its last finished run.
    killed = json.loads(sidecar(out, ".meta.json").read_text())["sessions"][-1]
    assert (killed["status"], killed["ok"], killed["ended_at"]) == ("running", 7, None)
    assert killed["wall_time_s"] is not None and killed["wall_time_s"] >= 0
    # A torn partial line, as a kill during write() would leave.
    with open(out, "ab") as f:
        f.write(b'{"run_id": "deadbeef", "status": "o')
    monkeypatch.setattr(sweep_mod, "train_runner", fake_runner)
    code = main(["sweep", str(grid), "--out", str(out), "--quiet"])
    assert code == 0
    with pytest.warns(UserWarning, match="skipped 1 unreadable line"):
        ok = ids_in(out)
    assert Counter(ok).most_common(1)[0][1] == 1
    assert set(ok) == {r.run_id for r in expand_grid(GRID)}
    meta = json.loads(sidecar(out, ".meta.json").read_text())
    first, second = meta["sessions"]
    assert (first["status"], first["ok"], first["wall_time_s"]) == (
        "killed",
        7,
        killed["wall_time_s"],
    )
    assert first["ended_at"] is not None and second["status"] == "finished"
    assert meta["wall_time_s"] == pytest.approx(first["wall_time_s"] + second["wall_time_s"])


def test_killed_session_from_before_progress_entries_is_closed_from_its_records(tmp_path):
    """An entry left "running" with no counts (older versions) gets them from the records."""
    out = tmp_path / "r.jsonl"
    specs = runs()

    def rec(spec, started_at, wall, status="ok"):
        return {
            "run_id": spec.run_id,
            "status": status,
            "started_at": started_at,
            "wall_time_s": wall,
            "config": spec.config.to_dict(),
        }

    lines = [
        rec(specs[0], "2026-01-01T00:00:00Z", 10.0),  # killed session: 00:00:00 - 01:00:00
        rec(specs[1], "2026-01-01T00:00:10Z", 20.5, status="failed"),
        rec(specs[2], "2026-01-01T01:00:05Z", 30.0),  # the next, finished session
    ]
    out.write_text("".join(json.dumps(r) + "\n" for r in lines))
    base = {"ok": 0, "failed": 0, "ended_at": None, "wall_time_s": None, "status": "running"}
    sessions = [
        {**base, "started_at": "2026-01-01T00:00:00Z"},
        {
            **base,
            "started_at": "2026-01-01T01:00:00Z",
            "ended_at": "2026-01-01T01:00:40Z",
            "wall_time_s": 40.0,
            "ok": 1,
            "status": "finished",
        },
    ]
    sidecar(out, ".meta.json").write_text(json.dumps({"sessions": sessions}))
    run_sweep(specs, out, runner=fake_runner, progress="quiet")
    meta = json.loads(sidecar(out, ".meta.json").read_text())
    first, second, third = meta["sessions"]
    assert first == {
        **base,
        "started_at": "2026-01-01T00:00:00Z",
        "status": "killed",
        "ok": 1,
        "failed": 1,
        "wall_time_s": 30.5,
        "ended_at": "2026-01-01T00:00:30Z",
    }
    assert second == sessions[1]
    assert (third["status"], third["ok"], third["skipped"]) == ("finished", 16, 2)
    assert meta["wall_time_s"] == pytest.approx(70.5 + third["wall_time_s"])


def test_ctrl_c_with_workers_stops_at_once_and_keeps_finished_runs(tmp_path, monkeypatch):
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump({**GRID, "noise": ["symmetric:0.4"]}))  # 6 runs, 3 per seed
    out = tmp_path / "r.jsonl"
    script = (
        "import sys; import bench_fakes, noisylabels.bench.sweep as s;"
        "s.train_runner = bench_fakes.slow_runner;"
        "from noisylabels.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", script, "sweep", str(grid), "--out", str(out), "--workers", "2"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not out.exists() or out.read_text().count("\n") < 3):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    assert proc.wait(timeout=30) == 130
    assert time.monotonic() - t0 < 10  # did not wait for the minute-long runs
    assert "rerun the same command to resume" in proc.stderr.read()
    assert len(ids_in(out)) == 3  # seed 0 finished; seed 1 runs were in flight
    meta = json.loads(sidecar(out, ".meta.json").read_text())
    assert meta["sessions"][-1]["status"] == "interrupted"
    monkeypatch.setattr(sweep_mod, "train_runner", fake_runner)
    assert main(["sweep", str(grid), "--out", str(out), "--quiet"]) == 0
    ok = ids_in(out)
    assert len(ok) == len(set(ok)) == 6


def test_torn_last_line_is_ignored_and_next_append_starts_fresh(tmp_path):
    out = tmp_path / "r.jsonl"
    good = {"run_id": "a", "status": "ok"}
    out.write_text(json.dumps(good) + "\n" + '{"run_id": "b", "sta')
    with pytest.warns(UserWarning, match="line 2"):
        assert load_records(out) == [good]
    assert finished_ids(out) == {"a"}
    with ResultsWriter(out) as w:
        w.append({"run_id": "c", "status": "ok", "x": float("nan")})
    with pytest.warns(UserWarning):
        recs = load_records(out)
    assert [r["run_id"] for r in recs] == ["a", "c"]
    assert recs[1]["x"] is None  # NaN written as null: strict JSON
    assert out.read_bytes().endswith(b"\n")


def test_a_second_writer_on_the_same_file_is_refused(tmp_path):
    out = tmp_path / "r.jsonl"
    with ResultsWriter(out), pytest.raises(UsageError, match="in use by another sweep"):
        ResultsWriter(out)
    ResultsWriter(out).close()  # released


def test_workers_and_a_worker_that_dies(tmp_path, monkeypatch):
    """Two spawned workers; a worker dying takes only the runs then in flight with it."""
    monkeypatch.setenv("FAKE_COUNTER", str(tmp_path / "counter"))
    monkeypatch.setenv("DIE_AFTER", "2")  # the first two calls succeed, later ones die
    out = tmp_path / "r.jsonl"
    specs = runs()[:4]
    res = run_sweep(specs, out, runner=dying_runner, workers=2, progress="quiet")
    assert res.ok + res.failed == 4
    assert res.ok >= 1 and res.failed >= 2
    recs = load_records(out)
    assert sorted(r["run_id"] for r in recs) == sorted(s.run_id for s in specs)
    failed = [r for r in recs if r["status"] == "failed"]
    assert all("worker process died" in r["error"] for r in failed)
    assert json.loads(sidecar(out, ".meta.json").read_text())["sessions"][0]["workers"] == 2


def test_json_mode_prints_one_object_per_run(tmp_path, capsys):
    out = tmp_path / "r.jsonl"
    run_sweep(runs()[:4], out, runner=failing_runner, progress="json")
    lines = capsys.readouterr().out.splitlines()
    objs = [json.loads(line) for line in lines]
    assert len(objs) == 4
    assert {o["run_id"] for o in objs} == set(ids_in(out)) | set(ids_in(out, "failed"))
    ok = next(o for o in objs if o["status"] == "ok")
    assert math.isclose(ok["test_acc_last"], fake_record_for(ok)["final"]["test_acc_last"])


def fake_record_for(obj):
    spec = next(r for r in runs() if r.run_id == obj["run_id"])
    return fake_record(spec.config)


def test_cli_sweep_exit_codes_and_dry_run(tmp_path, monkeypatch, capsys):
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump(GRID))
    out = tmp_path / "r.jsonl"
    monkeypatch.setattr(sweep_mod, "train_runner", failing_runner)
    assert main(["sweep", str(grid), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.count("FAILED") == 6
    assert main(["sweep", str(grid), "--out", str(out), "--dry-run"]) == 0
    cap = capsys.readouterr()
    assert cap.out.count(" todo ") == 6 and cap.out.count(" done ") == 12
    monkeypatch.setattr(sweep_mod, "train_runner", fake_runner)
    assert main(["sweep", str(grid), "--out", str(out)]) == 0
    assert "6 ok, 0 failed, 12 already finished" in capsys.readouterr().err

    def interrupt(cfg):
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep_mod, "train_runner", interrupt)
    assert main(["sweep", str(grid), "--out", str(tmp_path / "s.jsonl"), "--quiet"]) == 130
    assert "rerun the same command to resume" in capsys.readouterr().err


def test_stale_entry_with_a_broken_stamp_is_marked_killed_without_a_traceback(tmp_path):
    out = tmp_path / "r.jsonl"
    entry = {"started_at": "yesterday", "status": "running", "wall_time_s": None}
    sidecar(out, ".meta.json").write_text(json.dumps({"sessions": [entry]}))
    run_sweep(runs()[:2], out, runner=fake_runner, progress="quiet")
    first, second = json.loads(sidecar(out, ".meta.json").read_text())["sessions"]
    assert first == {**entry, "status": "killed"} and second["ok"] == 2


def test_shards_split_the_grid_by_run_id_and_report_merges_them(tmp_path, monkeypatch, capsys):
    from noisylabels.bench.grid import select_shard

    specs = runs()
    shards = [select_shard(specs, i, 4) for i in range(4)]
    ids = [r.run_id for s in shards for r in s]
    assert sorted(ids) == sorted(r.run_id for r in specs)  # each run in exactly one shard
    assert {len(s) for s in shards} == {4, 5}  # 18 runs: sizes differ by at most one
    # The split depends on the set of runs, not on the order of the grid's axes.
    reordered = expand_grid({**GRID, "methods": GRID["methods"][::-1]}, check=lambda c: None)
    assert [{r.run_id for r in select_shard(reordered, i, 4)} for i in range(4)] == [
        {r.run_id for r in s} for s in shards
    ]
    # Within a shard the grid order (seed-major) is kept.
    order = {r.run_id: i for i, r in enumerate(specs)}
    assert all([order[r.run_id] for r in s] == sorted(order[r.run_id] for r in s) for s in shards)

    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump(GRID))
    monkeypatch.setattr(sweep_mod, "train_runner", fake_runner)
    outs = [tmp_path / f"r.{i}.jsonl" for i in range(3)]
    for i, out in enumerate(outs):
        assert main(["sweep", str(grid), "--out", str(out), "--shard", f"{i}/3", "--quiet"]) == 0
        assert json.loads(sidecar(out, ".meta.json").read_text())["sessions"][0]["shard"] == (
            f"{i}/3"
        )
    assert main(["sweep", str(grid), "--out", str(outs[1]), "--shard", "1/3", "--dry-run"]) == 0
    assert capsys.readouterr().out.count(" done ") == 6
    whole = tmp_path / "whole.jsonl"
    run_sweep(specs, whole, runner=fake_runner, progress="quiet")
    assert main(["report", *map(str, outs), "--format", "csv"]) == 0
    merged = capsys.readouterr().out.splitlines()
    assert main(["report", str(whole), "--format", "csv"]) == 0
    assert sorted(merged) == sorted(capsys.readouterr().out.splitlines())  # rows in run order


@pytest.mark.parametrize("shard", ["3/3", "-1/2", "1", "a/b", "0/0"])
def test_bad_shard_is_a_one_line_error(tmp_path, capsys, shard):
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump(GRID))
    with pytest.raises(SystemExit) as e:
        main(["sweep", str(grid), "--out", str(tmp_path / "r.jsonl"), f"--shard={shard}"])
    assert e.value.code == 2
    assert "--shard: expects I/N with 0 <= I < N" in capsys.readouterr().err


def test_shard_slurm_takes_the_task_of_the_job_array(tmp_path, monkeypatch, capsys):
    from noisylabels.bench.grid import select_shard, slurm_shard

    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump(GRID))
    args = ["sweep", str(grid), "--out", str(tmp_path / "r.jsonl"), "--shard", "slurm"]
    assert main([*args, "--dry-run"]) == 2
    assert "--shard slurm needs SLURM_ARRAY_TASK_ID" in capsys.readouterr().err
    # --array=10-40:10 -> task ids 10, 20, 30, 40: the task with id 30 is shard 2 of 4.
    env = {"SLURM_ARRAY_TASK_ID": "30", "SLURM_ARRAY_TASK_COUNT": "4"}
    env |= {"SLURM_ARRAY_TASK_MIN": "10", "SLURM_ARRAY_TASK_STEP": "10"}
    assert slurm_shard(env) == (2, 4)
    assert slurm_shard({"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "4"}) == (3, 4)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main([*args, "--dry-run"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == [r.run_id for r in select_shard(runs(), 2, 4)]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--cpus-per-run", "2"], "--cpus-per-run applies to --backend ray only"),
        (["--ray-address", "auto"], "--ray-address applies to --backend ray only"),
        (["--backend", "ray", "--gpus-per-run", "1.5"], "above 1 must be a whole number"),
    ],
)
def test_backend_flags_are_checked(tmp_path, capsys, flags, message):
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump(GRID))
    assert main(["sweep", str(grid), "--out", str(tmp_path / "r.jsonl"), *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_ray_backend_without_ray_says_how_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump(GRID))
    out = tmp_path / "r.jsonl"
    assert main(["sweep", str(grid), "--out", str(out), "--backend", "ray"]) == 2
    err = capsys.readouterr().err.strip()
    assert "pip install 'noisylabels[ray]'" in err and len(err.splitlines()) == 1
    assert not out.exists()  # nothing written


def test_default_threads_come_from_the_cores_given(tmp_path, monkeypatch):
    monkeypatch.setattr(sweep_mod, "default_threads", lambda workers=1: 7 * workers)
    seen = []

    def runner(cfg):
        seen.append(torch.get_num_threads())
        return fake_runner(cfg)

    before = torch.get_num_threads()
    run_sweep(runs()[:2], tmp_path / "r.jsonl", runner=runner, progress="quiet")
    assert seen == [7, 7] and torch.get_num_threads() == before
    run_sweep(runs()[:3], tmp_path / "r.jsonl", runner=runner, progress="quiet", threads=1)
    assert seen == [7, 7, 1]
    threads = [s["threads_per_run"] for s in ResultsStore(tmp_path / "r.jsonl").sessions()]
    assert threads == [7, 1]


def test_pool_worker_k_is_placed_on_gpu_k_mod_count(monkeypatch):
    import multiprocessing

    placed = []
    monkeypatch.setattr(torch.cuda, "set_device", placed.append)
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)
    monkeypatch.setattr(signal, "signal", lambda *a: None)
    counter = multiprocessing.get_context("spawn").Value("i", 0)
    for _ in range(5):
        sweep_mod._init_worker(1, counter, 2)
    assert placed == [0, 1, 0, 1, 0]
    for _ in range(2):
        sweep_mod._init_worker(1, counter, 0)  # no GPU: nothing placed
    assert placed == [0, 1, 0, 1, 0] and counter.value == 7


def test_device_auto_trains_like_cpu_here_and_resumes_cpu_results(tmp_path, monkeypatch, capsys):
    """A grid moved from `device: cpu` to `auto`: same numbers on CPU, nothing rerun."""
    if torch.cuda.is_available():
        pytest.skip("auto is cuda on this machine")
    small = {**GRID, "noise": ["symmetric:0.4"], "methods": ["ce", "ciw"], "seeds": [0]}
    cpu = expand_grid({**small, "base": {**GRID["base"], "device": "cpu"}})
    auto = expand_grid({**small, "base": {**GRID["base"], "device": "auto"}})
    assert {r.run_id for r in cpu}.isdisjoint(r.run_id for r in auto)
    out = tmp_path / "r.jsonl"
    run_sweep(cpu, out, progress="quiet", threads=1)  # real 1-epoch digits runs
    res = run_sweep(auto, out, runner=fake_runner, progress="quiet")
    assert (res.skipped, res.ok) == (2, 0)
    main_args = ["sweep", str(tmp_path / "g.yaml"), "--out", str(out), "--dry-run"]
    (tmp_path / "g.yaml").write_text(yaml.safe_dump({**small, "base": auto[0].config.to_dict()}))
    assert main(main_args) == 0
    assert capsys.readouterr().out.count(" done ") == 2
    # The same records from device auto (resolved to cpu), but for the device setting itself.
    other = tmp_path / "auto.jsonl"
    run_sweep(auto, other, progress="quiet", threads=1)
    volatile = {"wall_time_s", "started_at", "time_s", "train_time_s", "eval_time_s"}
    volatile |= {"inference_ms_per_1000", "run_id", "device"}

    def stable(v):
        if isinstance(v, dict):
            return {k: stable(x) for k, x in v.items() if k not in volatile}
        return [stable(x) for x in v] if isinstance(v, list) else v

    a, b = load_records(out), load_records(other)
    assert [r["config"]["device"] for r in a + b] == ["cpu"] * 2 + ["auto"] * 2
    assert [stable(r) for r in a] == [stable(r) for r in b]
    assert all(r["device"].startswith("cpu") for r in b)
    # Where auto is a GPU, CPU results are not taken for it.
    monkeypatch.setattr(sweep_mod, "auto_device", lambda: "cuda")
    res = run_sweep(auto, tmp_path / "r.jsonl", runner=fake_runner, progress="quiet")
    assert (res.skipped, res.ok) == (0, 2)


def test_a_run_refused_by_a_pool_that_broke_goes_to_the_next_pool(tmp_path, monkeypatch):
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    pools = []

    class Pool:  # the first pool is already broken when the sweep submits to it
        def __init__(self, **kwargs):
            self.broken = not pools
            self._processes = {}
            pools.append(self)

        def submit(self, fn, *args):
            if self.broken:
                raise BrokenProcessPool("a worker died")
            fut = Future()
            fut.set_result(fn(*args))
            return fut

        def shutdown(self, wait=True, cancel_futures=False):
            pass

    monkeypatch.setattr(sweep_mod, "ProcessPoolExecutor", Pool)
    out = tmp_path / "r.jsonl"
    res = run_sweep(runs()[:3], out, runner=fake_runner, workers=2, progress="quiet")
    assert (res.ok, res.failed, len(pools)) == (3, 0, 2)
    assert sorted(ids_in(out)) == sorted(r.run_id for r in runs()[:3])


def test_failed_append_keeps_the_record_and_says_where(tmp_path, monkeypatch):
    out = tmp_path / "r.jsonl"
    real_append = ResultsWriter.append
    calls = []

    def append(self, rec):
        calls.append(rec["run_id"])
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_append(self, rec)

    monkeypatch.setattr(ResultsWriter, "append", append)
    with pytest.raises(UsageError, match="No space left on device; this run's record is saved in"):
        run_sweep(runs()[:3], out, runner=fake_runner, progress="quiet")
    assert [r["run_id"] for r in load_records(out)] == calls[:1]
    rescued = sorted(Path(tempfile.gettempdir()).glob("noisylabels-sweep-*/record.jsonl"))
    ours = [p for p in rescued if json.loads(p.read_text())["run_id"] == calls[1]]
    assert ours
    for p in ours:
        p.unlink()
        p.parent.rmdir()


def test_worker_gpu_is_k_mod_gpu_count():
    from noisylabels.bench.sweep import worker_gpu

    assert [worker_gpu(k, 4) for k in range(9)] == [0, 1, 2, 3, 0, 1, 2, 3, 0]
    assert [worker_gpu(k, 1) for k in range(3)] == [0, 0, 0]
    assert worker_gpu(5, 0) is None
    with pytest.raises(ValueError, match="worker index"):
        worker_gpu(-1, 2)
