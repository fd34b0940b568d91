import torch
import torch.nn.functional as F
from torch import nn

from noisylabels import losses
from noisylabels.methods import CoTeachingMethod
from noisylabels.methods.base import Batch, StepState


def _toy_nets():
    """Sample i only touches weight column i (inputs are one-hot), so gradients show which
    samples each network was trained on."""
    b = 6
    with torch.random.fork_rng(devices=[]):
        a, bnet = nn.Linear(b, 2, bias=False), nn.Linear(b, 2, bias=False)
    with torch.no_grad():
        good, bad = torch.tensor([5.0, 0.0]), torch.tensor([0.0, 5.0])
        a.weight[:] = torch.stack([good, good, good, bad, bad, bad], 1)  # A: 0-2 small loss
        bnet.weight[:] = torch.stack([bad, bad, bad, good, good, good], 1)  # B: 3-5 small loss
    return a, bnet


def test_each_network_learns_from_the_other_networks_picks():
    net_a, net_b = _toy_nets()
    m = CoTeachingMethod(net_a, net_b, losses.get("ce"), forget_rate=0.5, num_gradual=1)
    x, y = torch.eye(6), torch.zeros(6, dtype=torch.long)
    out = m.step(Batch(x, y, torch.arange(6)), StepState(1, 10, 3, 10))
    assert out.extras["forget_rate"] == 0.5
    ce_a = F.cross_entropy(net_a(x), y, reduction="none")
    ce_b = F.cross_entropy(net_b(x), y, reduction="none")
    torch.testing.assert_close(out.loss, ce_a[3:].mean() + ce_b[:3].mean())
    assert out.weights.tolist() == [0, 0, 0, 1, 1, 1]  # A is trained on B's picks
    out.loss.backward()
    used_a = net_a.weight.grad.abs().sum(0) > 0
    used_b = net_b.weight.grad.abs().sum(0) > 0
    assert used_a.tolist() == [False, False, False, True, True, True]
    assert used_b.tolist() == [True, True, True, False, False, False]


def test_first_epoch_forgets_one_step_of_the_ramp():
    net_a, net_b = _toy_nets()
    m = CoTeachingMethod(net_a, net_b, losses.get("ce"), forget_rate=0.5, num_gradual=5)
    x, y = torch.eye(6), torch.zeros(6, dtype=torch.long)
    out = m.step(Batch(x, y, torch.arange(6)), StepState(0, 0, 10, 10))
    # official: the first training epoch uses linspace(0, 0.5, 5)[1] = 0.125 -> keep 5 of 6
    assert out.extras["forget_rate"] == 0.125 and int(out.weights.sum()) == 5
    assert m.rate(StepState(2, 0, 10, 10)) == 0.375
    assert m.rate(StepState(3, 0, 10, 10)) == 0.5
