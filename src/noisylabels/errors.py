"""User-facing errors.

Anything a user can cause with a wrong argument or a bad file raises :class:`UsageError` (or a
subclass) with a one-line message that says what was wrong and what to do. The CLI prints that
line and exits with code 2; library callers can catch it as a ``ValueError``.
"""

from __future__ import annotations


class UsageError(ValueError):
    """A wrong argument, unknown name or bad input file, with a one-line fix-it message."""


class DataError(UsageError):
    """A dataset file is missing, corrupt, truncated or fails its checksum."""


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss."""
