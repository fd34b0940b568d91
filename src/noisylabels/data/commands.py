"""CLI subcommands of noisylabels.data (filled in by its module)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add this package's subcommands to the CLI."""
