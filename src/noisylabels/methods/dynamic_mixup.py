r"""Mixup with dynamic hard bootstrapping guided by a beta mixture (Arazo et al., ICML 2019).

This is the paper's **M-DYR-H** ("mixup + dynamic bootstrapping, hard"), the variant the
official ``RunScripts.sh`` runs as ``--Mixup Static --BootBeta Hard``. For a batch mixed with
ratio :math:`\lambda \sim \mathrm{Beta}(\alpha, \alpha)` (one per batch) and partners
:math:`j = \pi(i)` from a random permutation,

.. math::

    \ell_i = \lambda\big[(1-w_i)\,\mathrm{CE}(\tilde z_i, y_i)
                + w_i\,\mathrm{CE}(\tilde z_i, \hat y_i)\big]
      + (1-\lambda)\big[(1-w_j)\,\mathrm{CE}(\tilde z_i, y_j)
                + w_j\,\mathrm{CE}(\tilde z_i, \hat y_j)\big]

where :math:`\tilde z_i` are the logits of the mixed input, :math:`\hat y_i` the class the
network predicts for the *clean* input :math:`x_i` (no gradient) and
:math:`w_i = P(\text{noisy} \mid \ell_i)` from a two-component beta mixture fitted to the
per-sample cross-entropy losses (:func:`~noisylabels.weighting.fit_loss_mixture`). The official
code adds ``reg_term`` times :math:`\sum_k \frac1K \log\frac{1/K}{\bar p_k}` (a prior toward
balanced mean predictions :math:`\bar p` over the mixed batch); its run scripts use 1.0.

Warm-up: plain mixup with cross entropy until the first bootstrapping epoch (officially 105 of
300 epochs, just after the first learning-rate drop; here ``warmup_epochs``, by default 35% of
the run).

Differences from the official code, all for speed:

* the per-sample losses for the mixture are those of the clean forward pass each step already
  needs (stored by dataset index during the epoch, train mode), not a separate evaluation pass
  over the training set at the end of each epoch;
* :math:`w_i` comes from that same clean forward (official: a second, eval-mode forward);
* the posterior is evaluated exactly rather than through a 100-bin lookup table.

The paper's other variants (soft bootstrapping M-DYR-S, and MD-DYR-SH whose mixing ratios come
from the mixture) are not implemented.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from noisylabels.errors import UsageError
from noisylabels.methods.base import Batch, Method, StepOutput, StepState
from noisylabels.weighting.bmm import LossMixture, fit_loss_mixture
from noisylabels.weighting.mixup import mix_pairs, sample_beta


class DynamicMixupMethod(Method):
    """M-DYR-H: mixup + beta-mixture-guided hard bootstrapping (see the module docstring).

    Args:
        net: The network.
        num_classes: K.
        num_train: Size of the training set (per-sample loss memory).
        mixup_alpha: Beta parameter (official default 32).
        warmup_epochs: Epochs of plain mixup before bootstrapping starts (at least 1: the
            mixture is fitted on the losses of the previous epoch).
        reg_term: Weight of the balanced-prediction prior (official run scripts: 1.0).
        bmm_iters: EM iterations per fit (official: 10).
        seed: Seed of the method's own draws.
        device: Where the loss memory lives.
    """

    def __init__(
        self,
        net: nn.Module,
        *,
        num_classes: int,
        num_train: int,
        mixup_alpha: float = 32.0,
        warmup_epochs: int = 1,
        reg_term: float = 1.0,
        bmm_iters: int = 10,
        seed: int = 0,
        device: torch.device | str = "cpu",
    ) -> None:
        super().__init__([net])
        if not (isinstance(mixup_alpha, (int, float)) and mixup_alpha > 0):
            raise UsageError(f"mixup_alpha must be > 0, got {mixup_alpha!r}")
        if (
            isinstance(warmup_epochs, bool)
            or not isinstance(warmup_epochs, int)
            or (warmup_epochs < 1)
        ):
            raise UsageError(f"warmup_epochs must be an integer >= 1, got {warmup_epochs!r}")
        if not (isinstance(reg_term, (int, float)) and reg_term >= 0):
            raise UsageError(f"reg_term must be >= 0, got {reg_term!r}")
        if isinstance(bmm_iters, bool) or not isinstance(bmm_iters, int) or bmm_iters < 1:
            raise UsageError(f"bmm_iters must be an integer >= 1, got {bmm_iters!r}")
        if num_train < 1:
            raise UsageError(f"num_train must be >= 1, got {num_train}")
        self.num_classes = num_classes
        self.mixup_alpha = float(mixup_alpha)
        self.warmup_epochs = warmup_epochs
        self.reg_term = float(reg_term)
        self.bmm_iters = bmm_iters
        self.seed = int(seed)
        # float32 like the losses stored into it, whatever torch's default dtype is
        self.register_buffer(
            "loss_memory", torch.zeros(num_train, dtype=torch.float32, device=device)
        )
        self.register_buffer("seen", torch.zeros(num_train, dtype=torch.bool, device=device))
        self.mixture: LossMixture | None = None
        self._gens: dict[str, torch.Generator] = {}

    def _gen(self, device: torch.device) -> torch.Generator:
        key = str(device)
        if key not in self._gens:
            self._gens[key] = torch.Generator(device=device).manual_seed(self.seed * 2)
        return self._gens[key]

    def _draw_lam(self, device: torch.device) -> torch.Tensor:
        if "lam" not in self._gens:
            self._gens["lam"] = torch.Generator().manual_seed(self.seed * 2 + 1_000_003)
        return sample_beta(self.mixup_alpha, self.mixup_alpha, 1, self._gens["lam"]).to(
            device, non_blocking=True
        )[0]

    def bootstrapping(self, state: StepState) -> bool:
        """Whether this step bootstraps (after warm-up, once a mixture has been fitted)."""
        return self.mixture is not None and state.epoch >= self.warmup_epochs

    def step(self, batch: Batch, state: StepState) -> StepOutput:
        """Clean forward (no gradient), mixup, bootstrapped cross entropy on the mixed batch."""
        x, y, idx = batch.x, batch.y, batch.index
        net = self.net
        with torch.no_grad():
            logits0 = net(x)
            ce0 = F.cross_entropy(logits0.float(), y, reduction="none")
        self.loss_memory[idx] = ce0
        self.seen[idx] = True

        b = x.shape[0]
        index = torch.randperm(b, generator=self._gen(x.device), device=x.device)
        lam = self._draw_lam(x.device)
        boot = self.bootstrapping(state)
        weights = None
        if boot:
            assert self.mixture is not None
            p_noisy = self.mixture.noisy_probability(ce0)
            pred = logits0.argmax(dim=1)
            target: Any = (torch.stack([y, pred], 1), torch.stack([1 - p_noisy, p_noisy], 1))
            weights = 1 - p_noisy
        else:
            target = y
        mb = mix_pairs(x, target, index, lam)
        logits_m = net(mb.x)
        logp = logits_m.float().log_softmax(dim=1)
        per_m = -(mb.coefs * logp.gather(1, mb.labels)).sum(dim=1)
        loss = per_m.mean()
        if boot and self.reg_term > 0:
            mean_p = logp.exp().mean(dim=0).clamp_min(1e-12)
            k = self.num_classes
            loss = loss + self.reg_term * ((1.0 / k) * (math.log(1.0 / k) - mean_p.log())).sum()
        return StepOutput(loss, logits0.detach(), ce0, weights, {})

    def on_epoch_start(self, state: StepState) -> None:
        """Forget which samples were seen: each fit uses one epoch's losses."""
        self.seen.zero_()

    def on_epoch_end(self, state: StepState) -> None:
        """Refit the beta mixture on this epoch's losses (from the last warm-up epoch on)."""
        if state.epoch + 1 >= self.warmup_epochs and bool(self.seen.any()):
            self.mixture = fit_loss_mixture(self.loss_memory[self.seen], self.bmm_iters)

    def hparams(self) -> dict[str, Any]:
        """Resolved hyperparameters."""
        return {
            "method": "dynamic-mixup",
            "loss": "ce",
            "variant": "M-DYR-H",
            "mixup_alpha": self.mixup_alpha,
            "warmup_epochs": self.warmup_epochs,
            "reg_term": self.reg_term,
            "bmm_iters": self.bmm_iters,
        }
