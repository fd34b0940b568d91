import os

import pytest
import torch

from noisylabels.cli import main
from noisylabels.train import threads
from noisylabels.train.threads import _cgroup_quota, available_cores, default_threads, torch_threads


def test_available_cores_is_the_affinity_without_a_quota(monkeypatch):
    monkeypatch.setattr(threads, "_cgroup_quota", lambda: None)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3, 5})
    assert available_cores() == 3
    assert default_threads() == 3 and default_threads(workers=2) == 1
    assert default_threads(workers=10) == 1


def test_cgroup_quota_caps_the_cores(monkeypatch, tmp_path):
    f = tmp_path / "cpu.max"
    f.write_text("150000 100000\n")
    assert _cgroup_quota(f) == 1.5
    f.write_text("max 100000\n")
    assert _cgroup_quota(f) is None
    assert _cgroup_quota(tmp_path / "absent") is None
    monkeypatch.setattr(threads, "_cgroup_quota", lambda: 1.5)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))
    assert available_cores() == 2


def test_torch_threads_sets_and_restores():
    before = torch.get_num_threads()
    with torch_threads(1) as n:
        assert n == 1 and torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_train_threads_flag_rejects_zero(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "--threads", "0"])
    assert e.value.code == 2
    assert "--threads" in capsys.readouterr().err
