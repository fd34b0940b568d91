import csv

import numpy as np
import pytest
import torch

from noisylabels.cli import main
from noisylabels.errors import UsageError
from noisylabels.train import TrainConfig, check_config, run, run_id
from noisylabels.train.trainer import prepare, stratified_subset

DIGITS = TrainConfig(dataset="digits", noise="symmetric:0.4", epochs=1, device="cpu")


def test_stratified_subset_keeps_class_shares_within_one_sample():
    y = np.repeat(np.arange(4), [50, 30, 15, 5])
    rows = stratified_subset(y, 37, seed=3)
    assert rows.size == 37 and np.array_equal(rows, np.unique(rows))  # sorted, distinct
    taken = np.bincount(y[rows], minlength=4)
    share = 37 * np.array([50, 30, 15, 5]) / 100
    assert np.all(np.abs(taken - share) < 1)


def test_stratified_subset_is_deterministic_in_its_seed():
    y = np.random.default_rng(0).integers(0, 10, 1000)
    a, b = stratified_subset(y, 200, seed=0), stratified_subset(y, 200, seed=0)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, stratified_subset(y, 200, seed=1))
    assert np.array_equal(stratified_subset(y, 1000, seed=5), np.arange(1000))


def test_subset_run_trains_on_the_full_runs_labels_at_the_subset_rows():
    full = prepare(DIGITS)
    sub = prepare(DIGITS.replace(train_subset=300))
    rows = sub.subset_positions
    assert rows is not None and len(rows) == 300
    both = torch.cat([sub.train_positions, sub.val_positions]).sort().values
    assert torch.equal(both, rows)
    assert len(sub.val_positions) == round(0.1 * 300)
    # Same noisy labels as the whole-set run at the chosen rows.
    assert torch.equal(sub.noisy_labels[rows], full.noisy_labels[rows])
    assert torch.equal(sub.train.y.cpu(), full.noisy_labels[sub.train_positions])
    counts = np.bincount(full.clean_labels[rows].numpy(), minlength=10)
    share = 300 * np.bincount(full.clean_labels.numpy(), minlength=10) / len(full.clean_labels)
    assert np.all(np.abs(counts - share) < 1)


def test_subset_does_not_follow_the_training_seed():
    a = prepare(DIGITS.replace(train_subset=200, seed=0)).subset_positions
    b = prepare(DIGITS.replace(train_subset=200, seed=1)).subset_positions
    c = prepare(DIGITS.replace(train_subset=200, subset_seed=1)).subset_positions
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_subset_is_recorded():
    rec = run(DIGITS.replace(train_subset=200))
    full = prepare(DIGITS)
    rows = prepare(DIGITS.replace(train_subset=200)).subset_positions
    wrong = int((full.noisy_labels != full.clean_labels)[rows].sum())
    assert rec["config"]["train_subset"] == 200 and rec["data"]["num_subset"] == 200
    assert rec["data"]["num_train"] + rec["data"]["num_val"] == 200
    assert rec["noise"]["num_noisy_subset"] == wrong
    assert rec["noise"]["realised_rate_subset"] == pytest.approx(wrong / 200)
    assert rec["noise"]["num_noisy"] == int((full.noisy_labels != full.clean_labels).sum())
    assert run_id(DIGITS.replace(train_subset=200)) != run_id(DIGITS)


def test_whole_set_record_has_no_subset_keys():
    rec = run(TrainConfig(dataset="moons", epochs=1))
    assert "num_subset" not in rec["data"] and "realised_rate_subset" not in rec["noise"]


@pytest.mark.parametrize("n", [19, 1439])
def test_subset_size_outside_the_data_is_a_usage_error(n):
    with pytest.raises(UsageError, match=r"train_subset=\d+ is outside 20\.\.1438"):
        prepare(DIGITS.replace(train_subset=n))
    with pytest.raises(UsageError, match="train_subset"):
        check_config(DIGITS.replace(train_subset=n))


@pytest.mark.parametrize("value", ["0", "2.5"])
def test_cli_rejects_a_bad_subset_in_one_line(value, capsys):
    code = main(["train", "--dataset", "digits", "--train-subset", value, "--out", "unused"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "train_subset" in err and "\n" not in err


def test_detect_checks_only_the_subset_and_reports_dataset_rows(tmp_path):
    code = main(
        ["detect", "--dataset", "digits", "--noise", "symmetric:0.4", "--epochs", "1",
         "--folds", "2", "--train-subset", "120", "--out", str(tmp_path), "--quiet",
         "--no-pictures"]
    )  # fmt: skip
    assert code == 0
    with open(tmp_path / "issues.csv") as f:
        issues = list(csv.DictReader(f))
    rows = prepare(DIGITS.replace(train_subset=120)).subset_positions.numpy()
    index = np.array([int(r["index"]) for r in issues])
    assert np.array_equal(np.sort(index), rows)
    full = prepare(DIGITS)
    given = np.array([int(r["given_label"]) for r in issues])
    assert np.array_equal(given, full.noisy_labels.numpy()[index])
    true = np.array([int(r["true_label"]) for r in issues])
    assert np.array_equal(true, full.clean_labels.numpy()[index])
    # Training on the same subset without the flagged samples drops exactly those rows.
    run_ = prepare(DIGITS.replace(train_subset=120, exclude=str(tmp_path / "issues.csv")))
    flagged = {int(r["index"]) for r in issues if r["flagged"] == "1"}
    kept = set(torch.cat([run_.train_positions, run_.val_positions]).tolist())
    assert flagged and kept == set(rows.tolist()) - flagged
