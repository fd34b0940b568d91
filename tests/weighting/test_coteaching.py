import pytest
import torch

from noisylabels.errors import UsageError
from noisylabels.weighting import coteaching_select, forget_rate_at, num_remember
from noisylabels.weighting.coteaching import check_forget_rate


def test_forget_schedule_is_official_linspace():
    import numpy as np

    rate, tk = 0.45, 10
    official = np.ones(30) * rate
    official[:tk] = np.linspace(0, rate, tk)
    got = [forget_rate_at(e, rate, tk) for e in range(30)]
    np.testing.assert_allclose(got, official, rtol=0, atol=1e-12)
    assert forget_rate_at(0, 0.3, 1) == 0.0 and forget_rate_at(1, 0.3, 1) == 0.3


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
