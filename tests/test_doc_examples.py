"""README.md and docs/*.md stay true: python blocks run, commands parse, named things exist.

Blocks of one file run in order in one namespace, in a temporary working directory, so a later
block may use what an earlier one defined. A block preceded by the line ``<!-- skip-example -->``
is not run. A block that names a real dataset (CIFAR-10/100, MNIST, Fashion-MNIST, CIFAR-10N) runs
only when ``NOISYLABELS_DATA`` points at the data, as the loaders read it from there.

Every ``noisylabels ...`` command line of their shell blocks (and of BENCHMARKS.md) must be
accepted by the command's argument parser, and the committed files it names must exist; the
commands themselves are not run.

Examples are user code: they may draw from the global RNG (``torch.randn``), so each runs inside
a forked RNG state, and whatever they register (a loss, a model) is removed again after the last
block, so other tests see the built-in registries only.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SKIP_MARK = "<!-- skip-example -->"
REAL_DATA = re.compile(r"""["'](cifar10|cifar100|mnist|fashion-mnist)["']|cifar10n|\broot=""")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    code: str
    skip: bool

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def needs_data(self) -> bool:
        return bool(REAL_DATA.search(self.code))


def python_blocks(path: Path) -> list[Block]:
    """The fenced python blocks of a Markdown file, in order."""
    blocks: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        fence = lines[i].strip()
        if fence.startswith("```"):
            start, lang = i, fence[3:].strip().lower()
            i += 1
            body = []
            while i < len(lines) and not lines[i].strip().startswith("```"):
                body.append(lines[i])
                i += 1
            if lang in ("python", "py"):
                before = next((s.strip() for s in reversed(lines[:start]) if s.strip()), "")
                blocks.append(Block(path, start + 1, "\n".join(body) + "\n", before == SKIP_MARK))
        i += 1
    return blocks


BLOCKS = [b for p in DOC_FILES for b in python_blocks(p)]


def _registries() -> list:
    from noisylabels.registry import Registry

    found = {}
    for name, mod in list(sys.modules.items()):
        if name.startswith("noisylabels") and mod is not None:
            for value in vars(mod).values():
                if isinstance(value, Registry):
                    found[id(value)] = value
    return list(found.values())


class _DocFile:
    """One Markdown file's shared namespace and working directory."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.namespace: dict = {"__name__": "__doc_example__"}
        self.done = 0


@pytest.fixture(scope="module")
def doc_files(tmp_path_factory):
    # Import every registry before the snapshot.
    for name in ("bench.report", "data", "losses", "methods", "models", "noise", "train"):
        mod = importlib.import_module(f"noisylabels.{name}")
        for attr in getattr(mod, "__all__", ()):  # packages import their names on first use
            getattr(mod, attr)

    saved = [(r, dict(r._items), dict(r._help)) for r in _registries()]
    files = {p: _DocFile(tmp_path_factory.mktemp(p.stem)) for p in DOC_FILES}
    yield files
    for reg, items, helps in saved:
        reg._items.clear()
        reg._items.update(items)
        reg._help.clear()
        reg._help.update(helps)


def _execute(block: Block, doc: _DocFile, monkeypatch) -> None:
    monkeypatch.chdir(doc.workdir)
    # Examples are user code and may draw from numpy's legacy global RNG; put it back.
    np_state = np.random.get_state()  # noqa: NPY002
    # One thread: the examples train tiny models, which more threads only slow down on a busy
    # machine (docs/sweeps.md, workers and threads).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            # dont_inherit: examples run as written, not under this file's __future__ imports.
            code = compile(block.code, block.id, "exec", dont_inherit=True)
            exec(code, doc.namespace)
    finally:
        torch.set_num_threads(threads)
        np.random.set_state(np_state)  # noqa: NPY002


def _runnable(block: Block) -> bool:
    return not block.skip and not (block.needs_data and not os.environ.get("NOISYLABELS_DATA"))


def test_doc_files_have_examples():
    """The extraction finds the blocks (a broken parser would make every example test vacuous)."""
    per_file = {p.name: len(python_blocks(p)) for p in DOC_FILES}
    assert per_file["README.md"] >= 2
    assert sum(per_file.values()) >= 10


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_doc_example_runs(block: Block, doc_files, monkeypatch):
    if block.skip:
        pytest.skip(f"marked {SKIP_MARK}")
    if block.needs_data and not os.environ.get("NOISYLABELS_DATA"):
        pytest.skip("names a real dataset: set NOISYLABELS_DATA to the folder with the data files")
    doc = doc_files[block.path]
    same_file = [b for b in BLOCKS if b.path == block.path]
    index = same_file.index(block)
    # Run the earlier blocks of the file first when this one is selected alone (-k).
    for earlier in same_file[doc.done : index]:
        if _runnable(earlier):
            _execute(earlier, doc, monkeypatch)
    doc.done = max(doc.done, index + 1)
    _execute(block, doc, monkeypatch)


def shell_commands(path: Path) -> list[tuple[int, list[str]]]:
    """``noisylabels ...`` command lines of a Markdown file's shell blocks, as argument lists.

    Shell blocks are fenced ``bash``/``sh``/``console``/``shell``; in ``text`` blocks only
    ``$ noisylabels ...`` prompt lines count (the rest is output). Continuations (a trailing
    backslash) are joined, comments dropped, and ``a && b`` / ``a; b`` split.
    """
    import shlex

    found: list[tuple[int, list[str]]] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    lang, start = None, 0
    pending, pending_line = "", 0
    for no, raw in enumerate(lines, 1):
        stripped = raw.strip()
        if stripped.startswith("```"):
            lang = None if lang is not None else (stripped[3:].strip().lower() or "")
            start = no
            continue
        if lang not in ("bash", "sh", "shell", "console", "text"):
            continue
        line = stripped
        if line.startswith("$ "):
            line = line[2:]
        elif lang in ("text", "console") and not pending:
            continue
        if not pending:
            pending_line = no
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        cmd, pending = pending + line, ""
        if not re.match(r"(.*(&&|;)\s*)?noisylabels\b", cmd):
            continue
        lexer = shlex.shlex(cmd, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words: list[str] = []
        for token in [*lexer, ";"]:
            if token in ("&&", "||", ";", "|"):
                if words and words[0] == "noisylabels":
                    found.append((pending_line or start, words[1:]))
                words = []
            else:
                words.append(token)
    return found


COMMANDS = [
    (p, line, args)
    for p in [*DOC_FILES, ROOT / "BENCHMARKS.md"]
    for line, args in shell_commands(p)
]


def test_doc_files_have_commands():
    assert len(COMMANDS) >= 20


@pytest.mark.parametrize(
    "path,line,args",
    COMMANDS,
    ids=[f"{p.relative_to(ROOT)}:{line}" for p, line, _ in COMMANDS],
)
def test_doc_command_parses(path, line, args, capsys):
    """Every documented ``noisylabels`` command line is accepted by the argument parser."""
    from noisylabels.cli import build_parser

    try:
        build_parser().parse_args(args)
    except SystemExit as exc:
        err = capsys.readouterr().err.strip().splitlines()
        pytest.fail(f"noisylabels {' '.join(args)}: exit {exc.code}: {err[-1] if err else ''}")
    # The committed inputs it names (grids, results, reference numbers) exist.
    outputs = {args[i + 1] for i, a in enumerate(args[:-1]) if a in ("--out", "--plots")}
    for word in args:
        if word.startswith("benchmarks/") and word not in outputs:
            assert (ROOT / word).exists(), f"{path.name}:{line} names {word}, which does not exist"


def _resolve(dotted: str) -> object:
    """The module or attribute a dotted ``noisylabels...`` name refers to."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def test_doc_references_resolve():
    """Every `noisylabels.x.y` name and every repository path in backticks exists."""
    bad = []
    for path in [*DOC_FILES, ROOT / "BENCHMARKS.md"]:
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"`(noisylabels(?:\.[A-Za-z_]\w*)+)", text):
            try:
                _resolve(m.group(1))
            except (ImportError, AttributeError):
                bad.append(f"{path.name}: {m.group(1)}")
        for m in re.finditer(r"`((?:benchmarks|tests|src|docs|noisylabels)/[\w./-]+)`", text):
            rel = m.group(1)
            if not ((ROOT / rel).exists() or (ROOT / "src" / rel).exists()):
                bad.append(f"{path.name}: {rel}")
    assert not bad, "documented names or paths that do not exist: " + ", ".join(bad)
