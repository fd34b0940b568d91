"""Tiny own-data files written by the tests: an image folder of PNGs and a CSV table."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_image_folder(root: Path, classes=("cat", "dog"), n=5, size=(6, 4), mode="RGB", seed=0):
    """``root/<class>/<i>.png`` with random pixels; returns {class: [arrays in file order]}."""
    rng = np.random.default_rng(seed)
    out = {}
    for c in classes:
        (root / c).mkdir(parents=True)
        out[c] = []
        for i in range(n):
            shape = (size[1], size[0]) if mode == "L" else (size[1], size[0], 3)
            a = rng.integers(0, 256, shape, dtype=np.uint8)
            _image().fromarray(a, mode=None).save(root / c / f"{i:03d}.png")
            out[c].append(a)
    return out


def _image():
    import pytest

    return pytest.importorskip("PIL.Image")


def write_csv(path: Path, n=40, label="label", seed=0, names=False):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).round(3)
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0)
    lines = [f"f1,f2,{label},f3"]
    for row, lab in zip(x, y, strict=True):
        lab_s = ("low", "mid", "high")[lab] if names else str(lab)
        lines.append(f"{row[0]},{row[1]},{lab_s},{row[2]}")
    path.write_text("\n".join(lines) + "\n")
    return x, y
