"""Label editing from an issues file, and the trainer's --exclude / --relabel."""

import csv
import json

import numpy as np
import pytest

from noisylabels.cli import main
from noisylabels.detect.edit import IssueList, edit_labels, read_issues
from noisylabels.errors import UsageError


def _issues(index, given, suggested, prob, flagged):
    return IssueList("issues.csv", *(np.array(v) for v in (index, given, suggested, prob)),
                     np.array(flagged, bool))  # fmt: skip


def test_exclude_flagged_and_top():
    y = np.array([0, 1, 2, 0, 1])
    iss = _issues([3, 1, 0], [0, 1, 0], [2, 2, 0], [0.9, 0.8, 0.7], [True, True, False])
    keep, new, info = edit_labels(y, iss, mode="exclude")
    assert keep.tolist() == [True, False, True, False, True]
    assert new.tolist() == y.tolist() and info["num_excluded"] == 2
    keep, _, info = edit_labels(y, iss, mode="exclude", top=1)
    assert keep.tolist() == [True, True, True, False, True] and info["rule"] == "top 1"


def test_relabel_needs_confidence_and_a_different_label():
    y = np.array([0, 1, 2, 0, 1])
    iss = _issues([3, 1, 0], [0, 1, 0], [2, 2, 0], [0.9, 0.4, 0.99], [True, True, True])
    keep, new, info = edit_labels(y, iss, mode="relabel", min_prob=0.5)
    assert keep.all() and new.tolist() == [0, 1, 2, 2, 1] and info["num_relabelled"] == 1
    assert y.tolist() == [0, 1, 2, 0, 1]  # input untouched


def test_mismatched_labels_are_an_error():
    iss = _issues([1], [0], [1], [0.9], [True])
    with pytest.raises(UsageError, match="sample 1 has given label 0 in the file but 1"):
        edit_labels(np.array([0, 1]), iss, mode="exclude")
    with pytest.raises(UsageError, match="outside the 1 training samples"):
        edit_labels(np.array([0]), iss, mode="exclude")
    with pytest.raises(UsageError, match="unknown label edit"):
        edit_labels(np.array([0, 0]), iss, mode="drop")


def test_read_issues_rejects_other_csv(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(UsageError, match="not an issues file"):
        read_issues(p)
    with pytest.raises(UsageError, match="cannot read issues file"):
        read_issues(tmp_path / "missing.csv")


def test_labels_from_another_dataset_and_a_bad_top_are_errors():
    y = np.array([0, 1, 2, 0, 1])
    with pytest.raises(UsageError, match="index -1 is outside the 5 training samples"):
        edit_labels(y, _issues([-1], [0], [0], [0.9], [True]), mode="exclude")
    with pytest.raises(UsageError, match="suggested label 3, outside the 3 classes 0..2"):
        edit_labels(y, _issues([2], [2], [3], [0.9], [True]), mode="relabel", num_classes=3)
    iss = _issues([3, 1], [0, 1], [2, 2], [0.9, 0.8], [True, True])
    for top in (-1, 3):
        with pytest.raises(UsageError, match=r"--edit-top must be in 0..2 \(the rows of"):
            edit_labels(y, iss, mode="exclude", top=top)
    assert edit_labels(y, iss, mode="exclude", top=2)[0].tolist() == [1, 0, 1, 0, 1]


HEADER = "rank,index,given_label,suggested_label,suggested_prob,flagged\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HEADER, "has no rows"),
        (HEADER + "1,0,1,2,nan,1\n", "row 1 has suggested_prob nan, not a probability in"),
        (HEADER + "1,0,1,2,1.5,1\n", "row 1 has suggested_prob 1.5"),
        (HEADER + "1,0,1,2,0.5,1\n2,4.0,1,2,0.5,1\n", "row 2 has index '4.0', not an integer"),
        (HEADER + "1,0,1,2,0.5,1\n2,0,1,2,0.5,1\n", "index 0 appears more than once"),
        (HEADER + "1,0,1,,0.5,1\n", "row 1 has suggested_label '', not an integer"),
    ],
    ids=["no-rows", "nan-prob", "prob-above-1", "float-index", "duplicate", "empty-cell"],
)
def test_read_issues_refuses_malformed_rows(tmp_path, text, message):
    p = tmp_path / "issues.csv"
    p.write_text(text)
    with pytest.raises(UsageError, match=message):
        read_issues(p)


def test_read_issues_refuses_binary_and_special_files(tmp_path):
    import os

    (tmp_path / "bin.csv").write_bytes(b"\xff\xfeindex")
    with pytest.raises(UsageError, match="is not UTF-8 text"):
        read_issues(tmp_path / "bin.csv")
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(UsageError, match="is not a regular file"):
        read_issues(tmp_path / "fifo")  # would block forever if opened
    with pytest.raises(UsageError, match="is a folder"):
        read_issues(tmp_path)


def test_train_exclude_and_relabel_end_to_end(tmp_path, capsys):
    det = tmp_path / "det"
    common = ["--dataset", "digits", "--noise", "symmetric:0.4", "--epochs", "2", "--lr", "0.2",
              "--device", "cpu"]  # fmt: skip
    assert main(["detect", *common, "--folds", "2", "--quiet", "--no-pictures",
                 "--out", str(det)]) == 0  # fmt: skip
    rows = list(csv.DictReader(open(det / "issues.csv")))
    n_flag = sum(int(r["flagged"]) for r in rows)
    flipped_flagged = sum(int(r["flagged"]) and int(r["flipped"]) for r in rows)
    runs = tmp_path / "runs"
    assert main(["train", *common, "--quiet", "--out", str(runs), "--val-fraction", "0",
                 "--exclude", str(det / "issues.csv")]) == 0  # fmt: skip
    rec = json.loads(next(runs.glob("*/record.json")).read_text())
    assert rec["label_edit"]["num_excluded"] == n_flag
    assert rec["data"]["num_train"] == 1438 - n_flag
    assert rec["label_edit"]["num_wrong_left"] == 575 - flipped_flagged
    assert rec["config"]["exclude"] == str(det / "issues.csv")
    runs2 = tmp_path / "runs2"
    assert main(["train", *common, "--quiet", "--out", str(runs2), "--edit-top", "50",
                 "--relabel", str(det / "issues.csv"),
                 "--relabel-confidence", "0"]) == 0  # fmt: skip
    rec = json.loads(next(runs2.glob("*/record.json")).read_text())
    assert rec["label_edit"]["rule"] == "top 50"
    assert rec["label_edit"]["num_relabelled"] == sum(
        r["suggested_label"] != r["given_label"] for r in rows[:50]
    )
    capsys.readouterr()
    # Issues from other labels (another noise seed) are refused with one line.
    code = main(["train", *common, "--seed", "1", "--quiet", "--out", str(runs2),
                 "--exclude", str(det / "issues.csv")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "detect and train with the same" in err and len(err.splitlines()) == 1
