"""``noisylabels noise``: corrupt a dataset's training labels, print the realised T, save them."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from noisylabels.errors import UsageError
from noisylabels.outputs import check_output_file, write_with

if TYPE_CHECKING:
    from noisylabels.noise.spec import NoiseSpec

DEFAULT_SPEC = "symmetric:0.4"
FULL_MATRIX_MAX_K = 12  # larger T are summarised (diagonal + largest off-diagonal entries)


def register(sub: argparse._SubParsersAction) -> None:
    """Add this package's subcommands to the CLI."""
    from noisylabels.data.commands import add_data_flags  # CLI glue: the flags live with data

    p = sub.add_parser(
        "noise",
        help="corrupt a dataset's training labels; print the realised rate and T; save them",
        description=(
            "Corrupt the training labels of a dataset with a noise model, print the realised "
            "noise rate and transition matrix T[true, noisy], and optionally save everything to "
            "one .npz (train on it with noise='file:PATH'). Without arguments: symmetric 40%% "
            "noise on the embedded digits set."
        ),
        epilog=(
            "kinds: clean, symmetric, uniform, pairflip, asymmetric (cifar10, cifar100, mnist), "
            "instance, cifar10n-aggre|worst|random1|random2|random3 (no rate), file:PATH (show "
            "a saved file). Examples: noisylabels noise --dataset cifar10 --kind asymmetric "
            "--rate 0.3 --out labels.npz; noisylabels noise --dataset cifar10 --kind cifar10n-worst"
        ),
    )
    p.add_argument("--dataset", default=None, help="dataset name (default: digits)")
    add_data_flags(p)
    p.add_argument(
        "--kind",
        default=None,
        help="noise kind, or KIND:RATE (default: symmetric with rate 0.4)",
    )
    p.add_argument("--rate", type=float, default=None, help="noise rate in [0, 1]")
    p.add_argument("--seed", type=int, default=0, help="seed of the corruption (default: 0)")
    p.add_argument(
        "--sampling",
        choices=("exact", "iid"),
        default="exact",
        help="exact: round(rate_c * n_c) flips per class (default); iid: independent draws",
    )
    p.add_argument("--root", default=None, help="folder to look in first for dataset files")
    p.add_argument("--out", default=None, help="write the noisy labels and T to this .npz")
    p.set_defaults(func=run)


def _spec_text(args: argparse.Namespace) -> str:
    from noisylabels.noise.spec import takes_rate

    if args.kind is None:
        return DEFAULT_SPEC if args.rate is None else f"symmetric:{args.rate!r}"
    kind = args.kind.strip()
    if kind.lower().startswith("file:") or ":" in kind:
        if args.rate is not None:
            raise UsageError(f"give the rate either in --kind {kind} or with --rate, not both")
        return kind
    if takes_rate(kind):
        if args.rate is None:
            raise UsageError(f"--kind {kind} needs --rate (a number in [0, 1], e.g. --rate 0.4)")
        return f"{kind}:{args.rate!r}"
    if args.rate is not None and not (kind.lower() in ("clean", "none") and args.rate == 0):
        raise UsageError(f"--kind {kind} takes no --rate")
    return kind


