"""CLI subcommands of noisylabels.data: ``noisylabels datasets``."""

from __future__ import annotations

import argparse
from pathlib import Path

from noisylabels.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    """Add this package's subcommands to the CLI."""
    p = sub.add_parser(
        "datasets",
        help="list the datasets, whether and where they were found, and their sizes",
        description=(
            "List every dataset, whether and where its files were found (search order: --root, "
            "$NOISYLABELS_DATA, the user cache, /usr/share/datasets) and its sizes. Reads file "
            "headers only: nothing is decoded or downloaded."
        ),
    )
    p.add_argument("--root", metavar="DIR", help="folder searched before all others")
    p.set_defaults(func=run_datasets)


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


def run_datasets(args: argparse.Namespace) -> int:
    """Print one row per dataset; returns 0."""
    from noisylabels.data.datasets import dataset_info, list_datasets

    if args.root is not None and not Path(args.root).expanduser().is_dir():
        raise UsageError(f"--root {args.root}: no such folder")
    rows = [("dataset", "found", "train", "test", "shape", "classes", "where")]
    for name in list_datasets():
        info = dataset_info(name, args.root)
        if info.problem and info.found:
            found, where = "BROKEN", f"{info.location}: {info.problem}"
        elif info.found:
            fmt = f" ({info.format})" if info.format not in ("embedded", "generated") else ""
            found, where = "yes", f"{info.location}{fmt}"
        else:
            found = "no"
            where = "not found; " + (
                f"{info.problem}; " if info.problem else ""
            ) + f"download from {info.download_urls[0].rsplit('/', 1)[0]}/"
        rows.append((
            name,
            found,
            "-" if info.n_train is None else str(info.n_train),
            "-" if info.n_test is None else str(info.n_test),
            _shape(info.input_shape),
            str(info.num_classes),
            where,
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1])
    return 0
