import hashlib
import json

import pytest
import torch

from noisylabels.cli import main
from noisylabels.errors import NonFiniteLossError, UsageError
from noisylabels.train import TrainConfig, run, run_id
from noisylabels.train.trainer import auroc

TINY = TrainConfig(dataset="moons", noise="symmetric:0.3", epochs=2, batch_size=64, lr=0.1)

EPOCH_KEYS = {
    "epoch", "lr", "train_loss", "train_acc_noisy", "train_acc_clean", "memorization",
    "val_acc_noisy", "test_acc", "time_s", "eval_time_s",
}  # fmt: skip


def _strip_times(rec):
    rec = json.loads(json.dumps(rec))
    for r in rec["epochs"]:
        r.pop("time_s"), r.pop("eval_time_s")
    for k in ("train_time_s", "eval_time_s", "inference_ms_per_1000"):
        rec["final"].pop(k)
    rec.pop("wall_time_s"), rec.pop("started_at")
    return rec


def test_cli_tiny_run_writes_record(tmp_path, capsys):
    code = main(
        ["train", "--dataset", "moons", "--noise", "symmetric:0.3", "--epochs", "2",
         "--batch-size", "64", "--seed", "0", "--out", str(tmp_path), "--quiet",
         "--threads", "1"]
    )  # fmt: skip
    assert code == 0
    (folder,) = list(tmp_path.iterdir())
    rec = json.loads((folder / "record.json").read_text())
    assert (folder / "config.yaml").exists()
    assert rec["status"] == "ok" and rec["error"] is None
    assert rec["config"]["dataset"] == "moons" and rec["config"]["epochs"] == 2
    assert set(rec["versions"]) >= {"noisylabels", "torch", "numpy", "python"}
    assert rec["device"].startswith("cpu")
    assert rec["noise"]["realised_rate"] == pytest.approx(0.3, abs=0.01)
    assert len(rec["epochs"]) == 2 and set(rec["epochs"][0]) >= EPOCH_KEYS
    fin = rec["final"]
    assert fin["test_acc_best"] >= max(fin["test_acc_last"], fin["test_acc_selected"]) - 1e-12
    assert 1 <= fin["selected_epoch"] <= 2
    assert fin["train_time_s"] > 0 and fin["inference_ms_per_1000"] > 0
    assert rec["run_id"] == run_id(TrainConfig(**rec["config"]))
    assert "realised noise rate" in capsys.readouterr().out


def test_deterministic_on_cpu():
    a, b = run(TINY), run(TINY)
    assert _strip_times(a) == _strip_times(b)
    c = run(TINY.replace(seed=1))
    assert _strip_times(a)["epochs"] != _strip_times(c)["epochs"]


def test_learns_moons_despite_noise():
    rec = run(TINY.replace(epochs=8, noise="symmetric:0.2"))
    assert rec["final"]["test_acc_last"] > 0.8
    # Clean-label accuracy beats noisy-label accuracy: the net does not fit the flips.
    assert rec["epochs"][-1]["train_acc_clean"] > rec["epochs"][-1]["train_acc_noisy"]


def test_weighting_method_records_weight_diagnostics():
    rec = run(TINY.replace(method="confidence", epochs=3))
    last = rec["epochs"][-1]
    assert last["weight_mean_clean"] is not None and last["weight_auroc"] is not None
    assert rec["weights"] is not None and sum(rec["weights"]["noisy"]) > 0


def test_no_validation_split_selects_last_epoch():
    rec = run(TINY.replace(val_fraction=0.0))
    assert rec["final"]["selected_epoch"] == TINY.epochs
    assert rec["epochs"][0]["val_acc_noisy"] is None


def test_nan_loss_names_epoch_and_step(monkeypatch):
    import noisylabels.methods as methods

    real = methods.build_method

    def nan_after_two_steps(*args, **kwargs):
        m = real(*args, **kwargs)
        step = m.step

        def bad_step(batch, state):
            out = step(batch, state)
            if state.step >= 2:
                out.loss = out.loss * float("nan")
            return out

        m.step = bad_step
        return m

    monkeypatch.setattr(methods, "build_method", nan_after_two_steps)
    with pytest.raises(NonFiniteLossError, match=r"epoch 1, step 3"):
        run(TINY)


@pytest.mark.parametrize(
    ("flags", "msg"),
    [
        (["--model", "resnet9000"], "unknown model"),
        (["--method", "magic"], "unknown method"),
        (["--dataset", "imagenet"], "unknown dataset"),
        (["--noise", "symmetric:1.5"], "rate"),
    ],
)
def test_cli_bad_names_one_line_exit_2(tmp_path, capsys, flags, msg):
    code = main(["train", "--epochs", "1", "--out", str(tmp_path), "--quiet", *flags])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert msg in err and "\n" not in err


def test_run_rejects_bad_config():
    with pytest.raises(UsageError):
        run(TINY.replace(epochs=0))


