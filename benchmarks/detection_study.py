"""Label-error detection study: our detectors beside cleanlab's ``find_label_issues``.

For each noise setting (a "row") and each source of predicted probabilities (a training
method), this script

1. corrupts the dataset's training labels (same spec and seed as ``noisylabels train``) and, with
   ``--subset N``, keeps the class-stratified subset of N samples that ``--train-subset N`` trains
   on (drawn after the noise, so each sample keeps its label from the whole set);
2. gets out-of-sample ``pred_probs`` by stratified K-fold cross-validation with that method, and
   (``--dynamics``) the training-dynamics scores of one run on all labels;
3. scores every detector against the known flips: AP, AUROC, precision, recall and F1 at its
   cut (confident learning's set for ``cl``, otherwise the estimated number of wrong labels);
4. runs cleanlab's ``find_label_issues`` (default ``prune_by_noise_rate``; AP from its
   ``get_label_quality_scores`` ranking) on the same ``pred_probs`` when cleanlab is installed
   (``pip install noisylabels[cleanlab]``), and checks the target: the best of our detectors
   beats cleanlab on the CE ``pred_probs`` in F1 and in AP;
5. (``--retrain``) trains on all noisy labels and on the labels left after each detector named
   by ``--retrain-detectors`` (pruned, and relabelled by the ``train --relabel`` rule), plus two
   references (a perfect detector's pruning and the true labels), with the same method and the
   same number of SGD steps (``--retrain-budget steps``: epochs scaled by N / N kept) over
   ``--retrain-seeds``, and reports the mean test accuracy of each.

Writes one JSON file with every number (row by row; a rerun with the same settings resumes from
the rows already there) and prints Markdown tables. Example (digits, minutes on a laptop CPU)::

    python benchmarks/detection_study.py --dataset digits --rows symmetric:0.4 \
        --methods ce gce --folds 5 --epochs 10 --dynamics --retrain --out det_study.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from noisylabels.data import load_dataset
from noisylabels.detect.core import Detection, find_label_issues
from noisylabels.detect.cv import cross_val_pred_probs
from noisylabels.detect.edit import IssueList, edit_labels
from noisylabels.detect.metrics import detection_metrics
from noisylabels.train import TrainConfig, run
from noisylabels.train.trainer import noisy_labels_for

#: Arguments that do not change the numbers of a row (a resumed study may differ in them).
_NOT_SETTINGS = ("rows", "out", "retrain_rows")


def cleanlab_metrics(pred_probs: np.ndarray, given: np.ndarray, flipped: np.ndarray) -> dict | None:
    """cleanlab's ``find_label_issues`` (defaults) and its default ranking, or None if absent."""
    try:
        from cleanlab.filter import find_label_issues as cl_find
        from cleanlab.rank import get_label_quality_scores
    except ImportError:
        return None
    mask = cl_find(labels=given, pred_probs=pred_probs)
    quality = get_label_quality_scores(labels=given, pred_probs=pred_probs)
    return detection_metrics(-quality, mask, flipped)


