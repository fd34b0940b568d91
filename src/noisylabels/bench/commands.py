"""CLI subcommands of noisylabels.bench: ``sweep``, ``report``, ``bench`` and ``moons``."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import warnings
from pathlib import Path

from noisylabels.errors import UsageError
from noisylabels.outputs import check_output_dir, check_output_file, make_dir, write_file

# Same keys as noisylabels.bench.report.METRICS (not imported: keeps `--help` free of torch).
METRICS = ("last", "selected", "best")


def _command_line(name: str) -> str | None:
    """The command as typed, when this process is the ``noisylabels`` console script."""
    if Path(sys.argv[0]).name in ("noisylabels", "__main__.py") and sys.argv[1:2] == [name]:
        return "noisylabels " + shlex.join(sys.argv[1:])
    return None


def _add_output_mode(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quiet", action="store_true", help="no progress output (failures still shown)")
    g.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object per finished run to stdout (for scripts)",
    )


def _mode(args: argparse.Namespace) -> str:
    return "json" if args.json else "quiet" if args.quiet else "bar"


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {n}")
    return n


def _threads(value: str) -> int:
    from noisylabels.train.commands import MAX_THREADS

    n = _positive(value)
    if n > MAX_THREADS:
        raise argparse.ArgumentTypeError(f"must be <= {MAX_THREADS}, got {n}")
    return n


def _positive_float(value: str) -> float:
    x = _float(value)
    if not x > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return x


def _nonnegative_float(value: str) -> float:
    x = _float(value)
    if x < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return x


def _float(value: str) -> float:
    try:
        x = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None
    if x != x or x in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {value!r}")
    return x


def _shard(value: str) -> tuple[int, int] | str:
    from noisylabels.bench.grid import parse_shard

    if value == "slurm":  # read from the job's environment when the sweep runs
        return value
    try:
        return parse_shard(value)
    except UsageError as e:
        raise argparse.ArgumentTypeError(str(e).removeprefix("--shard ")) from None


#: Most seeds a count (``--seeds N``) may ask for; a longer list must be written out.
MAX_SEED_COUNT = 10_000


def parse_seeds(value: str) -> list[int]:
    """``3`` -> [0, 1, 2]; ``0,4,7`` -> [0, 4, 7]."""
    try:
        if "," in value:
            seeds = [int(s) for s in value.split(",") if s.strip()]
        else:
            count = int(value)
            if count > MAX_SEED_COUNT:
                raise argparse.ArgumentTypeError(
                    f"a seed count must be at most {MAX_SEED_COUNT}, got {value!r}; list the "
                    "seeds with commas (0,1,2) to pick large ones"
                )
            seeds = list(range(count))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a count (3) or a comma-separated list (0,1,2), got {value!r}"
        ) from None
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"need at least one seed >= 0, got {value!r}")
    if max(seeds) >= 2**63:
        raise argparse.ArgumentTypeError(f"seeds must be in 0..2**63-1, got {value!r}")
    return seeds


# ------------------------------------------------------------------------------------- sweep


def _check_backend_flags(args: argparse.Namespace) -> None:
    ray_only = {
        "--ray-address": args.ray_address is not None,
        "--cpus-per-run": args.cpus_per_run is not None,
        "--gpus-per-run": args.gpus_per_run is not None,
    }
    if args.backend == "local":
        given = [flag for flag, on in ray_only.items() if on]
        if given:
            raise UsageError(f"{given[0]} applies to --backend ray only")
    elif args.workers != 1:
        raise UsageError(
            "--workers applies to --backend local; with --backend ray, --cpus-per-run and "
            "--gpus-per-run set how many runs share a machine"
        )


def _sweep(args: argparse.Namespace) -> int:
    from noisylabels.bench.grid import (
        expand_grid,
        load_grid,
        normalise_grid,
        select_shard,
        slurm_shard,
    )
    from noisylabels.bench.results import finished_ids
    from noisylabels.bench.sweep import auto_device, is_done, run_sweep

    _check_backend_flags(args)
    if args.shard == "slurm":
        args.shard = slurm_shard(dict(os.environ))
    grid = normalise_grid(load_grid(args.grid), str(args.grid))
    runs = expand_grid(grid, str(args.grid))
    if not args.dry_run:
        check_output_file(args.out, inputs=[args.grid])
    if args.dry_run:
        if args.shard is not None:
            runs = select_shard(runs, *args.shard)
        done = finished_ids(args.out) if Path(args.out).exists() else set()
        auto = auto_device()
        finished = {r.run_id for r in runs if is_done(r, done, auto)}
        for r in runs:
            print(f"{r.run_id}  {'done' if r.run_id in finished else 'todo'}  {r.describe()}")
        todo = len(runs) - len(finished)
        print(f"{len(runs)} runs, {len(runs) - todo} finished, {todo} to run", file=sys.stderr)
        return 0
    try:
        result = run_sweep(
            runs,
            args.out,
            workers=args.workers,
            retry_failed=args.retry_failed,
            progress=_mode(args),
            grid=grid,
            command=_command_line("sweep"),
            threads=args.threads,
            shard=args.shard,
            backend=args.backend,
            ray_address=args.ray_address,
            cpus_per_run=1.0 if args.cpus_per_run is None else args.cpus_per_run,
            gpus_per_run=0.0 if args.gpus_per_run is None else args.gpus_per_run,
        )
    except KeyboardInterrupt:
        print(
            f"noisylabels sweep: finished runs are saved in {args.out}; "
            "rerun the same command to resume",
            file=sys.stderr,
        )
        raise
    if not args.quiet and not args.json:
        print(
            f"{result.ok} ok, {result.failed} failed, {result.skipped} already finished "
            f"({result.planned} runs) in {result.wall_time_s:.1f} s -> {args.out}",
            file=sys.stderr,
        )
        if result.planned == result.skipped:
            print("nothing to run: every run of the grid has an ok record", file=sys.stderr)
    return 1 if result.failed else 0


# ------------------------------------------------------------------------------------ report


def _report(args: argparse.Namespace) -> int:
    from noisylabels.bench.plots import write_plots
    from noisylabels.bench.report import (
        failed_runs,
        grid_ordered,
        load_reference,
        read_run_records,
        render_csv,
        render_markdown,
        select_seeds,
        summarise,
        sweep_info,
    )

    # Outputs are checked before any reading: report.md must not replace a results file.
    if args.out:
        check_output_dir(args.out)
        for name, fmt in (("report.md", "md"), ("report.csv", "csv")):
            if args.format in (fmt, "both"):
                check_output_file(args.out / name, inputs=[*args.results, args.reference])
    if args.plots:
        check_output_dir(args.plots, option="--plots")
    elif args.curves:
        raise UsageError(
            "--curves chooses the noise settings of the plots: give it with --plots DIR"
        )
    reference = load_reference(args.reference) if args.reference else None
    records = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for path in args.results:
            records += grid_ordered(read_run_records(path), path)
    for w in caught:
        print(f"noisylabels report: warning: {w.message}", file=sys.stderr)
    if args.seeds is not None:
        records = select_seeds(records, args.seeds)
    tables = summarise(records, args.metric, reference)
    if not tables:
        raise UsageError(
            f"no finished runs in {', '.join(map(str, args.results))}; "
            "run `noisylabels sweep GRID --out FILE` first"
        )
    if args.plots and args.curves:  # before anything is written
        from noisylabels.bench.plots import unknown_curves

        unknown, have = unknown_curves(records, args.curves)
        if unknown:
            raise UsageError(
                f"--curves {unknown[0]}: no finished run has that noise setting; the results "
                f"have {', '.join(have)}"
            )
    md = render_markdown(tables, failed=failed_runs(records), title=args.title)
    infos = [i for i in (sweep_info(p) for p in args.results) if i]
    if args.seeds is not None:
        # The sweep lines below describe the whole file; say which part the tables show.
        shown = ", ".join(map(str, sorted(set(args.seeds))))
        line = f"- Tables: seeds {shown} only ({len(records)} records; `--seeds`)."
        infos = [line + ("\n" + infos[0] if infos else ""), *infos[1:]]
    if infos:
        md = md.rstrip("\n") + "\n\n" + "\n\n".join(infos) + "\n"
    csv_text = render_csv(tables)
    if args.out:
        out = make_dir(args.out)
        if args.format in ("md", "both"):
            write_file(out / "report.md", md)
            print(f"wrote {out / 'report.md'}", file=sys.stderr)
        if args.format in ("csv", "both"):
            write_file(out / "report.csv", csv_text)
            print(f"wrote {out / 'report.csv'}", file=sys.stderr)
    else:
        sys.stdout.write(csv_text if args.format == "csv" else md)
    if args.plots:
        paths = write_plots(records, tables, args.plots, curves_for=args.curves)
        print(f"wrote {len(paths)} plot(s) to {args.plots}", file=sys.stderr)
    return 0


# ------------------------------------------------------------------------------------- bench


def _bench(args: argparse.Namespace) -> int:
    from noisylabels.bench.job import run_bench

    try:
        result, md, written = run_bench(
            args.out,
            epochs=args.epochs,
            seeds=args.seeds,
            workers=args.workers,
            progress=_mode(args),
            metric=args.metric,
            command=_command_line("bench"),
            threads=args.threads,
        )
    except KeyboardInterrupt:
        print(
            f"noisylabels bench: finished runs are saved in {args.out}; "
            "rerun the same command to resume",
            file=sys.stderr,
        )
        raise
    if not args.json:
        print(md, end="")
    if not args.quiet and not args.json:
        print(
            f"{result.ok} ok, {result.failed} failed, {result.skipped} already finished in "
            f"{result.wall_time_s:.1f} s; wrote {', '.join(str(p) for p in written)}",
            file=sys.stderr,
        )
    return 1 if result.failed else 0


# ------------------------------------------------------------------------------------- moons


def _moons(args: argparse.Namespace) -> int:
    from noisylabels.bench.moons import run_moons

    res = run_moons(
        out=args.out,
        noise=args.noise,
        epochs=args.epochs,
        seed=args.seed,
        n_samples=args.samples,
        progress=not args.quiet,
    )
    for name, acc in res.test_acc.items():
        print(f"{name}: test accuracy {100 * acc:.2f}%")
    if res.weight_auroc is not None:
        print(f"CIW weights tell clean from mislabeled points with AUROC {res.weight_auroc:.3f}")
    print(f"wrote {res.path}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``sweep``, ``report``, ``bench`` and ``moons`` to the CLI."""
    p = sub.add_parser(
        "bench",
        help="main job: CE vs APL vs CIW on digits at 40%% symmetric noise, 3 seeds (about 35 s)",
        description="Compare CE, APL (NCE+RCE) and CIW on the embedded digits set with 40% "
        "symmetric label noise over 3 seeds; print the table and write a figure. Rerunning "
        "resumes from the results file in --out.",
    )
    p.add_argument("--out", default="runs/bench", help="output folder (default: runs/bench)")
    p.add_argument("--epochs", type=_positive, default=None, help="epochs per run")
    p.add_argument(
        "--seeds", type=parse_seeds, default=None, help="seed count (3) or list (0,1,2); default 3"
    )
    p.add_argument("--workers", type=_positive, default=1, help="parallel processes (default 1)")
    p.add_argument("--threads", type=_threads, default=1, help="torch threads per run (default 1)")
    p.add_argument("--metric", choices=METRICS, default="selected", help="table metric")
    _add_output_mode(p)
    p.set_defaults(func=_bench)

    p = sub.add_parser(
        "sweep",
        help="run a grid of trainings (datasets x noise x methods x seeds), resumably",
        description="Run every run of GRID that has no ok record in --out, appending one JSON "
        "line per finished run. Rerunning resumes; failed runs are retried unless "
        "--no-retry-failed. Exit code 1 if any run failed.",
    )
    p.add_argument("grid", type=Path, help="grid YAML (base, datasets, noise, methods, seeds)")
    p.add_argument("--out", type=Path, required=True, help="results file (JSONL), appended to")
    p.add_argument("--workers", type=_positive, default=1, help="parallel processes (default 1)")
    p.add_argument(
        "--threads",
        type=_threads,
        default=None,
        help="torch threads per run (default: the cores this process may use // workers; "
        "with --backend ray, --cpus-per-run)",
    )
    p.add_argument(
        "--shard",
        type=_shard,
        default=None,
        metavar="I/N",
        help="run only shard I of N (0 <= I < N), a deterministic split of the grid by run id; "
        "`slurm`: this task's index and count in a SLURM job array; `report` merges the "
        "shards' files",
    )
    p.add_argument(
        "--backend",
        choices=("local", "ray"),
        default="local",
        help="local: this process or --workers processes (default); ray: one Ray task per run "
        "(pip install 'noisylabels[ray]')",
    )
    p.add_argument(
        "--ray-address",
        default=None,
        metavar="ADDR",
        help="Ray cluster to join (auto: the cluster of this machine); default: a local Ray",
    )
    p.add_argument(
        "--cpus-per-run",
        type=_positive_float,
        default=None,
        metavar="N",
        help="CPUs Ray reserves for each run (default 1)",
    )
    p.add_argument(
        "--gpus-per-run",
        type=_nonnegative_float,
        default=None,
        metavar="F",
        help="GPUs Ray reserves for each run; a fraction (0.25) lets runs share a GPU (default 0)",
    )
    p.add_argument(
        "--retry-failed",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="rerun runs whose earlier attempt failed (default: yes)",
    )
    p.add_argument("--dry-run", action="store_true", help="list the runs and exit")
    _add_output_mode(p)
    p.set_defaults(func=_sweep)

    p = sub.add_parser(
        "report",
        help="tables (Markdown/CSV) and plots from sweep results",
        description="Methods x noise levels, mean ± std over seeds, one table per dataset and "
        "noise kind. Without --out the table goes to stdout.",
    )
    p.add_argument("results", type=Path, nargs="+", help="results file(s) (JSONL)")
    p.add_argument(
        "--metric",
        choices=METRICS,
        default="selected",
        help="last epoch, noisy-val selected epoch (default), or best (optimistic)",
    )
    p.add_argument("--out", type=Path, help="folder for report.md / report.csv")
    p.add_argument(
        "--format",
        choices=("md", "csv", "both"),
        default="both",
        help="files to write with --out (default both); without --out, md or csv to stdout",
    )
    p.add_argument("--reference", type=Path, help="YAML of published numbers to show beside ours")
    p.add_argument("--plots", type=Path, help="folder for PNG plots")
    p.add_argument(
        "--curves",
        nargs="+",
        metavar="NOISE",
        help="noise settings for learning curves and weight histograms (default: all)",
    )
    p.add_argument("--title", help="heading of the Markdown report")
    p.add_argument(
        "--seeds",
        type=parse_seeds,
        help="tables and plots from these seeds only: a count (2 = seeds 0, 1) or a list (0,1), "
        "as for `bench`; e.g. the complete seeds while a sweep runs",
    )
    p.set_defaults(func=_report)

    p = sub.add_parser(
        "moons",
        help="two-moons illustration: CE vs CIW decision boundaries and sample weights",
        description="Flip 30% of two-moons labels, train an MLP with CE and with CIW, and draw "
        "both decision boundaries with dot size proportional to each point's CIW weight.",
    )
    p.add_argument("--out", type=Path, default=Path("moons.png"), help="PNG (default moons.png)")
    p.add_argument("--noise", default="symmetric:0.3", help="noise spec (default symmetric:0.3)")
    p.add_argument("--epochs", type=_positive, default=None, help="training epochs")
    p.add_argument("--seed", type=int, default=0, help="seed of data, noise and training")
    p.add_argument("--samples", type=_positive, default=None, help="training points")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_moons)
