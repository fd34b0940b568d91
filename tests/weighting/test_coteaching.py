import pytest
import torch

from noisylabels.errors import UsageError
from noisylabels.weighting import coteaching_select, forget_rate_at, num_remember
from noisylabels.weighting.coteaching import check_forget_rate


@pytest.mark.parametrize("tk", [0, 1, 2, 5, 10])
def test_forget_schedule_is_official_linspace_from_its_first_training_epoch(tk):
    import numpy as np

    # official main.py: rate_schedule = ones(n_epoch) * rate; rate_schedule[:T_k] =
    # linspace(0, rate, T_k); training epochs are 1 .. n_epoch - 1 (epoch 0 only evaluates)
    rate, n_epoch = 0.45, 31
    official = np.ones(n_epoch) * rate
    official[:tk] = np.linspace(0, rate, tk)
    got = [forget_rate_at(e, rate, tk) for e in range(n_epoch - 1)]
    np.testing.assert_allclose(got, official[1:], rtol=0, atol=1e-12)


def test_first_training_epoch_already_forgets():
    assert forget_rate_at(0, 0.4, 5) == pytest.approx(0.1)
    assert forget_rate_at(0, 0.3, 1) == 0.3


def test_num_remember():
    assert num_remember(10, 0.9) == 1  # (1 - 0.9) * 10 = 0.999... must not drop to 0
    assert num_remember(128, 0.2) == 102
    assert num_remember(5, 0.0) == 5
    assert num_remember(3, 0.99) == 1


def test_selection_picks_small_losses_of_each_network():
    la = torch.tensor([0.5, 0.1, 0.9, 0.3, 0.7])
    lb = torch.tensor([0.1, 0.9, 0.2, 0.8, 0.3])
    pa, pb = coteaching_select(la, lb, 0.4)  # keep 3
    assert sorted(pa.tolist()) == [0, 1, 3]
    assert sorted(pb.tolist()) == [0, 2, 4]


def test_bad_rate():
    with pytest.raises(UsageError):
        check_forget_rate(1.0)
