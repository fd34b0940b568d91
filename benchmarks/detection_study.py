"""Label-error detection study: our detectors beside cleanlab's ``find_label_issues``.

For each noise setting (a "row") and each source of predicted probabilities (a training
method), this script

1. corrupts the dataset's training labels (same spec and seed as ``noisylabels train``);
2. gets out-of-sample ``pred_probs`` by stratified K-fold cross-validation with that method, and
   (``--dynamics``) the training-dynamics scores of one run on all labels;
3. scores every detector against the known flips: AP, AUROC, precision, recall and F1 at its
   cut (confident learning's set for ``cl``, otherwise the estimated number of wrong labels);
4. runs cleanlab's ``find_label_issues`` (default ``prune_by_noise_rate``; AP from its
   ``get_label_quality_scores`` ranking) on the same ``pred_probs`` when cleanlab is installed
   (``pip install noisylabels[cleanlab]``);
5. (``--retrain``) trains CE on all noisy labels and on the labels left after removing the best
   detector's flagged samples, and reports the test accuracy of both.

Writes one JSON file with every number and prints a Markdown table. Example (digits, seconds to
minutes on a laptop CPU)::

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

from noisylabels.data import load_dataset
from noisylabels.detect.core import find_label_issues
from noisylabels.detect.cv import cross_val_pred_probs
from noisylabels.detect.metrics import detection_metrics
from noisylabels.train import TrainConfig, run
from noisylabels.train.trainer import noisy_labels_for


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


def retrain(
    config: TrainConfig, data: Any, given: np.ndarray, drop: np.ndarray
) -> dict[str, float]:
    """Test accuracy of ``config`` trained on all given labels and on those not in ``drop``."""
    out = {}
    for name, keep in (("all", np.ones(len(given), bool)), ("pruned", ~drop)):
        idx = torch.as_tensor(np.flatnonzero(keep))
        ds = dataclasses.replace(
            data,
            x_train=data.x_train[idx],
            y_train=torch.as_tensor(given)[idx],
        )
        rec = run(config.replace(noise="clean", noise_seed=None), dataset=ds)
        out[name] = rec["final"]["test_acc_selected"]
        out[f"{name}_last"] = rec["final"]["test_acc_last"]
        out[f"{name}_num_train"] = int(len(idx))
    return out


def study_row(
    base: TrainConfig,
    data: Any,
    noise: str,
    methods: list[str],
    *,
    folds: int,
    dynamics: bool,
    do_retrain: bool,
    log: Any = print,
) -> dict[str, Any]:
    """All sources and detectors for one noise setting."""
    from noisylabels.detect.dynamics import dynamics_scores

    cfg = base.replace(noise=noise)
    noisy = noisy_labels_for(cfg, data)
    given = np.asarray(noisy.noisy_labels, dtype=np.int64)
    clean = np.asarray(noisy.clean_labels, dtype=np.int64)
    flipped = given != clean
    row: dict[str, Any] = {"noise": noise, "realised_rate": float(flipped.mean()), "sources": {}}
    flagged: dict[str, dict[str, np.ndarray]] = {}
    for method in methods:
        mcfg = cfg.replace(method=method)
        t0 = time.perf_counter()
        records: list[dict] = []
        probs, _ = cross_val_pred_probs(
            mcfg, data, given, num_folds=folds, on_fold=lambda k, r, rs=records: rs.append(r)
        )
        t_cv = time.perf_counter() - t0
        extra = {}
        t_dyn = 0.0
        if dynamics:
            t1 = time.perf_counter()
            extra = dynamics_scores(mcfg, data, given)
            t_dyn = time.perf_counter() - t1
        t2 = time.perf_counter()
        det = find_label_issues(probs, given, clean_labels=clean, extra_scores=extra)
        t_scores = time.perf_counter() - t2
        flagged[method] = det.flagged
        row["sources"][method] = {
            "estimated_rate": det.estimate.noise_rate,
            "detectors": det.metrics(),
            "cleanlab": cleanlab_metrics(probs, given, flipped),
            "time_cv_s": t_cv,
            "time_fold_train_s": sum(r["final"]["train_time_s"] for r in records),
            "time_dynamics_s": t_dyn,
            "time_scores_s": t_scores,
            "transition_l1_max_row": float(
                np.abs(det.estimate.transition - np.asarray(noisy.T_realised)).sum(1).max()
            ),
        }
        log(
            f"{noise} {method}: est {100 * det.estimate.noise_rate:.1f}% "
            f"(real {100 * flipped.mean():.1f}%), cv {t_cv:.0f}s dyn {t_dyn:.0f}s"
        )
    best = best_detector(row)
    row["best"] = best
    if do_retrain:
        t3 = time.perf_counter()
        drop = flagged[best["source"]][best["detector"]]
        r = retrain(cfg.replace(method="ce"), data, given, drop)
        r["detector"] = f"{best['source']}/{best['detector']}"
        r["time_s"] = time.perf_counter() - t3
        row["retrain"] = r
    return row


def best_detector(row: dict[str, Any]) -> dict[str, Any]:
    """The (source, detector) with the highest F1 (ties: higher AP)."""
    best: dict[str, Any] = {}
    for src, s in row["sources"].items():
        for name, m in s["detectors"].items():
            key = (m["f1"] or 0.0, m["average_precision"] or 0.0)
            if not best or key > best["key"]:
                best = {"source": src, "detector": name, "key": key, **m}
    best.pop("key", None)
    return best


def markdown(results: dict[str, Any]) -> str:
    """One table per row: AP, AUROC, precision/recall/F1 at the cut of every source x detector."""
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
                f = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
                lines.append(
                    f"| {src} | {name} | {100 * s['estimated_rate']:.1f}% | "
                    f"{f(m['average_precision'])} | {f(m['auroc'])} | {f(m['precision'])} | "
                    f"{f(m['recall'])} | {f(m['f1'])} |"
                )
        if "retrain" in row and "all" in row["retrain"]:
            r = row["retrain"]
            lines.append(
                f"\nRetrain ({r['detector']} pruned {r['all_num_train'] - r['pruned_num_train']}"
                f" samples): test acc all labels {100 * r['all']:.2f}% -> pruned "
                f"{100 * r['pruned']:.2f}% (selected epoch)"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the study; write JSON, print Markdown."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="digits")
    p.add_argument("--rows", nargs="+", default=["symmetric:0.2", "symmetric:0.4"])
    p.add_argument("--methods", nargs="+", default=["ce", "gce"])
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--model", default="auto")
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dynamics", action="store_true")
    p.add_argument("--retrain", action="store_true")
    p.add_argument("--out", default="detection_study.json")
    args = p.parse_args(argv)
    base = TrainConfig(
        dataset=args.dataset,
        epochs=args.epochs,
        model=args.model,
        seed=args.seed,
        device="auto",
        test_eval="selected",
    )
    if args.lr is not None:
        base = base.replace(lr=args.lr)
    if args.batch_size is not None:
        base = base.replace(batch_size=args.batch_size)
    data = load_dataset(args.dataset)
    t0 = time.perf_counter()
    results: dict[str, Any] = {
        "dataset": args.dataset,
        "argv": sys.argv[1:] if argv is None else list(argv),
        "config": base.to_dict(),
        "folds": args.folds,
        "rows": [],
    }
    for noise in args.rows:
        row = study_row(
            base,
            data,
            noise,
            args.methods,
            folds=args.folds,
            dynamics=args.dynamics,
            do_retrain=args.retrain,
            log=lambda s: print(s, file=sys.stderr, flush=True),
        )
        results["rows"].append(row)
        Path(args.out).write_text(json.dumps(results, indent=1))
    results["wall_time_s"] = time.perf_counter() - t0
    Path(args.out).write_text(json.dumps(results, indent=1))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
