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
    add_data_flags(p)
    p.set_defaults(func=run_datasets)


DATA_HELP = (
    "your own data instead of --dataset: an image folder PATH/<class>/<image> (optionally "
    "PATH/train and PATH/test), a .csv or .parquet table with a label column, or an .npz with "
    "x_train and y_train"
)


def add_data_flags(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """Add ``--data PATH``, ``--label-column COL`` and ``--image-size N`` (own-data flags)."""
    p.add_argument("--data", metavar="PATH", default=None, help=DATA_HELP)
    p.add_argument(
        "--label-column", metavar="COL", default=None,
        help="label column of a --data table (default: label)",
    )
    p.add_argument(
        "--image-size", metavar="N|HxW", default=None,
        help="resize the images of a --data folder to N x N (or H x W); needed when they differ",
    )


def data_overrides(args: argparse.Namespace) -> dict[str, object]:
    """Config keys set by the own-data flags: ``dataset`` and ``dataset_options``.

    Raises:
        UsageError: ``--data`` together with ``--dataset``, or ``--label-column`` /
            ``--image-size`` without ``--data``.
    """
    path = getattr(args, "data", None)
    opts: dict[str, object] = {}
    if getattr(args, "label_column", None) is not None:
        opts["label_column"] = args.label_column
    if getattr(args, "image_size", None) is not None:
        opts["image_size"] = args.image_size
    if path is None:
        if opts:
            flag = "--label-column" if "label_column" in opts else "--image-size"
            raise UsageError(f"{flag} applies to your own data: give it with --data PATH")
        return {}
    if getattr(args, "dataset", None) is not None:
        raise UsageError(f"give --dataset {args.dataset} or --data {path}, not both")
    if not Path(path).expanduser().exists():
        raise UsageError(f"--data {path}: no such file or folder")
    return {"dataset": str(path), "dataset_options": opts}


def dataset_label(dataset: str) -> str:
    """A short name for file and folder names: the dataset name, or a path's last part."""
    if "/" not in dataset and "\\" not in dataset and "." not in dataset:
        return dataset
    p = Path(dataset.rstrip("/\\"))
    return (p.stem if p.suffix else p.name).lower() or "data"


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


def check_root(root: str | None, option: str = "--root") -> None:
    """Raise :class:`UsageError` unless ``root`` is None or an existing folder."""
    if root is None:
        return
    p = Path(root).expanduser()
    if p.is_file():
        raise UsageError(f"{option} {root} is a file; give the folder that holds the dataset files")
    if not p.is_dir():
        raise UsageError(f"{option} {root}: no such folder")


def run_datasets(args: argparse.Namespace) -> int:
    """Print one row per dataset; returns 0."""
    from noisylabels.data.datasets import dataset_info, list_datasets

    check_root(args.root)
    rows = [("dataset", "found", "train", "test", "shape", "classes", "where")]
    own = data_overrides(args)
    names = [str(own["dataset"])] if own else list_datasets()
    for name in names:
        info = dataset_info(name, args.root, **dict(own.get("dataset_options") or {}))  # type: ignore
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
