"""The noise spec (``symmetric:0.4``, ``cifar10n-worst``, ...) and the registry of noise kinds."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from noisylabels.errors import UsageError
from noisylabels.noise.matrices import check_rate
from noisylabels.registry import Registry

if TYPE_CHECKING:
    from noisylabels.noise.corrupt import NoiseContext

#: A noise generator: ``(clean labels, spec, context) -> (noisy labels, nominal T)``.
NoiseGenerator = Callable[[np.ndarray, "NoiseSpec", "NoiseContext"], tuple[np.ndarray, np.ndarray]]

#: Every noise kind, by canonical name; :func:`register_kind` adds one.
NOISE_KINDS: Registry[NoiseGenerator] = Registry("noise kind")
_RATE_FREE: set[str] = set()

#: Accepted spellings -> canonical kind.
ALIASES: dict[str, str] = {
    "none": "clean",
    "sym": "symmetric",
    "asym": "asymmetric",
    "pair": "pairflip",
    "idn": "instance",
    "cifar10n-worse": "cifar10n-worst",
    "cifar10n-aggregate": "cifar10n-aggre",
    "cifar10n-rand1": "cifar10n-random1",
    "cifar10n-rand2": "cifar10n-random2",
    "cifar10n-rand3": "cifar10n-random3",
}

SAMPLINGS = ("exact", "iid")


def register_kind(
    name: str, *, takes_rate: bool = True, help: str | None = None
) -> Callable[[NoiseGenerator], NoiseGenerator]:
    """Decorator that registers a noise generator under ``name``.

    The generator gets the clean ``int64`` labels, the :class:`NoiseSpec` and a
    :class:`~noisylabels.noise.corrupt.NoiseContext` (``num_classes``, ``dataset``, ``features``,
    ``root``, ``rng``) and returns the noisy ``int64`` labels and the nominal ``(K, K)`` T.
    """
    deco = NOISE_KINDS.register(name, help=help)
    if not takes_rate:
        _RATE_FREE.add(name.lower())
    return deco


def noise_file(spec: str) -> str | None:
    """The path of a saved-noise spec ``file:PATH`` (as written, ``~`` not expanded), else None.

    Example:
        >>> noise_file("file:runs/labels.npz"), noise_file("symmetric:0.4")
        ('runs/labels.npz', None)
    """
    text = str(spec).strip()
    return text[5:] if text.lower().startswith("file:") else None


def takes_rate(kind: str) -> bool:
    """Whether ``kind`` needs a rate (``symmetric:0.4``) or stands alone (``cifar10n-worst``)."""
    return canonical_kind(kind) not in _RATE_FREE


def canonical_kind(kind: str) -> str:
    """Lower-cased canonical name of ``kind`` (aliases resolved).

    Raises:
        UsageError: If the kind is unknown (the message lists every kind).
    """
    key = str(kind).strip().lower()
    key = ALIASES.get(key, key)
    if key not in NOISE_KINDS:
        raise UsageError(
            f"unknown noise kind {kind!r}; choose one of: {', '.join(NOISE_KINDS.names())} "
            "(as KIND:RATE, e.g. symmetric:0.4, except clean and cifar10n-*), or file:PATH"
        )
    return key


@dataclass(frozen=True)
class NoiseSpec:
    """What noise to apply: kind, rate, sampling scheme and seed.

    Attributes:
        kind: Canonical kind name (``symmetric``, ``uniform``, ``pairflip``, ``asymmetric``,
            ``instance``, ``clean``, ``cifar10n-aggre|worst|random1|random2|random3``).
        rate: Nominal rate for kinds that take one; ``0.0`` for ``clean``; None for human noise.
        sampling: ``exact`` (exactly round(rate_c * n_c) flips in every class c) or ``iid``
            (every label drawn independently from its row of T).
        seed: Seed of the corruption (``np.random.default_rng(seed)``).

    Example:
        >>> spec = NoiseSpec.parse("sym:0.4", seed=3)
        >>> spec, str(spec)
        (NoiseSpec(kind='symmetric', rate=0.4, sampling='exact', seed=3), 'symmetric:0.4')
    """

    kind: str
    rate: float | None = None
    sampling: str = "exact"
    seed: int = 0

    def __post_init__(self) -> None:
        kind = canonical_kind(self.kind)
        object.__setattr__(self, "kind", kind)
        if kind == "clean":
            if self.rate not in (None, 0, 0.0):
                raise UsageError(f"kind 'clean' takes no rate (got {self.rate!r})")
            object.__setattr__(self, "rate", 0.0)
        elif not takes_rate(kind):
            if self.rate is not None:
                raise UsageError(f"kind {kind!r} takes no rate (got {self.rate!r}); write {kind}")
        else:
            if self.rate is None:
                raise UsageError(f"kind {kind!r} needs a rate in [0, 1], e.g. {kind}:0.4")
            object.__setattr__(self, "rate", check_rate(self.rate, kind))
        if self.sampling not in SAMPLINGS:
            raise UsageError(
                f"unknown noise sampling {self.sampling!r}; choose one of: {', '.join(SAMPLINGS)}"
            )
        seed = self.seed
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise UsageError(f"noise seed must be an integer >= 0, got {seed!r}")
        object.__setattr__(self, "seed", int(seed))

    @classmethod
    def parse(cls, text: str, *, sampling: str = "exact", seed: int = 0) -> NoiseSpec:
        """Parse ``clean``, ``KIND:RATE`` (``symmetric:0.4``) or a human-noise name.

        ``file:PATH`` specs are not parsed here: pass them to
        :func:`~noisylabels.noise.corrupt` or :func:`~noisylabels.noise.apply_noise_file`.

        Raises:
            UsageError: On an unknown kind, a missing, extra or invalid rate.
        """
        text = str(text).strip()
        if text.lower().startswith("file:"):
            raise UsageError(
                f"{text!r} names a saved noise file; load it with corrupt() or apply_noise_file()"
            )
        kind, sep, rate_text = text.partition(":")
        rate: float | None = None
        if sep:
            try:
                rate = float(rate_text)
            except ValueError:
                raise UsageError(
                    f"noise rate {rate_text!r} in {text!r} is not a number; write e.g. "
                    "symmetric:0.4 (rate in [0, 1])"
                ) from None
            if not math.isfinite(rate):
                raise UsageError(f"noise rate in {text!r} must be a number in [0, 1]")
        elif not kind:
            raise UsageError("empty noise spec; write e.g. clean, symmetric:0.4 or cifar10n-worst")
        return cls(kind, rate, sampling=sampling, seed=seed)

    def __str__(self) -> str:
        if self.kind == "clean" or not takes_rate(self.kind):
            return self.kind
        return f"{self.kind}:{self.rate!r}"

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form: ``{"kind", "rate", "sampling", "seed"}``."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NoiseSpec:
        """Inverse of :meth:`to_dict`."""
        return cls(d["kind"], d.get("rate"), sampling=d.get("sampling", "exact"), seed=d["seed"])
