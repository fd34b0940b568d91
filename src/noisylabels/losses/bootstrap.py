"""Soft and hard bootstrapping (Reed et al., ICLR workshop 2015)."""

from __future__ import annotations

import torch

from noisylabels.losses.common import LossModule, check_inputs, check_range, pick, reduce


def bootstrap_soft_matrix(logits: torch.Tensor, beta: float, detach: bool = False) -> torch.Tensor:
    """``L[b, k] = -beta log p_k - (1 - beta) sum_j p_j log p_j``."""
    logp = logits.log_softmax(dim=1)
    p = logp.exp()
    if detach:
        p = p.detach()
    return -beta * logp - (1.0 - beta) * (p * logp).sum(dim=1, keepdim=True)


def bootstrap_soft_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    beta: float = 0.95,
    detach: bool = False,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Soft bootstrapping: cross entropy against :math:`\beta e_y + (1 - \beta) p`.

    .. math:: -\beta \log p_y - (1 - \beta) \sum_k p_k \log p_k

    By default gradient flows through the ``p`` in the target, which makes the second term an
    entropy penalty, as Reed et al. describe ("minimum entropy regularisation") and as the SCE
    repository's Keras ``boot_soft`` computes. With ``detach=True`` the target is a constant; note
    that the gradient is then exactly ``beta`` times that of cross entropy (the ``p`` terms cancel),
    so the detached variant is only CE with a smaller learning rate.

    Args:
        logits: ``(B, K)`` unnormalised scores.
        target: ``(B,)`` integer labels or ``(B, K)`` soft targets (loss mixed over labels).
        beta: Weight of the given label, in ``[0, 1]`` (0.95 in the paper and SCE code).
        detach: Stop the gradient through the predicted part of the target.
        reduction: ``"none"`` (shape ``(B,)``), ``"mean"`` or ``"sum"``.

    Example:
        >>> logits = torch.tensor([[0.0, 0.0]])
        >>> round(bootstrap_soft_loss(logits, torch.tensor([0])).item(), 4)  # log 2
        0.6931
    """
    beta = check_range("beta", beta, 0.0, 1.0)
    logits, target = check_inputs(logits, target)
    return reduce(pick(bootstrap_soft_matrix(logits, beta, detach), target), reduction)


def bootstrap_hard_matrix(logits: torch.Tensor, beta: float) -> torch.Tensor:
    """``L[b, k] = -beta log p_k - (1 - beta) log p_{argmax p}``."""
    logp = logits.log_softmax(dim=1)
    return -beta * logp - (1.0 - beta) * logp.max(dim=1, keepdim=True).values


def bootstrap_hard_loss(
    logits: torch.Tensor, target: torch.Tensor, beta: float = 0.8, reduction: str = "mean"
) -> torch.Tensor:
    r"""Hard bootstrapping: cross entropy against :math:`\beta e_y + (1-\beta)\,e_{\arg\max p}`.

    .. math:: -\beta \log p_y - (1 - \beta) \log \max_k p_k

    The argmax is piecewise constant, so the predicted label carries no gradient; its
    log-probability does (as in Reed et al. and the SCE repository's ``boot_hard``).

    Args:
        logits: ``(B, K)`` unnormalised scores.
        target: ``(B,)`` integer labels or ``(B, K)`` soft targets (loss mixed over labels).
        beta: Weight of the given label, in ``[0, 1]`` (0.8 in the paper and SCE code).
        reduction: ``"none"`` (shape ``(B,)``), ``"mean"`` or ``"sum"``.

    Example:
        >>> logits = torch.tensor([[0.0, 0.0]])
        >>> round(bootstrap_hard_loss(logits, torch.tensor([1])).item(), 4)  # log 2
        0.6931
    """
    beta = check_range("beta", beta, 0.0, 1.0)
    logits, target = check_inputs(logits, target)
    return reduce(pick(bootstrap_hard_matrix(logits, beta), target), reduction)


class BootstrapSoftLoss(LossModule):
    """Soft bootstrapping: CE against beta * onehot(y) + (1 - beta) * p."""

    kind = "other"
    is_bounded = False

    def __init__(
        self,
        beta: float = 0.95,
        detach: bool = False,
        *,
        num_classes: int | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(num_classes=num_classes, reduction=reduction)
        self.beta = check_range("beta", beta, 0.0, 1.0)
        self.detach = bool(detach)

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-sample loss, shape ``(B,)``."""
        return bootstrap_soft_loss(logits, target, self.beta, self.detach, reduction="none")


class BootstrapHardLoss(LossModule):
    """Hard bootstrapping: CE against beta * onehot(y) + (1 - beta) * onehot(argmax p)."""

    kind = "other"
    is_bounded = False

    def __init__(
        self, beta: float = 0.8, *, num_classes: int | None = None, reduction: str = "mean"
    ) -> None:
        super().__init__(num_classes=num_classes, reduction=reduction)
        self.beta = check_range("beta", beta, 0.0, 1.0)

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-sample loss, shape ``(B,)``."""
        return bootstrap_hard_loss(logits, target, self.beta, reduction="none")
