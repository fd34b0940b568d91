"""Independent float64 NumPy references for the losses, written from the formulas.

Each function takes logits (B, K) and integer labels (B,) as NumPy arrays and returns the
per-sample loss (B,), computing probabilities explicitly (no log_softmax, no loss matrix).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _py(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    return p[np.arange(len(y)), y]


def ce(x, y):
    return -np.log(_py(softmax(x), y))


def fl(x, y, gamma=0.5):
    py = _py(softmax(x), y)
    return -((1 - py) ** gamma) * np.log(py)


def mae(x, y):
    return 1 - _py(softmax(x), y)


def l1_to_onehot(x, y):
    p = softmax(x)
    onehot = np.eye(x.shape[1])[y]
    return np.abs(p - onehot).sum(axis=1)


def rce(x, y):
    # -sum_k p_k log(clamp(onehot_k, 1e-4, 1)), p clamped to [1e-7, 1]
    p = np.clip(softmax(x), 1e-7, 1.0)
    onehot = np.clip(np.eye(x.shape[1])[y], 1e-4, 1.0)
    return -(p * np.log(onehot)).sum(axis=1)


def nce(x, y):
    logp = np.log(softmax(x))
    return _py(logp, y) / logp.sum(axis=1)


def nfl(x, y, gamma=0.5):
    p = softmax(x)
    terms = (1 - p) ** gamma * np.log(p)
    return _py(terms, y) / terms.sum(axis=1)


def gce(x, y, q=0.7):
    p = np.clip(softmax(x), 1e-7, 1.0)
    return (1 - _py(p, y) ** q) / q


def ngce(x, y, q=0.7):
    p = np.clip(softmax(x), 1e-7, 1.0)
    return (1 - _py(p, y) ** q) / (x.shape[1] - (p**q).sum(axis=1))


def nmae(x, y):
    # MAE(p, y) / sum_j MAE(p, j), with the full L1 distance
    k = x.shape[1]
    p = softmax(x)
    l1 = np.stack([np.abs(p - np.eye(k)[j]).sum(axis=1) for j in range(k)], axis=1)
    return _py(l1, y) / l1.sum(axis=1)


def sce(x, y, alpha=0.1, beta=1.0):
    return alpha * ce(x, y) + beta * rce(x, y)


def label_smoothing(x, y, eps=0.1):
    k = x.shape[1]
    t = (1 - eps) * np.eye(k)[y] + eps / k
    return -(t * np.log(softmax(x))).sum(axis=1)


def bootstrap_soft(x, y, beta=0.95, detach=False):
    p = softmax(x)
    t = beta * np.eye(x.shape[1])[y] + (1 - beta) * p
    return -(t * np.log(p)).sum(axis=1)


def bootstrap_hard(x, y, beta=0.8):
    p = softmax(x)
    k = x.shape[1]
    t = beta * np.eye(k)[y] + (1 - beta) * np.eye(k)[p.argmax(axis=1)]
    return -(t * np.log(p)).sum(axis=1)


# ---- bi-tempered -------------------------------------------------------------------------------


def log_t(u, t):
    return np.log(u) if t == 1 else (u ** (1 - t) - 1) / (1 - t)


def exp_t(u, t):
    if t == 1:
        return np.exp(u)
    with np.errstate(divide="ignore", over="ignore"):
        return np.maximum(1 + (1 - t) * u, 0) ** (1 / (1 - t))


def tempered_softmax(x, t):
    """Normaliser by Brent's root finding on sum_k exp_t(a_k - lam) = 1, per row."""
    if t == 1:
        return softmax(x)
    out = np.empty_like(x)
    for i, a in enumerate(x):
        f = lambda lam, a=a: exp_t(a - lam, t).sum() - 1.0  # noqa: E731
        lo, hi = a.max() - 1.0, a.max() + 1.0
        while f(lo) < 0:
            lo -= 2 * (hi - lo)
        while f(hi) > 0:
            hi += 2 * (hi - lo)
        lam = brentq(f, lo, hi, xtol=1e-14, rtol=1e-14)
        out[i] = exp_t(a - lam, t)
    return out


def bitempered_soft(x, labels, t1=1.0, t2=1.0, label_smoothing=0.0):
    k = x.shape[1]
    if label_smoothing > 0:
        labels = (1 - k / (k - 1) * label_smoothing) * labels + label_smoothing / (k - 1)
    p = tempered_softmax(x, t2)
    with np.errstate(divide="ignore", invalid="ignore"):
        ylogy = np.where(labels > 0, labels * log_t(np.where(labels > 0, labels, 1.0), t1), 0.0)
        ylogp = np.where(labels > 0, labels * log_t(np.maximum(p, 1e-300), t1), 0.0)
    return (ylogy - ylogp - (labels ** (2 - t1) - p ** (2 - t1)) / (2 - t1)).sum(axis=1)


def bitempered_grad_official(p, labels, t1, t2):
    """The official custom gradient (google/bi-tempered-loss bi_tempered_logistic_loss_bwd) at
    the tempered probabilities ``p``, with numpy's 0 ** 0 = 1."""
    with np.errstate(divide="ignore", invalid="ignore"):
        forget = p ** (t2 - t1)
    delta = (p - labels) * forget
    escorts = p**t2
    escorts = escorts / escorts.sum(axis=-1, keepdims=True)
    return delta - escorts * delta.sum(axis=-1, keepdims=True)


def bitempered(x, y, t1=1.0, t2=1.0, label_smoothing=0.0, num_iters=None):
    return bitempered_soft(x, np.eye(x.shape[1])[y], t1, t2, label_smoothing)


REFERENCES = {
    "ce": ce,
    "fl": fl,
    "mae": mae,
    "rce": rce,
    "nce": nce,
    "nfl": nfl,
    "gce": gce,
    "ngce": ngce,
    "nmae": nmae,
    "sce": sce,
    "label_smoothing": label_smoothing,
    "bootstrap_soft": bootstrap_soft,
    "bootstrap_hard": bootstrap_hard,
    "bitempered": bitempered,
}
