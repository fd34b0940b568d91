import pytest
import torch

from noisylabels.errors import UsageError
from noisylabels.methods.base import StepState
from noisylabels.weighting import ConfidenceWeighting, confidence_weights, label_confidence


def _probs_logits():
    p = torch.tensor([[0.9, 0.05, 0.05], [0.3, 0.6, 0.1], [0.2, 0.2, 0.6], [0.59, 0.4, 0.01]])
    return p, p.log()


def test_soft_and_hard_against_reference():
    p, logits = _probs_logits()
    y = torch.tensor([0, 0, 2, 0])
    c = p[torch.arange(4), y]
    soft = confidence_weights(logits, y, tau=0.6, mode="soft")
    hard = confidence_weights(logits, y, tau=0.6, mode="hard")
    torch.testing.assert_close(soft, torch.clamp(c / 0.6, max=1.0))
    torch.testing.assert_close(hard, torch.tensor([1.0, 0.0, 1.0, 0.0]))
    assert not soft.requires_grad


def test_threshold_edge_is_inclusive():
    logits = torch.log(torch.tensor([[0.5, 0.5]], dtype=torch.float64))
    assert confidence_weights(logits, torch.tensor([0]), tau=0.5, mode="hard").item() == 1.0


def test_soft_target_confidence():
    p, logits = _probs_logits()
    t = torch.tensor([[0.5, 0.5, 0.0]] * 4)
    torch.testing.assert_close(label_confidence(logits, t), 0.5 * (p[:, 0] + p[:, 1]))


def test_warmup_gives_uniform():
    cw = ConfidenceWeighting(tau=0.6, mode="hard", warmup_epochs=2)
    _, logits = _probs_logits()
    y = torch.tensor([0, 0, 2, 0])
    assert cw.weights(torch.zeros(4), StepState(1, 10, 5, 10), logits, y) is None
    w = cw.weights(torch.zeros(4), StepState(2, 20, 5, 10), logits, y)
    torch.testing.assert_close(w, torch.tensor([1.0, 0.0, 1.0, 0.0]))


@pytest.mark.parametrize("tau,mode", [(0.0, "soft"), (1.5, "soft"), (0.5, "fuzzy")])
def test_bad_arguments(tau, mode):
    with pytest.raises(UsageError):
        confidence_weights(torch.zeros(1, 2), torch.tensor([0]), tau=tau, mode=mode)


def test_normalized_confidence_weights_have_mean_one_and_same_order():
    from noisylabels.methods.base import StepState
    from noisylabels.weighting.confidence import ConfidenceWeighting

    g = torch.Generator().manual_seed(0)
    logits = torch.randn(64, 5, generator=g)
    target = torch.randint(0, 5, (64,), generator=g)
    state = StepState(epoch=0, step=0, num_epochs=1, steps_per_epoch=1)
    raw = ConfidenceWeighting(tau=0.6).weights(torch.zeros(64), state, logits, target)
    norm = ConfidenceWeighting(tau=0.6, normalize=True).weights(
        torch.zeros(64), state, logits, target
    )
    assert torch.allclose(norm.mean(), torch.tensor(1.0))
    assert torch.allclose(norm, raw / raw.mean())
    # Hard mode with nobody above tau: uniform, not a division by zero.
    hard = ConfidenceWeighting(tau=1.0, mode="hard", normalize=True)
    assert torch.equal(hard.weights(torch.zeros(64), state, logits, target), torch.ones(64))