def format_T(T: np.ndarray, classes: Sequence[str], decimals: int = 3) -> list[str]:
    """Readable lines for T: the full matrix for small K, else a summary."""
    K = T.shape[0]
    w = decimals + 3
    if K <= FULL_MATRIX_MAX_K:
        names = [
            str(i) if str(c) == str(i) else f"{i} {str(c)[:10]}" for i, c in enumerate(classes)
        ]
        nw = max(len(n) for n in names)
        lines = [" " * (nw + 2) + "".join(f"{j:>{w}}" for j in range(K))]
        for i in range(K):
            row = "".join(f"{T[i, j]:>{w}.{decimals}f}" for j in range(K))
            lines.append(f"  {names[i]:<{nw}}{row}")
        return lines
    diag = np.diag(T)
    lines = [
        f"  diagonal (kept share per class): min {diag.min():.{decimals}f}, "
        f"mean {diag.mean():.{decimals}f}, max {diag.max():.{decimals}f}"
    ]
    off = T.copy()
    np.fill_diagonal(off, 0.0)
    flat = np.argsort(-off, axis=None, kind="stable")[:10]
    top = [(int(f // K), int(f % K)) for f in flat if off.flat[f] > 0]
    if top:
        lines.append("  largest off-diagonal entries (true -> noisy):")
        for i, j in top:
            lines.append(f"    {i} {classes[i]} -> {j} {classes[j]}: {T[i, j]:.{decimals}f}")
    return lines


def _input_files(
    source: str, noise_path: str | None, root: str | None, spec: NoiseSpec | None
) -> list[str | None]:
    """Files this command reads: the dataset, a ``file:`` noise file, human-noise labels."""
    import os

    files: list[str | None] = [source, noise_path and os.path.expanduser(noise_path)]
    if spec is not None and spec.kind.startswith("cifar10n"):
        from noisylabels.data.paths import find_file
        from noisylabels.noise.human import CIFAR10N_FILES

        found = find_file(list(CIFAR10N_FILES), root)
        files.append(None if found is None else str(found))
    return files


def run(args: argparse.Namespace) -> int:
    """Run ``noisylabels noise``."""
    from noisylabels.data import load_dataset
    from noisylabels.data.commands import check_root, data_overrides
    from noisylabels.noise.corrupt import corrupt
    from noisylabels.noise.spec import NoiseSpec, noise_file, takes_rate

    spec = _spec_text(args)
    label_file = None
    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    check_root(args.root)
    if args.out:
        check_output_file(args.out)  # before loading anything: a bad --out costs nothing
    # Parsed once here; a saved noise file (file:PATH) stays a string for corrupt to load.
    parsed: NoiseSpec | None = None
    noise_path = noise_file(spec)
    if noise_path is None:
        parsed = NoiseSpec.parse(spec, sampling=args.sampling or "exact", seed=args.seed)
    if parsed is not None and parsed.kind.startswith("cifar10n"):
        from noisylabels.data import cifar10n_file
        from noisylabels.noise.human import read_cifar10n

        label_file = cifar10n_file(args.root)
        read_cifar10n(label_file)  # a bad label file fails before CIFAR-10 loads
    own = data_overrides(args)
    if own:
        ds = load_dataset(str(own["dataset"]), **dict(own["dataset_options"]))  # type: ignore
    else:
        ds = load_dataset(args.dataset or "digits", args.root)
    if args.out:
        inputs = _input_files(ds.source, noise_path, args.root, parsed)
        # A dataset given as a path (own data) is an input too; its source is a description.
        inputs += [args.dataset, getattr(args, "data", None)]
        check_output_file(args.out, inputs=inputs)
    needs_features = parsed is not None and parsed.kind == "instance"
    res = corrupt(
        ds.y_train,
        spec if parsed is None else parsed,
        num_classes=ds.num_classes,
        dataset=ds.name,
        features=ds.x_train if needs_features else None,
        seed=args.seed,
        sampling=args.sampling,
        root=args.root,
        class_map=ds.asymmetric_map,
        label_file=label_file,
    )
    K = res.num_classes
    random = takes_rate(res.spec.kind) and res.spec.kind != "clean"
    how = f" (sampling {res.spec.sampling}, seed {res.spec.seed})" if random else ""
    print(f"noise {res.spec}{how} on {ds.name} train: {len(res):,} labels, {K} classes")
    print(
        f"realised noise rate: {res.realised_rate:.4f} ({res.num_noisy:,} labels changed; "
        f"expected from the nominal T: {res.expected_rate:.4f})"
    )
    print("T realised (rows = true class, columns = noisy label):")
    for line in format_T(res.T_realised, ds.classes):
        print(line)
    gap = float(np.abs(res.T_realised - res.T_nominal).max())
    print(f"max |T_realised - T_nominal| = {gap:.4f}")
    if args.out:
        path = write_with(args.out, res.save)
        print(f"wrote {path} (use it with noise='file:{path}')")
    return 0
