r"""Training-dynamics scores: how each sample behaved during one training run on all labels.

A :class:`DynamicsRecorder` callback accumulates, per sample and over every epoch, the
unweighted per-sample loss, the logit margin of the given label and the method's weight (for
weighting methods such as CIW). From them (higher = label more likely correct):

* ``mean_loss``: minus the mean per-sample loss over epochs (small-loss criterion);
* ``small_loss``: :math:`1 - P(\text{noisy} \mid \bar\ell_i)`, the clean posterior of the
  two-component beta mixture fitted to the mean losses
  (:func:`noisylabels.weighting.bmm.fit_loss_mixture`, Arazo et al. 2019);
* ``weight``: the mean per-sample weight the method gave the sample over the steps where it
  reported weights (CIW, Zhang et al. 2021, after its burn-in), only for weighting methods;
* ``aum``: area under the margin (Pleiss et al., NeurIPS 2020),
  :math:`\mathrm{AUM}_i = \frac{1}{E}\sum_{e=1}^{E} \big(z_{\tilde y_i}^{(e)} -
  \max_{k \ne \tilde y_i} z_k^{(e)}\big)`, the mean over epochs of the logit margin of the
  given label.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from noisylabels.train.callbacks import Callback
from noisylabels.train.config import TrainConfig


def logit_margin(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    r""":math:`z_{y} - \max_{k \ne y} z_k` per row of ``logits`` ``(B, K)`` for labels ``(B,)``."""
    z = logits.float()
    own = z.gather(1, labels.view(-1, 1)).squeeze(1)
    others = z.scatter(1, labels.view(-1, 1), float("-inf"))
    return own - others.max(dim=1).values


class DynamicsRecorder(Callback):
    """Accumulates per-sample loss, logit margin and weight over a run (rows of the dataset).

    After training, :meth:`scores` returns the training-dynamics label-quality scores for every
    row of the dataset's training set (NaN for rows the run never trained on: its validation
    split).
    """

    def on_train_start(self, run: Any) -> None:
        """Allocate the per-sample sums on the training device."""
        n = len(run.noisy_labels)
        dev = run.device
        self.positions = run.train_positions.to(dev)
        self.n = n
        self.loss_sum = torch.zeros(n, dtype=torch.float64, device=dev)
        self.margin_sum = torch.zeros(n, dtype=torch.float64, device=dev)
        self.weight_sum = torch.zeros(n, dtype=torch.float64, device=dev)
        self.count = torch.zeros(n, dtype=torch.float64, device=dev)
        self.weight_count = torch.zeros(n, dtype=torch.float64, device=dev)

    def on_batch_end(self, run: Any, batch: Any, out: Any, state: Any) -> None:
        """Add this batch's per-sample loss, margin and weight to its samples' sums."""
        rows = self.positions[batch.index]
        self.loss_sum.index_add_(0, rows, out.per_sample_loss.double())
        self.margin_sum.index_add_(0, rows, logit_margin(out.logits, batch.y).double())
        self.count.index_add_(0, rows, torch.ones_like(rows, dtype=torch.float64))
        if out.weights is not None:  # None during a weighting method's burn-in
            self.weight_sum.index_add_(0, rows, out.weights.double())
            self.weight_count.index_add_(0, rows, torch.ones_like(rows, dtype=torch.float64))

    def scores(self) -> dict[str, np.ndarray]:
        """``mean_loss``, ``small_loss``, ``aum`` and (weighting methods) ``weight``."""
        from noisylabels.weighting.bmm import fit_loss_mixture

        seen = self.count > 0
        c = self.count.clamp_min(1.0)
        nan = torch.full_like(c, float("nan"))
        mean_loss = torch.where(seen, self.loss_sum / c, nan)
        mixture = fit_loss_mixture(mean_loss[seen])
        clean_post = torch.where(
            seen, 1.0 - mixture.noisy_probability(mean_loss.nan_to_num()).double(), nan
        )
        out = {
            "mean_loss": (-mean_loss).cpu().numpy(),
            "small_loss": clean_post.cpu().numpy(),
            "aum": torch.where(seen, self.margin_sum / c, nan).cpu().numpy(),
        }
        if bool((self.weight_count > 0).any()):
            weighted = self.weight_count > 0
            mean_w = self.weight_sum / self.weight_count.clamp_min(1.0)
            out["weight"] = torch.where(weighted, mean_w, nan).cpu().numpy()
        return out


def dynamics_scores(
    config: TrainConfig, data: Any, labels: np.ndarray, *, progress: bool = False
) -> dict[str, np.ndarray]:
    """Train once on all of ``data``'s training set with ``labels`` and return its dynamics scores.

    The run uses ``config`` with no validation split (every sample is trained on), no
    further noise and no ``train_subset`` (``data`` is what is trained on).
    """
    import dataclasses

    from noisylabels.train import run

    rec = DynamicsRecorder()
    ds = dataclasses.replace(data, y_train=torch.as_tensor(np.asarray(labels), dtype=torch.long))
    run(
        config.replace(noise="clean", noise_seed=None, val_fraction=0.0, train_subset=None),
        callbacks=[rec],
        dataset=ds,
        progress=progress,
    )
    return rec.scores()