def parse_method(text: str) -> tuple[str, dict[str, Any]]:
    """``"ciw:lam=0.1,loss=gce"`` -> ``("ciw", {"lam": 0.1, "loss": "gce"})``."""
    name, _, rest = text.partition(":")
    params: dict[str, Any] = {}
    for item in filter(None, rest.split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--methods {text!r}: expected NAME:KEY=VALUE,... ")
        params[key] = yaml.safe_load(value)
    return name, params


def method_config(cfg: TrainConfig, method: str) -> TrainConfig:
    """``cfg`` training with ``method`` (``NAME`` or ``NAME:KEY=VALUE,...``)."""
    name, params = parse_method(method)
    return cfg.replace(method=name, method_params=params)


def subset_view(
    cfg: TrainConfig, data: Any, size: int | None, subset_seed: int
) -> tuple[Any, np.ndarray | None]:
    """The dataset restricted to ``train --train-subset size``'s rows (and the rows), or as is."""
    if size is None:
        return data, None
    from noisylabels.train.trainer import subset_rows

    rows = np.asarray(subset_rows(cfg.replace(train_subset=size, subset_seed=subset_seed), data))
    idx = torch.as_tensor(rows)
    return dataclasses.replace(data, x_train=data.x_train[idx], y_train=data.y_train[idx]), rows


def train_on(
    config: TrainConfig, data: Any, labels: np.ndarray, keep: np.ndarray
) -> dict[str, Any]:
    """Test accuracy of ``config`` trained on the ``keep`` rows of ``data`` with ``labels``."""
    idx = torch.as_tensor(np.flatnonzero(keep))
    ds = dataclasses.replace(data, x_train=data.x_train[idx], y_train=torch.as_tensor(labels)[idx])
    rec = run(config.replace(noise="clean", noise_seed=None), dataset=ds)
    return {
        "test_acc_selected": rec["final"]["test_acc_selected"],
        "test_acc_last": rec["final"]["test_acc_last"],
        "train_time_s": rec["final"]["train_time_s"],
    }


def edited(det: Detection, detector: str, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """``(keep, labels)`` after ``train --exclude``/``--relabel`` of ``detector``'s cut."""
    n = len(det.given)
    issues = IssueList(
        path=f"<{detector}>",
        index=np.arange(n),
        given=det.given,
        suggested=det.suggested,
        suggested_prob=det.suggested_prob,
        flagged=det.flagged[detector],
    )
    keep, labels, _ = edit_labels(det.given, issues, mode=mode)
    return keep, labels


def retrain_variants(
    dets: dict[str, Detection], detectors: list[str], clean: np.ndarray, why: bool = False
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Training sets to compare: all labels, each detector's pruning and relabelling, references.

    With ``why``, two more split the first detector's pruning loss into its two errors: its
    false positives dropped alone (the true flips dropped too), and its missed flips kept alone.
    """
    given = next(iter(dets.values())).given
    everything = np.ones(len(given), dtype=bool)
    out = {"all labels": (everything, given)}
    for spec in detectors:
        source, _, name = spec.partition("/")
        if source not in dets or name not in dets[source].flagged:
            raise SystemExit(f"--retrain-detectors {spec!r}: no such source/detector in the row")
        out[f"prune {spec}"] = edited(dets[source], name, "exclude")
        out[f"relabel {spec}"] = edited(dets[source], name, "relabel")
    flipped = given != clean
    out["prune the true flips (reference)"] = (~flipped, given)
    if why:
        source, _, name = detectors[0].partition("/")
        flagged = dets[source].flagged[name]
        out[f"prune the true flips and {detectors[0]}'s false positives"] = (
            ~flipped & ~flagged,
            given,
        )
        out[f"prune the true flips except those {detectors[0]} missed"] = (
            ~(flipped & flagged),
            given,
        )
    out["true labels (reference)"] = (everything, clean)
    return out


def retrain(
    config: TrainConfig,
    data: Any,
    clean: np.ndarray,
    dets: dict[str, Detection],
    *,
    detectors: list[str],
    methods: list[str],
    seeds: list[int],
    budget: str,
    why: bool = False,
) -> dict[str, Any]:
    """Mean test accuracy over ``seeds`` of every training set of :func:`retrain_variants`."""
    t0, c0 = time.perf_counter(), time.process_time()
    out: dict[str, Any] = {"budget": budget, "seeds": seeds, "methods": {}}
    variants = retrain_variants(dets, detectors, clean, why)
    n_all = len(clean)
    for method in methods:
        per: dict[str, Any] = {}
        for name, (keep, labels) in variants.items():
            epochs = config.epochs
            if budget == "steps":
                epochs = max(1, round(config.epochs * n_all / int(keep.sum())))
            cfg = method_config(config.replace(epochs=epochs), method)
            runs = [train_on(cfg.replace(seed=s), data, labels, keep) for s in seeds]
            sel = np.array([r["test_acc_selected"] for r in runs])
            last = np.array([r["test_acc_last"] for r in runs])
            per[name] = {
                "num_train": int(keep.sum()),
                "num_wrong": int(((labels != clean) & keep).sum()),
                "epochs": epochs,
                "test_acc_selected": sel.tolist(),
                "test_acc_last": last.tolist(),
                "mean_selected": float(sel.mean()),
                "std_selected": float(sel.std()),
                "mean_last": float(last.mean()),
                "train_time_s": sum(r["train_time_s"] for r in runs),
            }
        out["methods"][method] = per
    out["time_s"] = time.perf_counter() - t0
    out["cpu_s"] = time.process_time() - c0
    return out


def study_row(
    base: TrainConfig,
    data: Any,
    noise: str,
    methods: list[str],
    *,
    folds: int,
    dynamics: bool,
    subset: int | None = None,
    subset_seed: int = 0,
    retrain_args: dict[str, Any] | None = None,
    log: Any = print,
) -> dict[str, Any]:
    """All sources and detectors for one noise setting (and the retraining, if asked)."""
    from noisylabels.detect.dynamics import dynamics_scores

    t_row, c_row = time.perf_counter(), time.process_time()
    cfg = base.replace(noise=noise)
    noisy = noisy_labels_for(cfg, data)
    given = np.asarray(noisy.noisy_labels, dtype=np.int64)
    clean = np.asarray(noisy.clean_labels, dtype=np.int64)
    data, rows = subset_view(cfg, data, subset, subset_seed)
    if rows is not None:
        given, clean = given[rows], clean[rows]
    flipped = given != clean
    row: dict[str, Any] = {
        "noise": noise,
        "num_samples": len(given),
        "realised_rate": float(flipped.mean()),
        "sources": {},
    }
    dets: dict[str, Detection] = {}
    for method in methods:
        mcfg = method_config(cfg, method)
        t0, c0 = time.perf_counter(), time.process_time()
        records: list[dict] = []
        probs, _ = cross_val_pred_probs(
            mcfg, data, given, num_folds=folds, on_fold=lambda k, r, rs=records: rs.append(r)
        )
        t_cv, c_cv = time.perf_counter() - t0, time.process_time() - c0
        extra = {}
        t_dyn = 0.0
        if dynamics:
            t1 = time.perf_counter()
            extra = dynamics_scores(mcfg, data, given)
            t_dyn = time.perf_counter() - t1
        t2 = time.perf_counter()
        det = find_label_issues(probs, given, clean_labels=clean, extra_scores=extra)
        t_scores = time.perf_counter() - t2
        t3 = time.perf_counter()
        cleanlab = cleanlab_metrics(probs, given, flipped)
        t_cleanlab = time.perf_counter() - t3
        dets[method] = det
        row["sources"][method] = {
            "estimated_rate": det.estimate.noise_rate,
            "detectors": det.metrics(),
            "cleanlab": cleanlab,
            "time_cv_s": t_cv,
            "cpu_cv_s": c_cv,
            "time_fold_train_s": sum(r["final"]["train_time_s"] for r in records),
            "fold_test_acc": [r["final"]["test_acc_last"] for r in records],
            "time_dynamics_s": t_dyn,
            "time_scores_s": t_scores,
            "time_cleanlab_s": t_cleanlab if cleanlab is not None else None,
            "transition_l1_max_row": float(
                np.abs(det.estimate.transition - np.asarray(noisy.T_realised)).sum(1).max()
            ),
        }
        log(
            f"{noise} {method}: est {100 * det.estimate.noise_rate:.1f}% "
            f"(real {100 * flipped.mean():.1f}%), cv {t_cv:.0f}s dyn {t_dyn:.0f}s"
        )
    row["best"] = best_detector(row)
    row["target"] = target_check(row)
    if retrain_args is not None:
        row["retrain"] = retrain(cfg, data, clean, dets, **retrain_args)
        log(f"{noise} retrain: {row['retrain']['time_s']:.0f}s")
    row["time_s"] = time.perf_counter() - t_row
    row["cpu_s"] = time.process_time() - c_row
    return row


def _ours(row: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (src, name, m) for src, s in row["sources"].items() for name, m in s["detectors"].items()
    ]


def best_detector(row: dict[str, Any]) -> dict[str, Any]:
    """The (source, detector) with the highest F1 (ties: higher AP)."""
    best: dict[str, Any] = {}
    for src, name, m in _ours(row):
        key = (m["f1"] or 0.0, m["average_precision"] or 0.0)
        if not best or key > best["key"]:
            best = {"source": src, "detector": name, "key": key, **m}
    best.pop("key", None)
    return best


def target_check(row: dict[str, Any], reference: str = "ce") -> dict[str, Any] | None:
    """Does the best of ours beat cleanlab on ``reference``'s pred_probs in F1 and in AP?

    The best F1 and the best AP are taken separately over every source x detector (an oracle
    choice against the known flips); ``both`` lists the detectors that beat cleanlab in both.
    None when cleanlab or the reference source is missing.
    """
    src = row["sources"].get(reference)
    if src is None or src["cleanlab"] is None:
        return None
    cl = src["cleanlab"]
    ours = _ours(row)
    f1 = max(ours, key=lambda t: t[2]["f1"] or 0.0)
    ap = max(ours, key=lambda t: t[2]["average_precision"] or 0.0)
    return {
        "cleanlab_f1": cl["f1"],
        "cleanlab_ap": cl["average_precision"],
        "best_f1": f1[2]["f1"],
        "best_f1_by": f"{f1[0]}/{f1[1]}",
        "best_ap": ap[2]["average_precision"],
        "best_ap_by": f"{ap[0]}/{ap[1]}",
        "holds_f1": (f1[2]["f1"] or 0.0) > (cl["f1"] or 0.0),
        "holds_ap": (ap[2]["average_precision"] or 0.0) > (cl["average_precision"] or 0.0),
        "both": [
            f"{s}/{n}"
            for s, n, m in ours
            if (m["f1"] or 0.0) > (cl["f1"] or 0.0)
            and (m["average_precision"] or 0.0) > (cl["average_precision"] or 0.0)
        ],
    }


def _f(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def markdown(results: dict[str, Any]) -> str:
    """Per row: every source x detector, cleanlab beside them, the target, the retraining."""
    lines = []
    for row in results["rows"]:
        rate = 100 * row["realised_rate"]
        lines.append(f"\n**{results['dataset']} {row['noise']}** (realised {rate:.1f}%)")
        lines.append("\n| pred_probs | detector | est. rate | AP | AUROC | P | R | F1 |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for src, s in row["sources"].items():
            items = list(s["detectors"].items())
            if s["cleanlab"] is not None:
                items.append(("cleanlab find_label_issues", s["cleanlab"]))
            for name, m in items:
                lines.append(
                    f"| {src} | {name} | {100 * s['estimated_rate']:.1f}% | "
                    f"{_f(m['average_precision'])} | {_f(m['auroc'])} | {_f(m['precision'])} | "
                    f"{_f(m['recall'])} | {_f(m['f1'])} |"
                )
        t = row.get("target")
        if t is not None:
            lines.append(
                f"\nTarget: best F1 {_f(t['best_f1'])} ({t['best_f1_by']}) vs cleanlab "
                f"{_f(t['cleanlab_f1'])}: {'holds' if t['holds_f1'] else 'MISSED'}; best AP "
                f"{_f(t['best_ap'])} ({t['best_ap_by']}) vs {_f(t['cleanlab_ap'])}: "
                f"{'holds' if t['holds_ap'] else 'MISSED'}"
            )
        r = row.get("retrain")
        if r is not None:
            for method, per in r["methods"].items():
                lines.append(
                    f"\nRetrain {method} ({r['budget']} budget, seeds {r['seeds']}): test accuracy"
                )
                lines.append(
                    "\n| training set | samples | wrong labels | epochs | selected | last |"
                )
                lines.append("|---|---|---|---|---|---|")
                for name, v in per.items():
                    lines.append(
                        f"| {name} | {v['num_train']} | {v['num_wrong']} | {v['epochs']} | "
                        f"{100 * v['mean_selected']:.2f} ± {100 * v['std_selected']:.2f} | "
                        f"{100 * v['mean_last']:.2f} |"
                    )
    return "\n".join(lines)


def settings_of(args: argparse.Namespace) -> dict[str, Any]:
    """The arguments that determine a row's numbers."""
    return {k: v for k, v in vars(args).items() if k not in _NOT_SETTINGS}


def main(argv: list[str] | None = None) -> int:
    """Run the study; write JSON, print Markdown."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="digits")
    p.add_argument("--rows", nargs="+", default=["symmetric:0.2", "symmetric:0.4"])
    p.add_argument("--methods", nargs="+", default=["ce", "gce"], help="NAME or NAME:KEY=VALUE,...")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--model", default="auto")
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--augment", default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--subset", type=int, default=None, help="train --train-subset N's samples")
    p.add_argument("--subset-seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch threads")
    p.add_argument("--dynamics", action="store_true")
    p.add_argument("--retrain", action="store_true")
    p.add_argument("--retrain-rows", nargs="+", default=None, help="rows to retrain (default: all)")
    p.add_argument("--retrain-detectors", nargs="+", default=["ce/cl"], help="SOURCE/DETECTOR")
    p.add_argument("--retrain-methods", nargs="+", default=["ce"])
    p.add_argument("--retrain-seeds", nargs="+", type=int, default=[0])
    p.add_argument("--retrain-budget", choices=("steps", "epochs"), default="steps")
    p.add_argument(
        "--retrain-why",
        action="store_true",
        help="also retrain without the first detector's false positives / missed flips alone",
    )
    p.add_argument("--out", default="detection_study.json")
    args = p.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    base = TrainConfig(
        dataset=args.dataset,
        epochs=args.epochs,
        model=args.model,
        seed=args.seed,
        augment=args.augment,
        device="auto",
        test_eval="selected",
    )
    if args.lr is not None:
        base = base.replace(lr=args.lr)
    if args.batch_size is not None:
        base = base.replace(batch_size=args.batch_size)
    out = Path(args.out)
    results: dict[str, Any] = {
        "dataset": args.dataset,
        "argv": sys.argv[1:] if argv is None else list(argv),
        "settings": settings_of(args),
        "config": base.to_dict(),
        "folds": args.folds,
        "subset": args.subset,
        "rows": [],
    }
    done: dict[str, dict[str, Any]] = {}
    if out.exists():
        old = json.loads(out.read_text())
        if old.get("settings") == results["settings"]:
            done = {r["noise"]: r for r in old["rows"]}
    data = load_dataset(args.dataset)
    for noise in args.rows:
        wants_retrain = args.retrain and (args.retrain_rows is None or noise in args.retrain_rows)
        if noise in done and (not wants_retrain or "retrain" in done[noise]):
            results["rows"].append(done[noise])
            continue
        retrain_args = None
        if wants_retrain:
            retrain_args = {
                "detectors": args.retrain_detectors,
                "methods": args.retrain_methods,
                "seeds": args.retrain_seeds,
                "budget": args.retrain_budget,
                "why": args.retrain_why,
            }
        row = study_row(
            base,
            data,
            noise,
            args.methods,
            folds=args.folds,
            dynamics=args.dynamics,
            subset=args.subset,
            subset_seed=args.subset_seed,
            retrain_args=retrain_args,
            log=lambda s: print(s, file=sys.stderr, flush=True),
        )
        results["rows"].append(row)
        out.write_text(json.dumps(results, indent=1))
    results["time_s"] = sum(r["time_s"] for r in results["rows"])
    results["cpu_s"] = sum(r["cpu_s"] for r in results["rows"])
    out.write_text(json.dumps(results, indent=1))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
