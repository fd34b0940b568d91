import numpy as np
import pytest
import torch

from noisylabels.cli import main

methods = pytest.importorskip("noisylabels.methods")
if not hasattr(methods, "build_method"):  # pragma: no cover - until the methods area lands
    pytest.skip("noisylabels.methods.build_method is not written yet", allow_module_level=True)

from noisylabels.bench.moons import _config, run_moons  # noqa: E402


def test_tiny_moons_run_gives_ce_unit_weights_and_ciw_per_point_weights(tmp_path):
    threads = torch.get_num_threads()
    res = run_moons(tmp_path / "m.png", epochs=4, n_samples=200, seed=1)
    assert torch.get_num_threads() == threads  # restored
    assert res.path.stat().st_size > 10_000
    assert set(res.test_acc) == {"CE", "CIW"}
    assert all(0.0 <= a <= 1.0 for a in res.test_acc.values())
    ce, ciw = res.runs
    assert ce.weights.shape == ciw.weights.shape == (200,)
    assert np.all(ce.weights == 1.0)
    assert res.realised_rate == pytest.approx(0.3)
    if res.weight_auroc is not None:  # CIW may still be in burn-in after 4 epochs
        assert 0.0 <= res.weight_auroc <= 1.0


def test_moons_is_deterministic(tmp_path):
    a = run_moons(tmp_path / "a.png", epochs=2, n_samples=100, seed=3)
    b = run_moons(tmp_path / "b.png", epochs=2, n_samples=100, seed=3)
    assert a.test_acc == b.test_acc
    assert np.array_equal(a.runs[1].weights, b.runs[1].weights)


def test_moons_weights_are_the_trainer_runs_sample_weights(tmp_path):
    from noisylabels.data import load_dataset
    from noisylabels.train import evaluate, fit, prepare

    res = run_moons(tmp_path / "c.png", epochs=3, n_samples=100, seed=2)
    data = load_dataset("moons", n_train=100, n_test=2000, noise=0.15, seed=2)
    state = prepare(_config("ciw", {}, "symmetric:0.3", 3, 2), dataset=data)
    fit(state)
    rec = evaluate(state)
    assert np.array_equal(res.runs[1].weights, state.sample_weights.numpy())
    assert res.test_acc["CIW"] == rec["final"]["test_acc_last"]


def test_cli_moons(tmp_path, capsys):
    out = tmp_path / "moons.png"
    assert main(["moons", "--out", str(out), "--epochs", "2", "--samples", "100", "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("CE: test accuracy ") and lines[1].startswith("CIW: test accuracy ")
    assert out.exists()
    assert main(["moons", "--noise", "symmetric:1.5"]) == 2
