"""Co-teaching (Han et al., NeurIPS 2018): two networks teach each other with small-loss samples.

See :mod:`noisylabels.weighting.coteaching` for the selection rule and the forget-rate schedule.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from noisylabels.errors import UsageError
from noisylabels.methods.base import Batch, Method, StepOutput, StepState
from noisylabels.weighting.coteaching import check_forget_rate, coteaching_select, forget_rate_at


class CoTeachingMethod(Method):
    """Two networks; each is updated on the small-loss samples picked by the other.

    ``networks[0]`` (network A) is the one evaluated. The returned loss is
    ``loss_A + loss_B`` (their parameters are disjoint, so one optimiser step updates both as
    two separate optimisers would), ``logits``/``per_sample_loss`` are network A's, and
    ``weights`` marks the samples network A was trained on (picked by B) with 1.

    Args:
        net_a: Network A (evaluated).
        net_b: Network B (should start from a different initialisation).
        loss: Per-sample loss module (official: cross entropy).
        forget_rate: Final share of each batch dropped (official default: the noise rate).
        num_gradual: Epochs of the linear ramp ``T_k`` (official 10).
        loss_name: For :meth:`hparams`.

    Example:
        >>> from noisylabels import losses
        >>> from noisylabels.methods.base import Batch, StepState
        >>> m = CoTeachingMethod(torch.nn.Linear(4, 3), torch.nn.Linear(4, 3), losses.get("ce"),
        ...                      forget_rate=0.5, num_gradual=1)
        >>> batch = Batch(torch.randn(8, 4), torch.randint(0, 3, (8,)), torch.arange(8))
        >>> out = m.step(batch, StepState(epoch=3, step=30, num_epochs=5, steps_per_epoch=10))
        >>> int(out.weights.sum()), out.extras["forget_rate"]
        (4, 0.5)
    """

    def __init__(
        self,
        net_a: nn.Module,
        net_b: nn.Module,
        loss: nn.Module,
        *,
        forget_rate: float,
        num_gradual: int = 10,
        loss_name: str = "ce",
    ) -> None:
        super().__init__([net_a, net_b])
        self.loss = loss
        self.forget_rate = check_forget_rate(forget_rate)
        if isinstance(num_gradual, bool) or not isinstance(num_gradual, int) or num_gradual < 0:
            raise UsageError(f"num_gradual must be an integer >= 0, got {num_gradual!r}")
        self.num_gradual = num_gradual
        self.loss_name = loss_name

    def rate(self, state: StepState) -> float:
        """Forget rate of the current epoch."""
        return forget_rate_at(state.epoch, self.forget_rate, self.num_gradual)

    def step(self, batch: Batch, state: StepState) -> StepOutput:
        """Both forwards, cross selection, sum of the two selected-sample mean losses."""
        x, y = batch.x, batch.y
        net_a, net_b = self.networks[0], self.networks[1]
        logits_a = net_a(x)
        logits_b = net_b(x)
        loss_a = self.loss(logits_a, y, reduction="none")
        loss_b = self.loss(logits_b, y, reduction="none")
        rate = self.rate(state)
        picked_by_a, picked_by_b = coteaching_select(loss_a, loss_b, rate)
        total = loss_a[picked_by_b].mean() + loss_b[picked_by_a].mean()
        weights = torch.zeros_like(loss_a, dtype=torch.float32)
        weights[picked_by_b] = 1.0
        return StepOutput(total, logits_a.detach(), loss_a.detach(), weights, {"forget_rate": rate})

    def hparams(self) -> dict[str, Any]:
        """Resolved hyperparameters."""
        out: dict[str, Any] = {"method": "coteaching", "loss": self.loss_name}
        loss_hp = getattr(self.loss, "hparams", None)
        if callable(loss_hp):
            out.update(loss_hp())
        out.update(forget_rate=self.forget_rate, num_gradual=self.num_gradual, exponent=1)
        return out
