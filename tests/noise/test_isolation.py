import subprocess
import sys

import numpy as np
import pytest

from noisylabels.errors import UsageError


def test_noise_package_imports_nothing_from_data():
    code = (
        "import sys, noisylabels.noise as n; n.corrupt([0, 1], 'symmetric:0.0', num_classes=2); "
        "print(sorted(m for m in sys.modules if m.startswith('noisylabels.data')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_only_built_in_datasets_carry_a_class_map():
    from noisylabels.data import DatasetBundle, asymmetric_map, from_arrays, load_dataset

    assert "asymmetric_map" in DatasetBundle.__dataclass_fields__
    assert load_dataset("digits").asymmetric_map is None
    assert asymmetric_map("CIFAR-10").targets[9] == (1,)
    # Your own data called cifar10 is not CIFAR-10: no class map, so asymmetric noise refuses.
    x = np.zeros((30, 3), dtype=np.float32)  # 3 per class: the split keeps one for testing
    own = from_arrays(x, np.arange(30) % 10, name="cifar10")
    assert own.asymmetric_map is None
    from noisylabels.train import TrainConfig, run

    cfg = TrainConfig(dataset="cifar10", noise="asymmetric:0.2", epochs=1, model="mlp")
    with pytest.raises(UsageError, match="class map"):
        run(cfg, dataset=own)
