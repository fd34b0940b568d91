"""``noisylabels detect`` (find wrong labels) and ``noisylabels predict`` (use a saved model)."""

from __future__ import annotations

import argparse
from typing import Any


def _add_data_flag(p: argparse.ArgumentParser) -> None:
    # The training flags may already carry --data (file datasets); add it only when missing.
    if not any("--data" in a.option_strings for a in p._actions):
        p.add_argument(
            "--data",
            metavar="PATH",
            help="your own data (image folder, CSV/Parquet table or .npz) instead of --dataset",
        )


def _load(args: argparse.Namespace, cfg: Any) -> Any:
    from noisylabels.data import load_dataset

    # --data PATH (and its --label-column/--image-size) already set cfg.dataset and its options.
    return load_dataset(cfg.dataset, root=cfg.data_root, **cfg.dataset_options)


def _detect(args: argparse.Namespace) -> int:
    from noisylabels.detect.core import detect
    from noisylabels.detect.report import write_outputs
    from noisylabels.train.commands import resolve_config

    if args.noise is None and not getattr(args, "config", None):
        args.noise = "clean"  # a dataset's own labels are the ones to check, unless told
    from noisylabels.outputs import check_output_dir, check_output_file

    out = check_output_dir(args.out)  # before the K trainings: a bad --out must not cost them
    for name in ("issues.csv", "summary.json", "pred_probs.npy"):
        check_output_file(out / name, inputs=[getattr(args, "data", None)])
    cfg = resolve_config(args)
    data = _load(args, cfg)
    quiet = args.quiet
    if not quiet:
        print(
            f"detecting label errors in {data.name} ({len(data.y_train)} samples, noise "
            f"{cfg.noise}) with {args.folds}-fold {cfg.method} ({cfg.epochs} epochs per fold)",
            flush=True,
        )
    det = detect(
        cfg,
        dataset=data,
        num_folds=args.folds,
        fold_seed=args.fold_seed,
        detector=args.detector,
        dynamics=args.dynamics,
        progress=not quiet,
    )
    write_outputs(det, out, pictures=not args.no_pictures)
    est = det.estimate
    line = f"flagged {det.num_flagged} of {len(det.given)} labels ({det.detector})"
    if est is not None:
        line += f"; estimated noise rate {100 * est.noise_rate:.2f}%"
    realised = det.extra.get("noise", {}).get("realised_rate")
    if realised is not None:
        line += f" (realised {100 * realised:.2f}%)"
    print(line)
    m = det.metrics()
    if m is not None:
        r = m[det.detector]
        fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
        print(
            f"against the known flips: precision {fmt(r['precision'])} recall "
            f"{fmt(r['recall'])} F1 {fmt(r['f1'])} AP {fmt(r['average_precision'])} "
            f"AUROC {fmt(r['auroc'])}"
        )
    print(f"wrote {out / 'issues.csv'}, {out / 'summary.json'}, {out / 'pred_probs.npy'}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``detect``."""
    from noisylabels.detect.core import DEFAULT_DETECTOR
    from noisylabels.train.commands import add_config_flags

    p = sub.add_parser(
        "detect",
        help="find wrong labels by cross-validated predictions (writes issues.csv)",
        description=(
            "Train K networks by stratified K-fold cross-validation (any method), score every "
            "label from the out-of-sample predicted probabilities and write OUT/issues.csv "
            "(most suspect first), OUT/summary.json, OUT/pred_probs.npy (cleanlab's layout) "
            "and pictures. --noise corrupts the labels first (default: clean, i.e. check the "
            "labels as given); with synthetic noise the summary scores the detectors against "
            "the known flips."
        ),
    )
    p.add_argument("--config", metavar="FILE.yaml", help="YAML file of training config keys")
    p.add_argument("--out", default="detect", help="output folder (default: detect)")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds (default: 5)")
    p.add_argument(
        "--fold-seed", type=int, default=None, help="seed of the folds (default: --seed)"
    )
    p.add_argument(
        "--detector",
        default=DEFAULT_DETECTOR,
        help="detector that ranks and cuts the output: cl (confident learning), "
        "self_confidence, normalized_margin, or a dynamics score with --dynamics "
        f"(default: {DEFAULT_DETECTOR})",
    )
    p.add_argument(
        "--dynamics",
        action="store_true",
        help="also train once on all labels and add training-dynamics scores "
        "(mean loss, small-loss posterior, CIW weight, area under the margin)",
    )
    p.add_argument("--no-pictures", action="store_true", help="skip the PNG pictures")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_config_flags(p)
    _add_data_flag(p)
    p.set_defaults(func=_detect)
