"""The starter (the master with its solutions stripped) is what otter assign gives students:
grader.authoring.notebook.strip_solutions writes otter's rules out so that validation does not
import otter (seconds); these tests keep the two equal on every bundled master and on edge cases."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from grader.assignment import available, load
from grader.authoring.notebook import _kept_code_cells, _lines, parse, strip_solutions

otter_solutions = pytest.importorskip("otter.assign.solutions")

EDGE_CASES = [
    ["x = f(y)  # SOLUTION", "a, b = g(x) # SOLUTION", "d['k'][0] = 2 #SOLUTION", "self.w.data = w # SOLUTION"],
    ["print(x)  # SOLUTION", "    return y # SOLUTION", "x == 1 # SOLUTION", "x += 1 # SOLUTION"],
    ["def f(x):", "    # BEGIN SOLUTION", "    y = x + 1", "    return y", "    # END SOLUTION"],
    ["def f(x):", "    # BEGIN SOLUTION NO PROMPT", "    return x", "    # END SOLUTION", "    pass"],
    ["seed = 42 # SEED", "hint = 1 # SOLUTION NO PROMPT", "# BEGIN PROMPT", "x = ...", "# END PROMPT"],
    ["# BEGIN SOLUTION", "# BEGIN SOLUTION", "x = 1", "# END SOLUTION", "y = 2 # SOLUTION  "],
    ["kwargs = dict(a=1)  # SOLUTION", "x[i, j] = 0  # SOLUTION", "  # SOLUTION", ""],
]
UNBALANCED = [["# END SOLUTION"], ["# BEGIN SOLUTION", "x = 1"]]


def _otter(lines):
    return otter_solutions.replace_solutions(list(lines), "python")


@pytest.mark.parametrize("lines", EDGE_CASES)
def test_strip_solutions_is_otters_on_edge_cases(lines):
    assert strip_solutions(lines) == _otter(lines)


@pytest.mark.parametrize("lines", UNBALANCED)
def test_unbalanced_blocks_are_refused_like_otter(lines):
    with pytest.raises(AssertionError):
        _otter(lines)
    with pytest.raises(ValueError):
        strip_solutions(lines)


@pytest.mark.parametrize("aid", available())
def test_strip_solutions_is_otters_on_every_bundled_master(aid):
    master = parse(Path(load(aid).path) / "master.ipynb")
    cells = [src.split("\n") for cell, stack in _kept_code_cells(master) if "SOLUTION" in stack
             for src in ["\n".join(_lines(cell))]]
    assert cells
    for lines in cells:
        assert strip_solutions(lines) == _otter(lines)


def test_the_starter_does_not_import_otter():
    code = ("import sys; from grader.authoring.notebook import parse, starter_source; "
            "from grader.assignment import load; a = load('a4_upsampling_segmentation'); "
            "starter_source(parse(a.path / 'master.ipynb')); print(sorted(m for m in sys.modules if m.startswith('otter')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
