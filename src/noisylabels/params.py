"""Typed parameters from loose input: one builder for every part's parameter dataclass.

Values arrive from YAML, the command line (always strings) or Python. :func:`build_params` turns
a mapping into a frozen dataclass instance, converting each value to its field's annotated type:

* ``float``: numbers or numeric strings; ``nan`` and ``inf`` are refused;
* ``int``: integers, integral floats (``3.0``) or numeric strings; a bool is not an int;
* ``bool``: true/false, yes/no, on/off, 1/0 (as values or strings);
* ``str``; ``Literal["a", "b"]``: one of the listed strings (case-insensitive);
* ``X | None``: ``None`` (or the string ``none``/``null``) or an ``X``.

Unknown keys and values of the wrong type raise a one-line
:class:`~noisylabels.errors.UsageError` that names the valid keys or the expected type.
Module-level and torch-free, so configuration can be checked without importing torch.
"""

from __future__ import annotations

import dataclasses
import math
import types
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from noisylabels.errors import UsageError

P = TypeVar("P")

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def type_name(hint: Any) -> str:
    """Human-readable name of a type hint (``an integer or None``, ``one of kl, l1``)."""
    if get_origin(hint) is Literal:
        return "one of " + ", ".join(map(str, get_args(hint)))
    if _is_union(hint):
        return " or ".join("None" if a is type(None) else type_name(a) for a in get_args(hint))
    return _NAMES.get(hint, getattr(hint, "__name__", str(hint)))


_NAMES = {float: "a finite number", int: "an integer", bool: "true or false", str: "a string"}


def _is_union(hint: Any) -> bool:
    return get_origin(hint) in (Union, types.UnionType)


def coerce(value: Any, hint: Any, name: str) -> Any:
    """Convert ``value`` to the type ``hint`` (see the module docstring).

    Args:
        value: The raw value.
        hint: A type: ``float``, ``int``, ``bool``, ``str``, a ``Literal`` or an optional of one
            of them; anything else (``Any``, a class) passes the value through unchanged.
        name: The parameter's name, for the error message.

    Raises:
        UsageError: The value cannot be read as that type.

    Example:
        >>> coerce("0.5", float, "lam"), coerce("3", int, "steps"), coerce("no", bool, "flag")
        (0.5, 3, False)
        >>> coerce(True, int, "steps")
        Traceback (most recent call last):
        ...
        noisylabels.errors.UsageError: steps=True must be an integer
    """
    try:
        return _coerce(value, hint)
    except (TypeError, ValueError, OverflowError):
        raise UsageError(f"{name}={value!r} must be {type_name(hint)}") from None


def _coerce(value: Any, hint: Any) -> Any:
    if _is_union(hint):
        args = get_args(hint)
        if type(None) in args and (
            value is None or (isinstance(value, str) and value.strip().lower() in ("none", "null"))
        ):
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg)
            except (TypeError, ValueError, OverflowError):
                continue
        raise TypeError
    if get_origin(hint) is Literal:
        if not isinstance(value, str):
            raise TypeError
        key = value.strip().lower()
        for choice in get_args(hint):
            if str(choice).lower() == key:
                return choice
        raise ValueError
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
            return value.strip().lower() in _TRUE
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise TypeError
    if hint is int:
        if isinstance(value, bool):
            raise TypeError
        v = float(value.strip()) if isinstance(value, str) else value
        if isinstance(v, float):
            if not v.is_integer():
                raise ValueError
            return int(v)
        if isinstance(v, int):
            return v
        raise TypeError
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise TypeError
        v = float(value)
        if not math.isfinite(v):
            raise ValueError
        return v
    if hint is str:
        if not isinstance(value, str):
            raise TypeError
        return value.strip()
    return value


def field_types(cls: type) -> dict[str, Any]:
    """``{field name: resolved type hint}`` of a dataclass (``init`` fields only)."""
    hints = get_type_hints(cls)
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(cls) if f.init}


def build_params(cls: type[P], values: Mapping[str, Any] | None, *, what: str) -> P:
    """Build the parameter dataclass ``cls`` from a mapping, converting each value to its type.

    Args:
        cls: A dataclass whose fields are the parameters (all with defaults).
        values: Parameter values by name (None: all defaults).
        what: What the parameters belong to, for messages (``"weighting 'ciw'"``).

    Raises:
        UsageError: An unknown key (the message lists the valid ones), a value of the wrong
            type, or a value the dataclass itself refuses in ``__post_init__``.

    Example:
        >>> from dataclasses import dataclass
        >>> @dataclass(frozen=True)
        ... class Knobs:
        ...     lam: float = 0.1
        ...     steps: int | None = None
        >>> build_params(Knobs, {"lam": "0.5", "steps": "4"}, what="demo")
        Knobs(lam=0.5, steps=4)
        >>> build_params(Knobs, {"lamb": 1}, what="demo")
        Traceback (most recent call last):
        ...
        noisylabels.errors.UsageError: demo: unknown parameter lamb; valid: lam, steps
    """
    fields = field_types(cls)
    values = dict(values or {})
    unknown = sorted(str(k) for k in values if not isinstance(k, str) or k not in fields)
    if unknown:
        valid = ", ".join(fields) or "none"
        s = "s" if len(unknown) > 1 else ""
        raise UsageError(f"{what}: unknown parameter{s} {', '.join(unknown)}; valid: {valid}")
    kwargs = {}
    for key, value in values.items():
        try:
            kwargs[key] = coerce(value, fields[key], key)
        except UsageError as e:
            raise UsageError(f"{what}: {e}") from None
    try:
        return cls(**kwargs)
    except UsageError as e:
        msg = str(e)
        raise UsageError(msg if msg.startswith(what) else f"{what}: {msg}") from None


def non_default(params: Any) -> dict[str, Any]:
    """The fields of a parameter dataclass instance that differ from their defaults."""
    out = {}
    for f in dataclasses.fields(params):
        v = getattr(params, f.name)
        if f.default is not dataclasses.MISSING and v == f.default and type(v) is type(f.default):
            continue
        out[f.name] = v
    return out


#: The kinds of part a training method is made of (see :mod:`noisylabels.methods.parts`).
METHOD_PARTS = ("loss", "weighting", "mixup", "selection")


def split_method_mapping(
    mapping: Mapping[str, Any], where: str = "method"
) -> tuple[str, dict[str, Any]]:
    """The YAML form ``{preset?: ciw, loss: ..., weighting: ..., ...}`` -> ``(preset, parts)``.

    Without ``preset`` the parts are composed on ``standard`` (cross entropy, nothing else).

    Example:
        >>> split_method_mapping({"loss": {"name": "gce", "q": 0.7}})
        ('standard', {'loss': {'name': 'gce', 'q': 0.7}})
    """
    unknown = sorted(str(k) for k in mapping if k not in ("preset", *METHOD_PARTS))
    if unknown:
        raise UsageError(
            f"{where}: unknown key(s) {', '.join(unknown)}; "
            f"valid: preset, {', '.join(METHOD_PARTS)}"
        )
    preset = mapping.get("preset") or "standard"
    if not isinstance(preset, str):
        raise UsageError(f"{where}: preset must be a method name, got {preset!r}")
    return preset, {k: v for k, v in mapping.items() if k != "preset"}


__all__ = [
    "METHOD_PARTS",
    "build_params",
    "coerce",
    "field_types",
    "non_default",
    "split_method_mapping",
    "type_name",
]
