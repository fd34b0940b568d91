import os

import pytest

import noisylabels.resources as resources
from noisylabels.resources import available_cores, default_threads, worker_gpu


def test_worker_gpu_is_k_mod_gpu_count():
    assert [worker_gpu(k, 4) for k in range(9)] == [0, 1, 2, 3, 0, 1, 2, 3, 0]
    assert [worker_gpu(k, 1) for k in range(3)] == [0, 0, 0]
    assert worker_gpu(5, 0) is None
    with pytest.raises(ValueError, match="worker index"):
        worker_gpu(-1, 2)


def test_cgroup_quota_v2_and_v1(tmp_path):
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert resources._cgroup_limit(tmp_path) == 1.5
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert resources._cgroup_limit(tmp_path) is None
    v1 = tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("300000")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000")
    assert resources._cgroup_limit(v1) == 3.0
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("-1")
    assert resources._cgroup_limit(v1) is None
    assert resources._cgroup_limit(tmp_path / "absent") is None


def test_available_cores_is_affinity_capped_by_quota(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    monkeypatch.setattr(resources, "_cgroup_limit", lambda: None)
    assert available_cores() == 8
    assert [default_threads(w) for w in (1, 2, 3, 8, 16)] == [8, 4, 2, 1, 1]
    monkeypatch.setattr(resources, "_cgroup_limit", lambda: 2.5)
    assert available_cores() == 3
    monkeypatch.setattr(resources, "_cgroup_limit", lambda: 0.2)
    assert available_cores() == 1