def test_auroc_against_pairwise_definition():
    g = torch.Generator().manual_seed(0)
    s = torch.randint(0, 5, (60,), generator=g).float()  # many ties
    pos = torch.rand(60, generator=g) < 0.4
    p, n = s[pos], s[~pos]
    ref = ((p[:, None] > n[None]).float() + 0.5 * (p[:, None] == n[None]).float()).mean()
    assert auroc(s, pos) == pytest.approx(float(ref))
    assert auroc(s, torch.ones(60, dtype=torch.bool)) is None


def test_method_gets_expected_noise_rate_not_nominal(monkeypatch):
    import noisylabels.methods as methods

    seen = {}
    real = methods.build_method

    def spy(name, ctx, make_network, **params):
        seen["rate"] = ctx.noise_rate
        return real(name, ctx, make_network, **params)

    monkeypatch.setattr(methods, "build_method", spy)
    run(TINY.replace(noise="uniform:0.5", epochs=1))
    assert seen["rate"] == pytest.approx(0.25, abs=0.01)  # 0.5 * (K-1)/K with K = 2


def test_conv_model_run_on_images(monkeypatch):
    # A conv net trains in channels-last layout; the run is still deterministic.
    cfg = TrainConfig(dataset="digits", model="seed-cnn", epochs=1, noise="symmetric:0.2")
    a, b = run(cfg), run(cfg)
    assert _strip_times(a) == _strip_times(b)
    assert a["final"]["test_acc_last"] > 0.1


@pytest.mark.parametrize("noise", ["instance:0.3", "idn:0.3"])
def test_instance_noise_gets_the_inputs_under_any_alias(noise):
    rec = run(TrainConfig(dataset="digits", noise=noise, epochs=1))
    assert rec["noise"]["kind"] == "instance"
    assert rec["noise"]["realised_rate"] == pytest.approx(0.3, abs=0.05)


# Constant high lr on noisy digits: the noisy-validation peak comes before the last epoch.
PEAKS_EARLY = TrainConfig(
    dataset="digits", method="ce", noise="symmetric:0.6", epochs=12, seed=0,
    schedule="constant", lr=0.3,
)  # fmt: skip


def test_test_eval_selected_scores_the_same_models_as_every_epoch():
    every = run(PEAKS_EARLY)
    lazy = run(PEAKS_EARLY.replace(test_eval="selected"))
    sel = every["final"]["selected_epoch"]
    assert sel < PEAKS_EARLY.epochs  # else this test would not exercise the kept weights
    assert lazy["final"]["selected_epoch"] == sel
    # Same models, same test numbers: the kept weights are exactly those of the selected epoch.
    assert lazy["final"]["test_acc_selected"] == every["final"]["test_acc_selected"]
    assert lazy["final"]["test_acc_last"] == every["final"]["test_acc_last"]
    assert lazy["final"]["test_acc_best"] is None
    scored = [e["epoch"] for e in lazy["epochs"] if e["test_acc"] is not None]
    assert scored == [sel, PEAKS_EARLY.epochs]
    assert [e["val_acc_noisy"] for e in lazy["epochs"]] == [
        e["val_acc_noisy"] for e in every["epochs"]
    ]


def test_test_eval_selected_without_validation_scores_last_only():
    rec = run(TINY.replace(val_fraction=0.0, test_eval="selected"))
    assert [e["test_acc"] is not None for e in rec["epochs"]] == [False, True]
    assert rec["final"]["selected_epoch"] == TINY.epochs


def test_cli_test_eval_selected_prints_without_best(tmp_path, capsys):
    code = main(
        ["train", "--dataset", "moons", "--epochs", "2", "--test-eval", "selected",
         "--out", str(tmp_path)]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and "selected (epoch" in out and "optimistic" not in out


def test_test_eval_keeps_older_run_ids_and_rejects_unknown_modes():
    # Records written before test_eval existed hold no such key: their ids must not move.
    added = (
        "test_eval", "dataset_options", "exclude", "relabel", "edit_top", "relabel_confidence",
        "train_subset", "subset_seed", "batch_noise", "t_max_epochs",
    )  # fmt: skip
    old = {k: v for k, v in TINY.to_dict().items() if k not in added}
    blob = json.dumps(old, sort_keys=True, separators=(",", ":"), default=str)
    assert run_id(TINY) == hashlib.sha1(blob.encode()).hexdigest()[:12]
    assert run_id(TINY.replace(test_eval="selected")) != run_id(TINY)
    assert run_id(TINY.replace(dataset_options={"seed": 1})) != run_id(TINY)
    assert run_id(TINY.replace(batch_noise="reseeded")) != run_id(TINY)
    assert run_id(TINY.replace(t_max_epochs=120)) != run_id(TINY)
    with pytest.raises(UsageError, match="test_eval"):
        TINY.replace(test_eval="sometimes")
