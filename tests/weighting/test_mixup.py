import numpy as np
import pytest
import torch
from scipy import stats

from noisylabels.errors import UsageError
from noisylabels.weighting import (
    mix_pairs,
    mixup,
    partner_indices,
    sample_beta,
    smoothed_targets,
    smoothing_scale,
    weighted_mixup,
)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("a,b", [(0.2, 0.2), (1.0, 1.0), (2.0, 5.0), (32.0, 32.0)])
def test_beta_sampler_matches_distribution(a, b):
    x = sample_beta(a, b, 20000, _gen(1), dtype=torch.float64).numpy()
    assert ((x >= 0) & (x <= 1)).all()
    # Kolmogorov-Smirnov against scipy's Beta CDF
    assert stats.kstest(x, stats.beta(a, b).cdf).pvalue > 1e-3


def test_beta_sampler_is_reproducible():
    assert torch.equal(sample_beta(2, 2, 10, _gen(5)), sample_beta(2, 2, 10, _gen(5)))
    with pytest.raises(UsageError):
        sample_beta(0.0, 1.0, 3, _gen())


def test_partner_sampling_frequencies_follow_weights():
    w = torch.tensor([4.0, 2.0, 1.0, 1.0, 0.0, 8.0])
    n_draws = 60000
    g = _gen(3)
    counts = torch.zeros(6)
    for _ in range(n_draws // 6):
        counts += torch.bincount(partner_indices(6, g, w), minlength=6)
    expected = (w / w.sum() * n_draws).numpy()
    assert counts[4] == 0
    nz = expected > 0
    chi2 = (((counts.numpy() - expected) ** 2)[nz] / expected[nz]).sum()
    assert chi2 < stats.chi2(df=nz.sum() - 1).ppf(0.999)


def test_weighted_sampling_in_mixup_follows_weights():
    b = 8
    x = torch.eye(b)
    y = torch.arange(b)
    w = torch.arange(1.0, b + 1)
    g = _gen(4)
    counts = torch.zeros(b)
    n_rounds = 3000
    for _ in range(n_rounds):
        counts += torch.bincount(weighted_mixup(x, y, w, "sample_w", 1.0, g).index, minlength=b)
    expected = (w / w.sum() * b * n_rounds).numpy()
    chi2 = ((counts.numpy() - expected) ** 2 / expected).sum()
    assert chi2 < stats.chi2(df=b - 1).ppf(0.999)


def test_weight_w_ratio_and_mixing():
    g = _gen(0)
    x = torch.randn(6, 3, 4, 4, generator=g)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    w = torch.tensor([0.5, 1.0, 2.0, 0.1, 3.0, 0.0])
    for mode in ("weight_w", "sample_weight_w"):
        mb = weighted_mixup(x, y, w, mode, 1.0, g)
        j = mb.index
        tot = w + w[j]
        ref = torch.where(tot > 0, w / tot, torch.full_like(w, 0.5))
        torch.testing.assert_close(mb.lam, ref)
        lam = mb.lam.view(-1, 1, 1, 1)
        torch.testing.assert_close(mb.x, lam * x + (1 - lam) * x[j])
        dense = mb.dense(3)
        ref_t = mb.lam[:, None] * torch.eye(3)[y] + (1 - mb.lam[:, None]) * torch.eye(3)[y[j]]
        torch.testing.assert_close(dense, ref_t)
    # weight_w pairs come from a permutation
    assert sorted(weighted_mixup(x, y, w, "weight_w", 1.0, g).index.tolist()) == list(range(6))


def test_vanilla_mixup_per_batch_and_per_sample():
    x = torch.randn(16, 5, generator=_gen(1))
    y = torch.randint(0, 4, (16,), generator=_gen(2))
    one = mixup(x, y, 1.0, _gen(3), per_sample=False)
    assert torch.unique(one.lam).numel() == 1
    many = mixup(x, y, 1.0, _gen(3), per_sample=True)
    assert torch.unique(many.lam).numel() == 16
    assert sorted(many.index.tolist()) == list(range(16))
    torch.testing.assert_close(many.dense(4).sum(1), torch.ones(16))
    # a precomputed ratio is used as is
    fixed = mixup(x, y, 1.0, _gen(3), lam=torch.full((16,), 0.3))
    torch.testing.assert_close(fixed.x, 0.3 * x + 0.7 * x[fixed.index])


def test_label_smoothing_targets():
    w = torch.tensor([1.0, 0.0, 3.0, 2.0])
    logits = torch.tensor([[0.0, 2.0], [5.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    y = torch.tensor([0, 1, 1, 0])
    # plain min-max (margin 0): s = (w - min) / (max - min)
    s = smoothing_scale(w, margin=0.0)
    torch.testing.assert_close(s, torch.tensor([1 / 3, 0.0, 1.0, 2 / 3]))
    labels, coefs = smoothed_targets(y, logits, w, margin=0.0)
    assert labels.tolist() == [[0, 1], [1, 0], [1, 1], [0, 0]]
    torch.testing.assert_close(coefs[:, 0], s)
    # official margin 0.01 on sum-1 weights: lo = max(0 - 0.01, 0) = 0, hi = 0.5 + 0.01
    torch.testing.assert_close(smoothing_scale(w), (w / 6) / 0.51)
    mb = weighted_mixup(torch.eye(4), y, w, "label_smoothing_w", 1.0, _gen(), logits=logits)
    assert mb.labels.shape == (4, 4)
    torch.testing.assert_close(mb.coefs.sum(1), torch.ones(4))
    with pytest.raises(UsageError):
        weighted_mixup(torch.eye(4), y, w, "label_smoothing_w", 1.0, _gen())


def test_component_targets_mix():
    labels = torch.tensor([[0, 1], [2, 2]])
    coefs = torch.tensor([[0.25, 0.75], [0.5, 0.5]])
    mb = mix_pairs(torch.zeros(2, 1), (labels, coefs), torch.tensor([1, 0]), torch.tensor(0.5))
    torch.testing.assert_close(
        mb.dense(3), torch.tensor([[0.125, 0.375, 0.5], [0.125, 0.375, 0.5]])
    )


def test_unknown_mode():
    with pytest.raises(UsageError):
        weighted_mixup(torch.eye(2), torch.tensor([0, 1]), torch.ones(2), "cutmix", 1.0, _gen())


def test_all_zero_weights_fall_back_to_uniform():
    idx = partner_indices(5, _gen(), torch.zeros(5))
    assert idx.shape == (5,)
    mb = weighted_mixup(torch.eye(3), torch.arange(3), torch.zeros(3), "weight_w", 1.0, _gen())
    torch.testing.assert_close(mb.lam, torch.full((3,), 0.5))
    assert np.isfinite(mb.x.numpy()).all()
