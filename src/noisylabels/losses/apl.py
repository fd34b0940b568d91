"""Active-passive losses (Ma et al., ICML 2020): any active loss plus any passive loss."""

from __future__ import annotations

import inspect
from typing import Any

import torch

from noisylabels.errors import UsageError
from noisylabels.losses.ce import CELoss
from noisylabels.losses.common import LossModule, check_range, reduce
from noisylabels.losses.fl import FocalLoss
from noisylabels.losses.gce import GCELoss
from noisylabels.losses.mae import MAELoss
from noisylabels.losses.nce import NCELoss
from noisylabels.losses.nfl import NFLLoss
from noisylabels.losses.ngce import NGCELoss
from noisylabels.losses.nmae import NMAELoss
from noisylabels.losses.rce import RCELoss

#: Losses that may be the active part, by name.
ACTIVE_LOSSES: dict[str, type[LossModule]] = {
    "ce": CELoss,
    "fl": FocalLoss,
    "gce": GCELoss,
    "nce": NCELoss,
    "nfl": NFLLoss,
    "ngce": NGCELoss,
}
#: Losses that may be the passive part, by name.
PASSIVE_LOSSES: dict[str, type[LossModule]] = {
    "mae": MAELoss,
    "nmae": NMAELoss,
    "rce": RCELoss,
}


def _init_params(cls: type) -> list[str]:
    skip = ("self", "num_classes", "reduction")
    return [p for p in inspect.signature(cls.__init__).parameters if p not in skip]


def _build_part(
    part: str | LossModule,
    role: str,
    table: dict[str, type[LossModule]],
    hparams: dict[str, Any],
    num_classes: int | None,
) -> tuple[str, LossModule]:
    if isinstance(part, LossModule):
        if part.kind != role:
            raise UsageError(
                f"the {role} part of an active-passive loss must be one of "
                f"{', '.join(sorted(table))}, got {type(part).__name__} (kind {part.kind!r})"
            )
        name = next((n for n, c in table.items() if type(part) is c), type(part).__name__)
        return name, part
    if not isinstance(part, str) or part.lower() not in table:
        raise UsageError(
            f"unknown {role} loss {part!r} for an active-passive loss; choose one of: "
            f"{', '.join(sorted(table))}"
        )
    name = part.lower()
    cls = table[name]
    mine = {k: v for k, v in hparams.items() if k in _init_params(cls)}
    return name, cls(**mine, num_classes=num_classes)


class ActivePassiveLoss(LossModule):
    r"""Active-passive loss :math:`\alpha\,L_\text{active} + \beta\,L_\text{passive}` (APL).

    One class for every pair: ``active`` in {nce, nfl, ngce, gce, ce, fl}, ``passive`` in
    {rce, mae, nmae}, given by name or as a loss module. Hyperparameters of the parts pass
    through by name (``gamma`` and ``detach_factor`` to nfl/fl, ``q`` to ngce/gce); the registry
    resolves names like ``"nce+rce"`` to this class. Unlike the APL code's ``GCEandMAE`` and
    friends, ``alpha`` always scales the active part.

    Args:
        active: The active loss (name or module).
        passive: The passive loss (name or module).
        alpha: Weight of the active part, ``>= 0``.
        beta: Weight of the passive part, ``>= 0``.
        num_classes: ``K``, checked against the logits if given.
        reduction: Default reduction.
        **part_hparams: Hyperparameters of the named parts.

    Example:
        >>> loss = ActivePassiveLoss("nfl", "rce", alpha=1.0, beta=1.0, gamma=0.5)
        >>> logits = torch.zeros(2, 10)
        >>> loss(logits, torch.tensor([0, 3]), reduction="none").shape
        torch.Size([2])
    """

    kind = "other"

    def __init__(
        self,
        active: str | LossModule = "nce",
        passive: str | LossModule = "rce",
        alpha: float = 1.0,
        beta: float = 1.0,
        *,
        num_classes: int | None = None,
        reduction: str = "mean",
        **part_hparams: Any,
    ) -> None:
        super().__init__(num_classes=num_classes, reduction=reduction)
        self.alpha = check_range("alpha", alpha, 0.0)
        self.beta = check_range("beta", beta, 0.0)
        valid = set()
        for part, table in ((active, ACTIVE_LOSSES), (passive, PASSIVE_LOSSES)):
            if isinstance(part, str) and part.lower() in table:
                valid.update(_init_params(table[part.lower()]))
        unknown = sorted(set(part_hparams) - valid)
        if unknown:
            raise UsageError(
                f"unknown hyperparameter(s) {', '.join(unknown)} for active-passive loss "
                f"{active}+{passive}; valid: "
                f"{', '.join(['alpha', 'beta', *sorted(valid)])}"
            )
        self.active_name, self.active = _build_part(
            active, "active", ACTIVE_LOSSES, part_hparams, num_classes
        )
        self.passive_name, self.passive = _build_part(
            passive, "passive", PASSIVE_LOSSES, part_hparams, num_classes
        )
        self.is_bounded = self.active.is_bounded and self.passive.is_bounded
        self.accepts_soft_targets = (
            self.active.accepts_soft_targets and self.passive.accepts_soft_targets
        )

    @property
    def name(self) -> str:
        """``"active+passive"``, e.g. ``"nce+rce"``."""
        return f"{self.active_name}+{self.passive_name}"

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-sample loss, shape ``(B,)``."""
        return self.alpha * self.active.per_sample(
            logits, target
        ) + self.beta * self.passive.per_sample(logits, target)

    def hparams(self) -> dict[str, Any]:
        """Names and weights of the parts, and the parts' own hyperparameters."""
        out: dict[str, Any] = {
            "active": self.active_name,
            "passive": self.passive_name,
            "alpha": self.alpha,
            "beta": self.beta,
        }
        out.update(self.active.hparams())
        out.update(self.passive.hparams())
        return out

    def extra_repr(self) -> str:
        """Hyperparameters shown by ``repr``."""
        return f"{self.name}, alpha={self.alpha!r}, beta={self.beta!r}"


def apl_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    active: str = "nce",
    passive: str = "rce",
    alpha: float = 1.0,
    beta: float = 1.0,
    reduction: str = "mean",
    **part_hparams: Any,
) -> torch.Tensor:
    r"""Active-passive loss :math:`\alpha\,L_\text{active} + \beta\,L_\text{passive}`, per sample.

    See :class:`ActivePassiveLoss`; for repeated use build the module once instead.

    Example:
        >>> logits = torch.zeros(1, 4)
        >>> round(apl_loss(logits, torch.tensor([0]), "nce", "mae").item(), 4)  # 0.25 + 0.75
        1.0
    """
    module = ActivePassiveLoss(active, passive, alpha, beta, **part_hparams)
    return reduce(module.per_sample(logits, target), reduction)
