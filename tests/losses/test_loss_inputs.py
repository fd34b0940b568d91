"""Bad inputs get a one-line UsageError."""

import pytest
import torch

from noisylabels import losses as L
from noisylabels.errors import UsageError

X = torch.zeros(3, 4)
Y = torch.tensor([0, 1, 3])


@pytest.mark.parametrize(
    "logits,target,match",
    [
        (torch.zeros(4), Y, r"shape \(B, K\)"),
        (torch.zeros(3, 4, dtype=torch.long), Y, "floating"),
        (torch.zeros(3, 1), Y, "at least 2 classes"),
        (X, torch.tensor([0, 1, 4]), r"in \[0, 4\), got values in \[0, 4\]"),
        (X, torch.tensor([-1, 1, 2]), r"in \[0, 4\)"),
        (X, torch.tensor([0, 1]), r"shape \(3,\)"),
        (X, torch.tensor([[0], [1], [2]]), r"shape \(3,\)"),
        (X, torch.tensor([True, False, True]), "integer class indices"),
        (X, torch.zeros(3, 5), r"soft target must have the logits' shape \(3, 4\)"),
        (X, torch.full((3, 4), 0.5), "sum to 1"),
        (X, [0, 1, 2], "torch tensors"),
    ],
)
@pytest.mark.parametrize("name", ["ce", "gce", "nce+rce", "bitempered", "bootstrap_hard"])
def test_bad_inputs(logits, target, match, name):
    with pytest.raises(UsageError, match=match):
        L.get(name)(logits, target)


def test_bad_reduction_and_empty_batch():
    with pytest.raises(UsageError, match="unknown reduction 'avg'"):
        L.ce_loss(X, Y, reduction="avg")
    with pytest.raises(UsageError, match="unknown reduction"):
        L.get("nce")(X, Y, reduction="batchmean")
    with pytest.raises(UsageError, match="unknown reduction"):
        L.apl_loss(X, Y, reduction="avg")
    empty, ey = torch.zeros(0, 4), torch.zeros(0, dtype=torch.long)
    assert L.get("gce")(empty, ey, "none").shape == (0,)
    assert L.get("gce")(empty, ey, "sum").item() == 0.0
    with pytest.raises(UsageError, match="empty batch"):
        L.get("gce")(empty, ey)


def test_soft_cross_entropy_needs_float_target():
    with pytest.raises(UsageError, match="floating"):
        L.soft_cross_entropy(X, Y)


def test_int32_targets_accepted():
    torch.testing.assert_close(L.ce_loss(X, Y.int()), L.ce_loss(X, Y))
