r"""Co-teaching sample selection (Han et al., NeurIPS 2018; official code bhanML/Co-teaching).

Two networks are trained at once. In each mini-batch each network ranks the samples by its own
loss and keeps the :math:`R(T) = 1 - \tau(T)` fraction with the smallest loss; each network is
then updated on the samples kept by the *other* one, so the two filter each other's errors.
The forget rate :math:`\tau(T)` grows linearly from 0 to ``forget_rate`` over the first
:math:`T_k` epochs (``num_gradual``) and then stays there; the official schedule is
``linspace(0, forget_rate, T_k)`` indexed by epochs ``0..T_k-1`` (exponent ``c = 1``), and its
first training epoch is epoch 1 (see :func:`forget_rate_at`).
"""

from __future__ import annotations

import math

import torch

from noisylabels.errors import UsageError


def check_forget_rate(rate: object) -> float:
    """``forget_rate`` must lie in ``[0, 1)``."""
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
        raise UsageError(f"forget_rate must lie in [0, 1), got {rate!r}")
    return float(rate)


def forget_rate_at(epoch: int, forget_rate: float, num_gradual: int) -> float:
    r"""Forget rate of the 0-based training ``epoch``: ``forget_rate * min((epoch+1)/(T_k-1), 1)``.

    The official code builds ``rate_schedule[:T_k] = linspace(0, forget_rate, T_k)`` (the rest
    ``forget_rate``) and trains its epochs ``1 .. n_epoch - 1`` with ``rate_schedule[epoch]``
    (its epoch 0 is only an evaluation of the untrained networks). Our first training epoch is
    therefore its epoch 1: it already drops ``forget_rate / (T_k - 1)`` of each batch. With
    ``T_k <= 1`` the full rate applies from the first epoch.

    Example:
        >>> [round(forget_rate_at(e, 0.4, 5), 2) for e in range(6)]
        [0.1, 0.2, 0.3, 0.4, 0.4, 0.4]
    """
    if num_gradual <= 1:
        return forget_rate
    return forget_rate * min((max(epoch, 0) + 1) / (num_gradual - 1), 1.0)


def num_remember(batch_size: int, forget_rate: float) -> int:
    """How many samples each network keeps: ``floor((1 - rate) * B)``, at least 1.

    A tiny tolerance keeps round-off from dropping a sample (``(1 - 0.9) * 10`` is
    ``0.999...`` in floating point; the official ``int()`` would keep 0).
    """
    return max(1, min(batch_size, math.floor((1.0 - forget_rate) * batch_size + 1e-9)))


def small_loss_indices(losses: torch.Tensor, keep: int) -> torch.Tensor:
    """Indices of the ``keep`` smallest (detached) losses."""
    return torch.topk(losses.detach(), keep, largest=False, sorted=False).indices


def coteaching_select(
    loss_a: torch.Tensor, loss_b: torch.Tensor, forget_rate: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Small-loss picks of each network: ``(picked_by_a, picked_by_b)``.

    Network A is to be updated on ``picked_by_b`` and network B on ``picked_by_a``.

    Example:
        >>> a = torch.tensor([0.1, 0.9, 0.2, 0.8])
        >>> b = torch.tensor([0.9, 0.1, 0.2, 0.8])
        >>> [sorted(i.tolist()) for i in coteaching_select(a, b, 0.5)]
        [[0, 2], [1, 2]]
    """
    keep = num_remember(loss_a.shape[0], forget_rate)
    return small_loss_indices(loss_a, keep), small_loss_indices(loss_b, keep)
