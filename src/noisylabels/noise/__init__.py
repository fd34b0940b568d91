"""Label noise: transition matrices, samplers and the ``corrupt`` entry point.

The transition matrix ``T`` (row-stochastic, ``T[true, noisy]``) is the primary object. Noise
kinds: ``clean``, ``symmetric``, ``uniform``, ``pairflip``, ``asymmetric`` (a dataset's class
map, passed in: the built-in CIFAR-10, MNIST and CIFAR-100 maps come with those datasets),
``instance`` (Xia et al. 2020) and real human noise ``cifar10n-aggre|worst|random1|random2|random3``
(the label file is passed in too). Saved files are applied with ``file:PATH``.

Example:
    >>> import numpy as np
    >>> from noisylabels.noise import corrupt
    >>> y = np.repeat(np.arange(10), 50)
    >>> res = corrupt(y, "pairflip:0.2", num_classes=10, seed=0)
    >>> res.realised_rate
    0.2
"""

from noisylabels.noise.corrupt import NoiseContext, apply_noise_file, as_label_array, corrupt
from noisylabels.noise.human import cifar10n_noisy_labels, find_cifar10n, read_cifar10n
from noisylabels.noise.instance import instance_noise
from noisylabels.noise.matrices import (
    ClassMap,
    asymmetric_T,
    check_informative,
    check_transition_matrix,
    pairflip_T,
    symmetric_T,
    uniform_T,
)
from noisylabels.noise.record import NoisyLabels
from noisylabels.noise.sampling import confusion_T, sample_exact, sample_iid, sample_labels
from noisylabels.noise.spec import NOISE_KINDS, NoiseSpec, noise_file, register_kind

__all__ = [
    "NOISE_KINDS",
    "ClassMap",
    "NoiseContext",
    "NoiseSpec",
    "NoisyLabels",
    "apply_noise_file",
    "as_label_array",
    "asymmetric_T",
    "check_informative",
    "check_transition_matrix",
    "cifar10n_noisy_labels",
    "confusion_T",
    "corrupt",
    "find_cifar10n",
    "instance_noise",
    "noise_file",
    "pairflip_T",
    "read_cifar10n",
    "register_kind",
    "sample_exact",
    "sample_iid",
    "sample_labels",
    "symmetric_T",
    "uniform_T",
]
