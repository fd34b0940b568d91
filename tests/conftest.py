import os
from pathlib import Path

import pytest
import torch

REAL_DATA = os.environ.get("NOISYLABELS_DATA")


@pytest.fixture(autouse=True)
def _isolate_cache(tmp_path_factory, monkeypatch):
    """Keep tests out of the user's cache folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))
    yield


@pytest.fixture(autouse=True)
def _global_rng_untouched():
    """Library code must never touch global RNG state."""
    before = torch.random.get_rng_state().clone()
    yield
    assert torch.equal(before, torch.random.get_rng_state()), "global torch RNG was used"


@pytest.fixture
def real_data_dir() -> Path:
    if not REAL_DATA:
        pytest.skip("real-data test: set NOISYLABELS_DATA to the folder with cifar10.npz etc.")
    return Path(REAL_DATA.split(os.pathsep)[0])
