"""Package names imported on first use, so ``noisylabels --help`` never imports torch.

A package whose modules need torch lists its public names as ordinary imports under
``if TYPE_CHECKING:`` (what readers and type checkers see) and ends with::

    __getattr__, __dir__ = lazy_imports(__name__, __file__)

:func:`lazy_imports` reads those import lines from the package's own source, and the first
access to a name (``noisylabels.data.load_dataset``, ``from noisylabels.data import ...``)
imports its module. Importing one light submodule (``noisylabels.train.config`` for the
``train`` flags) then does not import the trainer, models and torch.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _type_checking_imports(source: str) -> dict[str, tuple[str, str]]:
    names: dict[str, tuple[str, str]] = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"):
            continue
        for stmt in node.body:
            if isinstance(stmt, ast.ImportFrom) and stmt.module and not stmt.level:
                for alias in stmt.names:
                    names[alias.asname or alias.name] = (stmt.module, alias.name)
    return names


def lazy_imports(
    package: str, init_file: str
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` from its ``if TYPE_CHECKING:`` imports.

    Args:
        package: The package's ``__name__``.
        init_file: The package's ``__file__`` (its ``__init__.py``).
    """
    names = _type_checking_imports(Path(init_file).read_text(encoding="utf-8"))

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attr = names[name]
        value = getattr(importlib.import_module(module), attr)
        setattr(sys.modules[package], name, value)  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(names))

    return __getattr__, __dir__
