"""Every ``Example:`` in the package's docstrings runs (doctest), module by module."""

import doctest
import importlib
import pkgutil

import numpy as np
import pytest
import torch

import noisylabels

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(noisylabels.__path__, prefix="noisylabels.")
    if m.name != "noisylabels.__main__"  # runs the command line on import
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = [t for t in finder.find(module, name) if t.examples]
    if not tests:
        pytest.skip("no examples")
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    # Examples are user code: they may seed or draw from the global RNGs; put them back.
    numpy_state = np.random.get_state()  # noqa: NPY002
    with torch.random.fork_rng(devices=[]):
        for t in tests:
            runner.run(t)
    np.random.set_state(numpy_state)  # noqa: NPY002
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
