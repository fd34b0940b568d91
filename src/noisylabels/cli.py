"""The ``noisylabels`` command line.

Each subcommand lives next to the concept it drives (``noisylabels.data.commands``,
``noisylabels.noise.commands``, ``noisylabels.train.commands``, ``noisylabels.bench.commands``); a
module adds its subcommands through ``register(subparsers)`` and sets ``func`` on its parser.
User errors (:class:`~noisylabels.errors.UsageError`) print one line and exit with code 2; a
run that diverges (NaN loss), runs out of memory or meets a file-system error that no check
caught beforehand prints one line and exits with code 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from noisylabels import __version__
from noisylabels.errors import NonFiniteLossError, UsageError

# Modules that contribute subcommands, in the order they appear in --help.
COMMAND_MODULES = (
    "noisylabels.bench.commands",
    "noisylabels.train.commands",
    "noisylabels.noise.commands",
    "noisylabels.data.commands",
    "noisylabels.detect.commands",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like our own errors
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every subcommand."""
    parser = _Parser(
        prog="noisylabels",
        description="Train classifiers when some training labels are wrong.",
    )
    parser.add_argument("--version", action="version", version=f"noisylabels {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for mod_name in COMMAND_MODULES:
        importlib.import_module(mod_name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``noisylabels`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except UsageError as e:
        print(f"noisylabels {args.command}: error: {e}", file=sys.stderr)
        return 2
    except NonFiniteLossError as e:
        print(f"noisylabels {args.command}: error: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print(f"noisylabels {args.command}: interrupted", file=sys.stderr)
        return 130
    except MemoryError as e:  # e.g. a sample count or batch far beyond this machine's memory
        detail = f" ({e})" if str(e) else ""
        print(
            f"noisylabels {args.command}: error: out of memory{detail}; use smaller sizes "
            "(samples, batch size, dataset) or a machine with more memory",
            file=sys.stderr,
        )
        return 1
    except OSError as e:  # the file system refused a read or write not checked beforehand
        where = f": {e.filename}" if e.filename else ""
        print(
            f"noisylabels {args.command}: error: {e.strerror or type(e).__name__}{where}",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
