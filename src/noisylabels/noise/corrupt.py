"""``corrupt``: the main entry point, and the built-in noise kinds."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

import numpy as np

from noisylabels.errors import UsageError
from noisylabels.noise.human import (
    CIFAR10N_KEYS,
    CIFAR10N_SIZE,
    cifar10n_noisy_labels,
    find_cifar10n,
)
from noisylabels.noise.instance import instance_noise
from noisylabels.noise.matrices import (
    ClassMap,
    asymmetric_T,
    normalize_dataset_name,
    pairflip_T,
    symmetric_T,
    uniform_T,
)
from noisylabels.noise.record import NoisyLabels
from noisylabels.noise.sampling import confusion_T, sample_labels
from noisylabels.noise.spec import NOISE_KINDS, NoiseSpec, noise_file, register_kind


@dataclass(frozen=True)
class NoiseContext:
    """What a noise generator may need besides the labels and the spec.

    Attributes:
        num_classes: ``K``.
        dataset: Dataset name (human noise checks it is CIFAR-10), or None.
        features: ``(N, ...)`` features (instance noise), or None.
        root: Folder to look in for label files (human noise), or None.
        rng: The generator, ``np.random.default_rng(spec.seed)``.
        class_map: The dataset's asymmetric class map, or None.
        label_file: The human-noise label file, or None (then looked for in ``root``).
    """

    num_classes: int
    dataset: str | None
    features: object
    root: str | os.PathLike[str] | None
    rng: np.random.Generator
    class_map: ClassMap | None = None
    label_file: str | os.PathLike[str] | None = None


def _from_T(T: np.ndarray, clean: np.ndarray, spec: NoiseSpec, ctx: NoiseContext):
    return sample_labels(clean, T, spec.sampling, ctx.rng), T


@register_kind("clean", takes_rate=False, help="No noise (identity T).")
def _clean(clean: np.ndarray, spec: NoiseSpec, ctx: NoiseContext):
    return clean.copy(), np.eye(ctx.num_classes)


@register_kind("symmetric", help="Flip to a uniformly chosen other class; realised rate = rate.")
def _symmetric(clean: np.ndarray, spec: NoiseSpec, ctx: NoiseContext):
    return _from_T(symmetric_T(ctx.num_classes, spec.rate), clean, spec, ctx)


@register_kind(
    "uniform", help="Replace by a uniform draw (may keep the class); realised rate*(K-1)/K."
)
def _uniform(clean: np.ndarray, spec: NoiseSpec, ctx: NoiseContext):
    return _from_T(uniform_T(ctx.num_classes, spec.rate), clean, spec, ctx)


@register_kind("pairflip", help="Class i flips to i+1 mod K.")
def _pairflip(clean: np.ndarray, spec: NoiseSpec, ctx: NoiseContext):
    return _from_T(pairflip_T(ctx.num_classes, spec.rate), clean, spec, ctx)


@register_kind("asymmetric", help="Standard class maps of cifar10, mnist and cifar100.")
def _asymmetric(clean: np.ndarray, spec: NoiseSpec, ctx: NoiseContext):
    if ctx.class_map is None:
        what = f"has no class map for dataset {ctx.dataset!r}" if ctx.dataset else (
            "needs the dataset's class map (class_map=)"
        )
        raise UsageError(
            f"asymmetric noise {what}; datasets with one: cifar10, cifar100, mnist "
            "(built-in only; use symmetric, uniform, pairflip or instance)"
        )
    return _from_T(asymmetric_T(ctx.class_map, spec.rate, ctx.num_classes), clean, spec, ctx)


@register_kind("instance", help="Instance-dependent noise from the features (Xia et al. 2020).")
def _instance(clean: np.ndarray, spec: NoiseSpec, ctx: NoiseContext):
    return instance_noise(
        clean, ctx.features, spec.rate, ctx.num_classes, sampling=spec.sampling, rng=ctx.rng
    )


def _human(variant: str):
    def gen(clean: np.ndarray, spec: NoiseSpec, ctx: NoiseContext):
        dataset = normalize_dataset_name(ctx.dataset) if ctx.dataset else "cifar10"
        if ctx.num_classes != 10 or dataset != "cifar10" or clean.shape[0] != CIFAR10N_SIZE:
            raise UsageError(
                f"{spec.kind} is real human noise for the {CIFAR10N_SIZE} CIFAR-10 training "
                f"labels; got {clean.shape[0]} labels, {ctx.num_classes} classes"
                + (f" of dataset {ctx.dataset!r}" if ctx.dataset else "")
                + "; use dataset cifar10"
            )
        path = ctx.label_file
        if path is None:
            path = find_cifar10n([ctx.root] if ctx.root is not None else [])
        noisy = cifar10n_noisy_labels(variant, clean, path)
        return noisy, confusion_T(clean, noisy, 10)

    return gen


for _variant in CIFAR10N_KEYS:
    register_kind(
        f"cifar10n-{_variant}",
        takes_rate=False,
        help=f"CIFAR-10N real human noise, {_variant} labels (needs cifar10n_labels.npz).",
    )(_human(_variant))


def as_label_array(labels: object, num_classes: int | None = None) -> np.ndarray:
    """Labels (numpy, torch or sequence) as a 1-D ``int64`` array, checked to lie in ``[0, K)``.

    Raises:
        UsageError: Not 1-D, not integer, or out of range.
    """
    if hasattr(labels, "detach"):
        labels = labels.detach().cpu().numpy()
    a = np.asarray(labels)
    if a.ndim != 1:
        raise UsageError(f"labels must be a 1-D array of class indices, got shape {a.shape}")
    if a.size and not np.issubdtype(a.dtype, np.integer):
        raise UsageError(f"labels must be integers (class indices), got dtype {a.dtype}")
    a = a.astype(np.int64, copy=False)
    if num_classes is not None and a.size and (a.min() < 0 or a.max() >= num_classes):
        raise UsageError(
            f"labels must lie in [0, {num_classes}) for num_classes={num_classes}, found "
            f"{int(a.min())}..{int(a.max())}"
        )
    return a


def apply_noise_file(
    path: str | os.PathLike[str], clean_labels: object, num_classes: int
) -> NoisyLabels:
    """Load a saved noise file and check it belongs to these clean labels.

    Args:
        path: A file written by :meth:`NoisyLabels.save` (``noisylabels noise --out``).
        clean_labels: The dataset's clean training labels.
        num_classes: The dataset's number of classes.

    Raises:
        DataError: Missing or unreadable file.
        UsageError: Wrong length, classes, or clean labels that differ from the dataset's.
    """
    clean = as_label_array(clean_labels, num_classes)
    rec = NoisyLabels.load(path, expected_n=clean.shape[0], num_classes=num_classes)
    diff = int((rec.clean_labels != clean).sum())
    if diff:
        raise UsageError(
            f"noise file {path} was made from other clean labels: they differ from the "
            f"dataset's at {diff} of {clean.shape[0]} positions (another dataset or order)"
        )
    return rec


def corrupt(
    labels: object,
    spec: NoiseSpec | str,
    *,
    num_classes: int,
    dataset: str | None = None,
    features: object = None,
    seed: int | None = None,
    root: str | os.PathLike[str] | None = None,
    sampling: str | None = None,
    class_map: ClassMap | None = None,
    label_file: str | os.PathLike[str] | None = None,
) -> NoisyLabels:
    """Corrupt clean labels according to a noise spec.

    Args:
        labels: Clean labels, ``(N,)`` integer numpy array or tensor, values in ``[0, K)``.
        spec: A :class:`NoiseSpec` or a string: ``clean``, ``KIND:RATE`` (``symmetric:0.4``,
            ``uniform:0.5``, ``pairflip:0.2``, ``asymmetric:0.3``, ``instance:0.4``), a
            human-noise name (``cifar10n-worst``) or ``file:PATH`` (a saved noise file).
        num_classes: ``K``.
        dataset: Dataset name; human noise checks it is ``cifar10``.
        features: ``(N, ...)`` features; needed by ``instance``.
        seed: Overrides the spec's seed (and is the seed of a string spec).
        root: Folder holding the human-noise label file (when ``label_file`` is None).
        sampling: Overrides the spec's sampling (``exact`` or ``iid``).
        class_map: The dataset's class map; needed by ``asymmetric``
            (``DatasetBundle.asymmetric_map``, :func:`noisylabels.data.asymmetric_map`).
        label_file: The CIFAR-10N label file for human noise
            (:func:`noisylabels.data.cifar10n_file` finds it).

    Returns:
        The :class:`NoisyLabels` record; the same spec, seed and labels give identical results.

    Raises:
        UsageError: Any invalid argument, with a one-line message.

    Example:
        >>> import numpy as np
        >>> y = np.repeat(np.arange(10), 100)
        >>> res = corrupt(y, "symmetric:0.4", num_classes=10, seed=0)
        >>> res.realised_rate, res.num_noisy
        (0.4, 400)
    """
    path = noise_file(spec) if isinstance(spec, str) else None
    if path is not None:
        return apply_noise_file(os.path.expanduser(path), labels, num_classes)
    if isinstance(spec, str):
        spec = NoiseSpec.parse(spec, sampling=sampling or "exact", seed=0 if seed is None else seed)
    elif not isinstance(spec, NoiseSpec):
        raise UsageError(f"noise spec must be a NoiseSpec or a string, got {type(spec).__name__}")
    elif seed is not None or sampling is not None:
        spec = dataclasses.replace(
            spec,
            sampling=sampling or spec.sampling,
            seed=spec.seed if seed is None else seed,
        )
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise UsageError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    K = int(num_classes)
    if K < 2:
        raise UsageError(f"num_classes must be an integer >= 2, got {K}")
    clean = as_label_array(labels, K)
    ctx = NoiseContext(
        K, dataset, features, root, np.random.default_rng(spec.seed), class_map, label_file
    )
    noisy, T = NOISE_KINDS.get(spec.kind)(clean, spec, ctx)
    return NoisyLabels.build(clean, noisy, T, spec, K)
