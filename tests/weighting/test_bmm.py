import numpy as np
import pytest
import torch
from scipy import stats

from noisylabels.errors import UsageError
from noisylabels.weighting import BetaMixture, beta_log_pdf, fit_loss_mixture, sample_beta


def test_beta_log_pdf_matches_scipy():
    x = torch.linspace(0.01, 0.99, 50, dtype=torch.float64)
    for a, b in [(0.5, 0.5), (2.0, 5.0), (30.0, 1.2)]:
        got = beta_log_pdf(
            x, torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)
        )
        np.testing.assert_allclose(got.numpy(), stats.beta.logpdf(x.numpy(), a, b), rtol=1e-10)


def test_em_recovers_two_separated_components():
    g = torch.Generator().manual_seed(0)
    x = torch.cat([sample_beta(2, 8, 3000, g), sample_beta(8, 2, 1500, g)]).double()
    bmm = BetaMixture(max_iters=200).fit(x)
    lo, hi = (0, 1) if bmm.means()[0] < bmm.means()[1] else (1, 0)
    assert bmm.weights[lo].item() == pytest.approx(2 / 3, abs=0.03)
    assert bmm.means()[lo].item() == pytest.approx(0.2, abs=0.03)
    assert bmm.means()[hi].item() == pytest.approx(0.8, abs=0.03)
    assert bmm.noisy_component() == hi


def test_loss_mixture_separates_clean_from_noisy_losses():
    # CE-like losses: clean ones near 0 (exponential), mislabelled ones around 3
    g = torch.Generator().manual_seed(0)
    clean = -torch.log(torch.rand(6000, generator=g)) * 0.3
    noisy = (3 + 0.7 * torch.randn(4000, generator=g)).clamp_min(0.05)
    losses = torch.cat([clean, noisy])
    mix = fit_loss_mixture(losses)  # official 10 EM iterations
    p = mix.noisy_probability(losses)
    truth = torch.cat([torch.zeros(6000), torch.ones(4000)]).bool()
    assert ((p > 0.5) == truth).float().mean() > 0.95
    assert p[:6000].mean() < 0.05 and p[6000:].mean() > 0.8
    assert p.min() >= 1e-4 and p.max() <= 1 - 1e-4
    # monotone fix: beyond the posterior's peak, larger losses are never less noisy
    grid = torch.linspace(0, 100, 2000)
    q = mix.noisy_probability(grid)
    assert (q.diff() >= 0).all()
    assert q[-1].item() == pytest.approx(min(mix.peak_p.item(), 1 - 1e-4), rel=1e-6)


def test_needs_two_losses():
    with pytest.raises(UsageError):
        fit_loss_mixture(torch.tensor([1.0, float("nan")]))


def test_normalised_losses_replace_only_values_outside_the_open_unit_interval():
    from noisylabels.weighting.bmm import replace_out_of_range

    x = torch.tensor([-0.5, 0.0, 1e-5, 5e-4, 0.5, 0.9995, 1.0, 2.0], dtype=torch.float64)
    got = replace_out_of_range(x)
    # official: loss_tr[loss_tr >= 1] = 1 - 10e-4; loss_tr[loss_tr <= 0] = 10e-4
    ref = x.numpy().copy()
    ref[ref >= 1] = 1 - 10e-4
    ref[ref <= 0] = 10e-4
    np.testing.assert_array_equal(got.numpy(), ref)
    mix = fit_loss_mixture(torch.linspace(0, 1, 101, dtype=torch.float64))
    near_lo = mix.normalise(mix.lo + 1e-6 * (mix.hi - mix.lo)).item()
    assert near_lo == pytest.approx(1e-6, rel=1e-4)  # kept, not raised to 1e-3
