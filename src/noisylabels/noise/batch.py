"""Label noise re-applied to every training batch from a reseeded generator.

This is how the student report's code corrupts labels, kept so that its numbers can be rerun
(``batch_noise`` in the training config; ``docs/noise.md``). It is **not** the usual
protocol, where each training sample gets one noisy label for the whole run
(:func:`~noisylabels.noise.corrupt`).

Before every batch the report's code reseeds NumPy's global generator to the same value and
corrupts the batch's clean labels:

* ``uniform`` (the report's "symmetric"): ``int(rate * B)`` positions of the batch, drawn
  without replacement, get a label drawn from all ``K`` classes (it may equal the true one);
* ``asymmetric``: each position flips with probability ``rate`` along the dataset's class map
  (CIFAR-10: truck->automobile, bird->airplane, deer->horse, cat<->dog).

Because the generator restarts for every batch, the draws depend only on the batch size: the
same positions of every batch are corrupted, with the same new labels (uniform noise), and
which *samples* are corrupted is decided by the order the batches are drawn in. The draws here
are NumPy's legacy ``RandomState(seed)`` calls the report's code makes (``choice``, ``randint``,
``random_sample``), on a private generator, so with the report's seed (10) they are its positions
and labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from noisylabels.errors import UsageError
from noisylabels.noise.matrices import ClassMap, check_rate

#: Noise kinds that can be re-applied per batch.
BATCH_NOISE_KINDS = ("clean", "uniform", "asymmetric")


@dataclass
class ReseededBatchNoise:
    """Corrupts each batch's labels with draws that restart from ``seed`` for every batch.

    Args:
        kind: ``clean``, ``uniform`` or ``asymmetric``.
        rate: The rate: share of positions redrawn (uniform) or flip probability (asymmetric).
        num_classes: ``K``.
        seed: The seed every batch's draws restart from (the report's code uses 10).
        class_map: The dataset's class map (``asymmetric``; every class maps to one class).

    Example:
        >>> noise = ReseededBatchNoise("uniform", 0.5, num_classes=10, seed=10)
        >>> y = torch.zeros(8, dtype=torch.long)
        >>> bool(torch.equal(noise(y), noise(y)))  # same draws for every batch of a size
        True
    """

    kind: str
    rate: float
    num_classes: int
    seed: int
    class_map: ClassMap | None = None
    _draws: dict[int, tuple[torch.Tensor, torch.Tensor]] = field(
        default_factory=dict, init=False, repr=False
    )

    def __post_init__(self) -> None:
        if self.kind not in BATCH_NOISE_KINDS:
            raise UsageError(
                f"batch_noise re-applies {', '.join(BATCH_NOISE_KINDS[1:])} or clean noise per "
                f"batch, not {self.kind!r}; use noise uniform:RATE or asymmetric:RATE"
            )
        self.rate = check_rate(self.rate, self.kind)
        flips = np.arange(self.num_classes)
        if self.kind == "asymmetric":
            if self.class_map is None:
                raise UsageError(
                    "batch_noise with asymmetric noise needs the dataset's class map; datasets "
                    "with one: cifar10, cifar100, mnist"
                )
            for src, targets in self.class_map.targets.items():
                if len(targets) != 1:
                    raise UsageError(
                        f"batch_noise with asymmetric noise needs a one-to-one class map; "
                        f"{self.class_map.name} sends class {src} to {len(targets)} classes"
                    )
                flips[src] = targets[0]
        self._flip_to = torch.as_tensor(flips, dtype=torch.long)

    def draws(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mask, new)`` for a batch of ``batch_size``: the positions that change.

        ``new`` holds the new labels of ``uniform`` noise (``asymmetric`` follows the class map).
        """
        if batch_size not in self._draws:
            rs = np.random.RandomState(self.seed)
            mask = np.zeros(batch_size, dtype=bool)
            new = np.zeros(batch_size, dtype=np.int64)
            if self.kind == "uniform":
                n_flip = int(self.rate * batch_size)
                pos = rs.choice(batch_size, n_flip, replace=False)
                mask[pos] = True
                new[pos] = rs.randint(0, self.num_classes, n_flip)
            elif self.kind == "asymmetric":
                mask = rs.random_sample(batch_size) < self.rate
            self._draws[batch_size] = (torch.as_tensor(mask), torch.as_tensor(new))
        return self._draws[batch_size]

    def __call__(self, labels: torch.Tensor) -> torch.Tensor:
        """The corrupted labels of one batch (a new tensor; ``labels`` is left unchanged)."""
        if self.kind == "clean" or labels.numel() == 0:
            return labels.clone()
        mask, new = self.draws(int(labels.shape[0]))
        mask = mask.to(labels.device)
        if self.kind == "uniform":
            changed = new.to(labels.device)
        else:
            changed = self._flip_to.to(labels.device)[labels]
        return torch.where(mask, changed, labels)

    def realised_rate(self, labels: torch.Tensor, batch_size: int) -> tuple[float, int]:
        """Share and number of ``labels`` that one pass in batches of ``batch_size`` changes.

        The labels are taken in the order given; which ones change depends on the order, the
        share hardly does.
        """
        changed = 0
        for i in range(0, labels.shape[0], batch_size):
            part = labels[i : i + batch_size]
            changed += int((self(part) != part).sum())
        n = int(labels.shape[0])
        return (changed / n if n else 0.0), changed
