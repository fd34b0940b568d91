import os
import platform
import subprocess
import sys

import pytest

PROBE = """
from noisylabels.train.allocator import tune_allocator
first = tune_allocator()
print(first, tune_allocator())
"""


def _probe(env_value):
    env = dict(os.environ)
    env.pop("NOISYLABELS_TUNE_MALLOC", None)
    if env_value is not None:
        env["NOISYLABELS_TUNE_MALLOC"] = env_value
    # A fresh interpreter: the tuning is once per process and must not leak into the test run.
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.split()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc tuning is Linux-only")
def test_tunes_once_on_glibc_and_honours_opt_out():
    on_glibc = platform.libc_ver()[0] == "glibc"
    assert _probe(None) == [str(on_glibc)] * 2
    assert _probe("0") == ["False", "False"]
