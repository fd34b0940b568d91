"""``noisylabels detect`` (find wrong labels) and ``noisylabels predict`` (use a saved model)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def _add_data_flags(p: argparse.ArgumentParser) -> None:
    # The training flags may already carry these (file datasets); add the missing ones.
    have = {s for a in p._actions for s in a.option_strings}
    if "--data" not in have:
        p.add_argument(
            "--data",
            metavar="PATH",
            help="your own data (image folder, CSV/Parquet table or .npz) instead of --dataset",
        )
    if "--label-column" not in have:
        p.add_argument(
            "--label-column", help="label column of a CSV/Parquet table (default: label)"
        )
    if "--image-size" not in have:
        p.add_argument("--image-size", help="resize the images of a folder to N (or HxW)")


def _file_options(args: argparse.Namespace) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    if getattr(args, "label_column", None) is not None:
        opts["label_column"] = args.label_column
    if getattr(args, "image_size", None):
        opts["image_size"] = args.image_size
    return opts


def _load(args: argparse.Namespace, cfg: Any) -> Any:
    from noisylabels.data import load_dataset

    # --data PATH (and its --label-column/--image-size) already set cfg.dataset and its options.
    return load_dataset(cfg.dataset, root=cfg.data_root, **cfg.dataset_options)


def _detect(args: argparse.Namespace) -> int:
    from noisylabels.detect.core import detect
    from noisylabels.detect.report import write_outputs
    from noisylabels.errors import UsageError
    from noisylabels.train.commands import data_inputs, resolve_config

    if args.noise is None and not getattr(args, "config", None):
        args.noise = "clean"  # a dataset's own labels are the ones to check, unless told
    from noisylabels.outputs import check_output_dir, check_output_file

    cfg = resolve_config(args)
    # Before the K trainings: a bad --out must not cost them, nor add a class to the images.
    inputs = data_inputs(cfg)
    out = check_output_dir(args.out, inputs=inputs)
    for name in ("issues.csv", "summary.json", "pred_probs.npy"):
        check_output_file(out / name, inputs=inputs)
    if cfg.exclude or cfg.relabel:  # its indices are rows of the whole set, not of a fold's
        raise UsageError(
            "--exclude and --relabel edit the labels a training run learns from; detect checks "
            "the labels as given: run it on the data, then train --exclude/--relabel"
        )
    data = _load(args, cfg)
    quiet = args.quiet
    if not quiet:
        print(
            f"detecting label errors in {data.name} ({cfg.train_subset or len(data.y_train)} "
            f"samples, noise "
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


def _predict(args: argparse.Namespace) -> int:
    import csv
    import io

    import torch

    from noisylabels.data import load_dataset
    from noisylabels.data.commands import check_root
    from noisylabels.errors import UsageError
    from noisylabels.models.saved import predict_saved, read_model_info
    from noisylabels.outputs import check_output_file, write_file

    meta = read_model_info(args.model)
    model_files = [Path(args.model).expanduser() / n for n in ("model.json", meta["weights"])]
    check_output_file(args.out, inputs=[*model_files, args.data, args.dataset])
    if bool(args.data) == bool(args.dataset):
        raise UsageError("give the inputs with exactly one of --data PATH or --dataset NAME")
    check_root(args.root)
    if args.data:
        data = load_dataset(args.data, **_file_options(args))
    else:
        data = load_dataset(args.dataset, root=args.root)
    split = args.split or ("all" if args.data else "test")
    names = data.sample_names or ((), ())
    if split == "train":
        x, y, ids = data.x_train, data.y_train, names[0]
    elif split == "test":
        x, y, ids = data.x_test, data.y_test, names[1]
    else:
        x, y = torch.cat([data.x_train, data.x_test]), torch.cat([data.y_train, data.y_test])
        ids = names[0] + names[1]
    if list(data.classes) != list(meta["classes"]):
        print(
            "note: the data's class names differ from the model's; the label column uses the "
            "data's numbering",
            file=sys.stderr,
        )
    probs = predict_saved(args.model, x, device=args.device)
    pred = probs.argmax(1)
    classes = meta["classes"]
    # Your own files: each row names its sample (an image's path relative to the folder, a
    # table row), so it matches the file whatever the split order; built-in datasets: the
    # position in the split.
    first = "sample" if ids else "index"
    text = io.StringIO()
    w = csv.writer(text, lineterminator="\n")
    w.writerow([first, "predicted_label", "predicted_class", "probability", "label"])
    for i in range(len(pred)):
        p = int(pred[i])
        w.writerow([ids[i] if ids else i, p, classes[p], f"{float(probs[i, p]):.6f}", int(y[i])])
    out = write_file(args.out, text.getvalue())
    acc = float((pred == y.long()).float().mean()) if len(y) else float("nan")
    print(f"wrote {len(pred)} predictions to {out} (accuracy against the labels {100 * acc:.2f}%)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``detect`` and ``predict``."""
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
    _add_data_flags(p)
    p.set_defaults(func=_detect)

    q = sub.add_parser(
        "predict",
        help="predict with a model saved by train --save-model (writes a CSV)",
        description="Class predictions of a saved model (noisylabels train --save-model DIR) "
        "on a dataset split; writes the sample (an image's path relative to the folder, or a "
        "table row, for --data; the position in the split for --dataset), predicted label and "
        "class, its probability and the data's own label.",
    )
    q.add_argument("--model", required=True, metavar="DIR", help="saved model folder")
    q.add_argument("--data", metavar="PATH", help="your own data (image folder, table, .npz)")
    q.add_argument("--dataset", metavar="NAME", help="a built-in dataset")
    q.add_argument("--label-column", help="label column of a CSV/Parquet table (default: label)")
    q.add_argument("--image-size", help="resize the images of a folder to N (or HxW)")
    q.add_argument("--root", default=None, help="folder to look in first for dataset files")
    q.add_argument(
        "--split",
        choices=("test", "train", "all"),
        default=None,
        help="which part to predict (default: all of --data PATH, the test split of --dataset)",
    )
    q.add_argument("--device", default="cpu", help="(default: cpu)")
    q.add_argument("--out", default="predictions.csv", help="(default: predictions.csv)")
    q.set_defaults(func=_predict)
