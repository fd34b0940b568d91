"""One registry mechanism for every extension point (losses, weightings, models, datasets, ...).

A registry is a dict from name to factory plus a decorator that rejects duplicate names, as timm
does for models. Lookups of an unknown name raise :class:`~noisylabels.errors.UsageError` listing
the valid names, so a typo on the command line becomes a one-line message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from noisylabels.errors import UsageError

T = TypeVar("T", bound=Callable[..., Any])


class Registry(Generic[T]):
    """A named collection of factories.

    Args:
        kind: What the registry holds ("loss", "model", ...), used in error messages.

    Example:
        >>> reg = Registry("widget")
        >>> @reg.register("square")
        ... def square(x):
        ...     return x * x
        >>> reg.get("square")(3)
        9
        >>> "square" in reg
        True
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._help: dict[str, str] = {}

    def register(self, name: str, *, help: str | None = None) -> Callable[[T], T]:
        """Decorator that adds ``fn`` under ``name``; a second use of the same name is an error."""
        key = name.lower()

        def deco(fn: T) -> T:
            if key in self._items:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._items[key] = fn
            doc = help if help is not None else (fn.__doc__ or "").strip().splitlines()
            self._help[key] = doc if isinstance(doc, str) else (doc[0] if doc else "")
            return fn

        return deco

    def get(self, name: str) -> T:
        """The factory registered as ``name`` (case-insensitive)."""
        try:
            return self._items[name.lower()]
        except KeyError:
            raise UsageError(
                f"unknown {self.kind} {name!r}; choose one of: {', '.join(self.names())}"
            ) from None

    def unregister(self, name: str) -> None:
        """Remove ``name`` (an unknown name is a :class:`UsageError`)."""
        self.get(name)
        del self._items[name.lower()]
        self._help.pop(name.lower(), None)

    def names(self) -> list[str]:
        """All registered names, sorted."""
        return sorted(self._items)

    def describe(self, name: str) -> str:
        """First line of the help text of ``name``."""
        return self._help.get(name.lower(), "")

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)
