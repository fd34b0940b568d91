"""Structure of instance-dependent noise: where a class's flipped labels go.

For each class, the share of its flipped samples whose noisy label is the class's most common
noisy label ("top-target share"). Symmetric noise gives about ``1/(K-1)`` plus sampling noise;
the reference's instance-dependent noise (Xia et al. 2020, raw pixel values times a random
``W``) concentrates most of a class's flips on one or two targets.

``--standardise`` standardises each sample's features before the noise is drawn (mean 0,
std 1 per sample), to compare the structure that feature choice gives.

Usage::

    NOISYLABELS_DATA=... python benchmarks/instance_noise_structure.py --dataset cifar10
    python benchmarks/instance_noise_structure.py --dataset digits --rate 0.4 --seeds 0,1,2
"""

from __future__ import annotations

import argparse

import numpy as np

from noisylabels.data import load_dataset
from noisylabels.noise.instance import instance_noise


def top_target_shares(clean: np.ndarray, noisy: np.ndarray, k: int) -> np.ndarray:
    """Per class: flips to the most common target / all flips of the class (NaN: no flips)."""
    out = np.full(k, np.nan)
    for c in range(k):
        moved = noisy[(clean == c) & (noisy != c)]
        if moved.size:
            out[c] = np.bincount(moved, minlength=k).max() / moved.size
    return out


def standardised(x: np.ndarray) -> np.ndarray:
    x = x.reshape(len(x), -1).astype(np.float64)
    x = x - x.mean(axis=1, keepdims=True)
    sd = x.std(axis=1, keepdims=True)
    return x / np.where(sd == 0, 1.0, sd)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="cifar10")
    ap.add_argument("--rate", type=float, default=0.4)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--standardise", action="store_true")
    args = ap.parse_args()
    ds = load_dataset(args.dataset)
    x = ds.x_train.numpy()
    if args.standardise:
        x = standardised(x)
    y = ds.y_train.numpy().astype(np.int64)
    k = ds.num_classes
    feats = "standardised per sample" if args.standardise else "stored values (reference)"
    print(f"{args.dataset}, instance:{args.rate}, features: {feats}")
    for seed in (int(s) for s in args.seeds.split(",")):
        noisy, _ = instance_noise(y, x, args.rate, k, rng=seed)
        share = top_target_shares(y, noisy, k)
        print(
            f"  seed {seed}: noise rate {np.mean(noisy != y):.3f}; top-target share per class "
            f"min {np.nanmin(share):.2f} mean {np.nanmean(share):.2f} max {np.nanmax(share):.2f}"
        )


if __name__ == "__main__":
    main()
