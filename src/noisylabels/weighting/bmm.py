r"""Two-component beta mixture on per-sample losses.

Arazo et al., "Unsupervised Label Noise Modeling and Loss Correction", ICML 2019.

Early in training clean samples have low loss and mislabelled ones high loss. A two-component
beta mixture fitted to the (normalised) training losses gives each sample's probability of
being mislabelled, :math:`P(\text{noisy} \mid \ell_i)`, the posterior of the high-loss
component. As in the official code (PaulAlbert31/LabelNoiseCorrection):

* losses outside the 5th-95th percentile are left out of the fit and the rest are min-max
  normalised with those percentiles; normalised values ``>= 1`` become ``1 - 1e-3`` and values
  ``<= 0`` become ``1e-3``, values strictly inside ``(0, 1)`` are kept as they are (the
  official ``loss_tr[loss_tr >= 1] = 1 - 10e-4; loss_tr[loss_tr <= 0] = 10e-4``, also applied
  to the batch losses whose posterior is queried; the fit itself then clips to
  ``[1e-4, 1 - 1e-4]``);
* EM starts from :math:`\mathrm{Beta}(1, 2)` (clean) and :math:`\mathrm{Beta}(2, 1)` (noisy) with
  equal weights and runs 10 iterations; the M-step is a weighted method of moments,
  :math:`a = \bar x (\bar x (1-\bar x)/s^2 - 1)`, :math:`b = a (1-\bar x)/\bar x`;
* the noisy posterior is made non-decreasing above its peak (losses beyond the peak are
  "at least as noisy"), and the result is clipped to ``[1e-4, 1 - 1e-4]``.

We evaluate the posterior exactly instead of through the official 100-bin lookup table, and
pick the noisy component as the one with the larger mean rather than by its index. Densities
use ``lgamma``; everything runs in float64 on the losses' device, with no randomness.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from noisylabels.errors import UsageError

_FIT_EPS = 1e-4
_NORM_EPS = 1e-3
_POST_EPS = 1e-4


def beta_log_pdf(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r""":math:`\log \mathrm{Beta}(x; a, b) = (a-1)\log x + (b-1)\log(1-x) - \log B(a, b)`."""
    log_norm = torch.lgamma(a) + torch.lgamma(b) - torch.lgamma(a + b)
    return (a - 1) * x.log() + (b - 1) * torch.log1p(-x) - log_norm


def _weighted_moments(x: torch.Tensor, r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    rs = r.sum().clamp_min(1e-300)
    mean = (r * x).sum() / rs
    var = (r * (x - mean) ** 2).sum() / rs
    mean = mean.clamp(1e-6, 1 - 1e-6)
    var = torch.minimum(var.clamp_min(1e-10), mean * (1 - mean) * (1 - 1e-6))
    a = mean * (mean * (1 - mean) / var - 1)
    b = a * (1 - mean) / mean
    return a.clamp(1e-2, 1e5), b.clamp(1e-2, 1e5)


class BetaMixture:
    """Two-component beta mixture fitted by EM with a weighted method-of-moments M-step.

    Args:
        max_iters: EM iterations (official: 10).
        alphas: Initial first shape parameters (official: 1, 2).
        betas: Initial second shape parameters (official: 2, 1).
        weights: Initial mixing weights (official: 0.5, 0.5).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> from noisylabels.weighting.mixup import sample_beta
        >>> x = torch.cat([sample_beta(2, 8, 700, g), sample_beta(8, 2, 300, g)]).double()
        >>> bmm = BetaMixture(max_iters=100).fit(x)
        >>> [round(w, 1) for w in bmm.weights.tolist()]
        [0.7, 0.3]
    """

    def __init__(
        self,
        max_iters: int = 10,
        alphas: tuple[float, float] = (1.0, 2.0),
        betas: tuple[float, float] = (2.0, 1.0),
        weights: tuple[float, float] = (0.5, 0.5),
    ) -> None:
        self.max_iters = max_iters
        self.alphas = torch.tensor(alphas, dtype=torch.float64)
        self.betas = torch.tensor(betas, dtype=torch.float64)
        self.weights = torch.tensor(weights, dtype=torch.float64)

    def to(self, device: torch.device | str) -> BetaMixture:
        """Move the parameters to ``device``."""
        self.alphas = self.alphas.to(device)
        self.betas = self.betas.to(device)
        self.weights = self.weights.to(device)
        return self

    def weighted_log_likelihood(self, x: torch.Tensor) -> torch.Tensor:
        """``log(pi_k) + log Beta(x; a_k, b_k)``, shape ``(2, N)``."""
        x = x.to(torch.float64).unsqueeze(0)
        a, b = self.alphas.unsqueeze(1), self.betas.unsqueeze(1)
        return self.weights.clamp_min(1e-300).log().unsqueeze(1) + beta_log_pdf(x, a, b)

    def responsibilities(self, x: torch.Tensor) -> torch.Tensor:
        """Posterior of each component, ``(2, N)``.

        Likelihoods are floored at 1e-12 before normalising, as in the official code.
        """
        r = self.weighted_log_likelihood(x).exp().clamp_min(1e-12)
        return r / r.sum(dim=0, keepdim=True)

    def fit(self, x: torch.Tensor) -> BetaMixture:
        """Run EM on values ``x`` in ``(0, 1)`` (clipped to ``[1e-4, 1 - 1e-4]``)."""
        x = x.detach().to(torch.float64).clamp(_FIT_EPS, 1 - _FIT_EPS)
        self.to(x.device)
        for _ in range(self.max_iters):
            r = self.responsibilities(x)
            params = [_weighted_moments(x, r[k]) for k in range(2)]
            self.alphas = torch.stack([p[0] for p in params])
            self.betas = torch.stack([p[1] for p in params])
            self.weights = r.sum(dim=1) / r.sum()
        return self

    def means(self) -> torch.Tensor:
        """Component means ``a / (a + b)``."""
        return self.alphas / (self.alphas + self.betas)

    def noisy_component(self) -> int:
        """Index of the high-loss (noisy) component."""
        return int(self.means().argmax())

    def posterior_noisy(self, x: torch.Tensor) -> torch.Tensor:
        """Raw posterior of the noisy component at ``x`` (no monotone fix)."""
        return self.responsibilities(x.clamp(_FIT_EPS, 1 - _FIT_EPS))[self.noisy_component()]


@dataclass
class LossMixture:
    """A beta mixture fitted to losses, with the normalisation used to fit it.

    Use :func:`fit_loss_mixture` to build one and :meth:`noisy_probability` to query it.
    """

    bmm: BetaMixture
    lo: torch.Tensor  # 0-dim float64: 5th percentile (+1e-5) of the fitted losses
    hi: torch.Tensor  # 0-dim float64: 95th percentile
    peak_x: torch.Tensor  # normalised loss at which the noisy posterior peaks
    peak_p: torch.Tensor  # the peak posterior value

    def normalise(self, losses: torch.Tensor) -> torch.Tensor:
        """Losses min-max scaled with the fitted percentiles, see :func:`replace_out_of_range`."""
        x = (losses.detach().to(torch.float64) - self.lo) / (self.hi - self.lo + 1e-6)
        return replace_out_of_range(x)

    def noisy_probability(self, losses: torch.Tensor) -> torch.Tensor:
        r""":math:`P(\text{noisy} \mid \ell)` per sample, in ``[1e-4, 1 - 1e-4]``, float32."""
        x = self.normalise(losses)
        p = self.bmm.posterior_noisy(x)
        p = torch.where(x >= self.peak_x, self.peak_p, p)
        return p.clamp(_POST_EPS, 1 - _POST_EPS).to(torch.float32)


def replace_out_of_range(x: torch.Tensor) -> torch.Tensor:
    """Values ``>= 1`` become ``1 - 1e-3`` and values ``<= 0`` become ``1e-3``; others stay.

    This is the official replacement of normalised losses (not a clamp: ``0.9995`` stays).
    """
    x = torch.where(x >= 1, torch.full_like(x, 1 - _NORM_EPS), x)
    return torch.where(x <= 0, torch.full_like(x, _NORM_EPS), x)


def fit_loss_mixture(losses: torch.Tensor, max_iters: int = 10) -> LossMixture:
    """Fit a :class:`BetaMixture` to per-sample losses the way Arazo et al. do.

    Args:
        losses: 1-D tensor of per-sample losses (any device; at least 2 finite values).
        max_iters: EM iterations.

    Raises:
        UsageError: If fewer than two finite losses are given.
    """
    v = losses.detach().to(torch.float64).flatten()
    v = v[torch.isfinite(v)]
    if v.numel() < 2:
        raise UsageError("the loss mixture needs at least two finite per-sample losses")
    q = torch.quantile(v, torch.tensor([0.05, 0.95], dtype=torch.float64, device=v.device))
    lo_p, hi_p = q[0], q[1]
    kept = v[(v >= lo_p) & (v <= hi_p)]
    lo = lo_p + 1e-5
    x = replace_out_of_range((kept - lo) / (hi_p - lo + 1e-6))
    bmm = BetaMixture(max_iters=max_iters).fit(x)
    grid = torch.linspace(_NORM_EPS, 1 - _NORM_EPS, 1000, dtype=torch.float64, device=v.device)
    post = bmm.posterior_noisy(grid)
    i = post.argmax()
    return LossMixture(bmm=bmm, lo=lo, hi=hi_p, peak_x=grid[i], peak_p=post[i])
