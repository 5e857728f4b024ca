"""One broken notebook cell costs what it defines, not the whole notebook (issue 14).

A cell that does not compile is left out when the notebook is loaded; a cell whose top level
raises when the module is imported is left out from the raising statement on (what Jupyter's
"Run All" ran of it) and the import retried in a fresh worker
(:func:`grader.submission.without_crashed_cell`). End to end: a notebook built from a1's master
notebook, with one syntax error and two top-level crashes, graded from the CLI.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader.assignment import load
from grader.authoring.notebook import MASTER, strip_markers
from grader.submission import MAX_CRASH_RETRIES, load_bytes, without_crashed_cell

ROOT = Path(__file__).resolve().parents[2]


def from_master(edit) -> nbformat.NotebookNode:
    """a1's master notebook as a student hands it in, filled in: its code cells (markers
    stripped) and Markdown cells; ``edit(source) -> source`` changes each code cell."""
    master = nbformat.read(str(load("a1_backprop").path / MASTER), as_version=4)
    nb = nbformat.v4.new_notebook()
    for cell in master.cells:
        if cell.cell_type == "code":
            nb.cells.append(nbformat.v4.new_code_cell(edit(strip_markers(cell.source))))
        elif cell.cell_type == "markdown":
            nb.cells.append(nbformat.v4.new_markdown_cell(cell.source))
    return nb


def broken(source: str) -> str:
    if "class Softplus(Module)" in source:          # does not compile: Softplus and Softsign are lost
        return source.replace("class Softplus(Module)", "class Softplus(Module", 1)
    if "class Maxout(Module)" in source:            # a demo after the class raises: Maxout is kept
        return source + "\n\ndemo = Maxout(3, 2, 2)\nprint(demo.no_such_attribute)\n"
    if "class Softmax(Module)" in source:           # raises before the classes: they are lost
        return "raise RuntimeError('not done yet')\n\n" + source
    return source


def cell_of(nb, text: str) -> int:
    return next(i for i, c in enumerate(nb.cells, 1) if text in c.source)


def test_syntax_error_and_top_level_crashes_graded_from_the_cli(tmp_path):
    nb = from_master(broken)
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(path))
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-m", "grader", "grade", "a1_backprop", str(path), "--json",
                          "--isolation", "process"], capture_output=True, text=True, env=env, timeout=120,
                         cwd=tmp_path)
    assert out.returncode in (0, 1), out.stderr[-2000:]
    res = json.loads(out.stdout)
    meta = res["convgrade"]
    assert meta.get("load_error") is None
    notes = meta["notes"]
    softplus, maxout, softmax = cell_of(nb, "class Softplus"), cell_of(nb, "class Maxout"), cell_of(nb, "class Softmax")
    assert any(n.startswith(f"cell {softplus} has a syntax error at line 1:") and
               n.endswith("it was left out, so the checks that need what it defines fail.") for n in notes), notes
    demo_line = nb.cells[maxout - 1].source.split("\n").index("print(demo.no_such_attribute)") + 1
    crash = next(n for n in notes if n.startswith(f"cell {maxout} raised"))
    assert "`AttributeError: 'Maxout' object has no attribute 'no_such_attribute'`" in crash
    assert f"(cell {maxout}, line {demo_line}: `print(demo.no_such_attribute)`)" in crash
    assert f"line {demo_line} and the rest of cell {maxout} were left out" in crash
    assert any(n.startswith(f"cell {softmax} raised `RuntimeError: not done yet`") for n in notes), notes
    failed = {t["name"] for t in res["tests"] if t["status"] != "passed"}
    lost = ("Softplus", "Softsign", "Softmax", "CrossEntropyLoss", "TwoLayerNet")   # the net trains with CE
    assert failed and all(name.startswith(lost) for name in failed), sorted(failed)
    assert not any(name.startswith(("Maxout", "Linear", "ReLU", "Sigmoid")) for name in failed)
    assert 0 < res["score"] < res["max_score"]


# ------------------------------------------------------------------ without_crashed_cell


def _sub(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    return load_bytes(nbformat.writes(nb).encode(), "hw.ipynb")


def _line(sub, text: str) -> int:
    return sub.source.split("\n").index(text) + 1


def _error(*frames, type="ZeroDivisionError", message="division by zero"):
    return {"type": type, "message": message, "frames": [list(f) for f in frames]}


def test_the_rest_of_the_cell_goes_and_every_line_number_stays():
    sub = _sub("import numpy as np", "def f(x):\n    return x\na = 1; b = 1 / 0\n@staticmethod\ndef g():\n    pass",
               "y = 2")
    line = _line(sub, "a = 1; b = 1 / 0")
    fb = without_crashed_cell(sub, _error((line, "<module>")))
    lines = fb.source.split("\n")
    assert len(lines) == len(sub.source.split("\n")) and fb.cells == sub.cells
    # a frame names a line, not a statement: the line's first statement on goes
    assert lines[line - 1] == "pass" and "def f(x):" in lines and "y = 2" in lines
    assert "@staticmethod" not in fb.source and "def g" not in fb.source
    compile(fb.source, "hw.py", "exec")
    assert fb.crashed_cells == [(2, 3, "ZeroDivisionError: division by zero")] and fb.sha256 == sub.sha256
    assert fb.notes[-1].startswith("cell 2 raised `ZeroDivisionError: division by zero` when run (cell 2, line 3:")


def test_a_crash_note_keeps_the_cause_of_a_message_that_carries_a_traceback():
    """An error re-raised from a DataLoader worker at a cell's top level: the note shows the
    message's first and last line, where the cause is, as a check's row does."""
    sub = _sub("import numpy as np", "x = load()")
    message = ("Caught RuntimeError in DataLoader worker process 0.\nOriginal Traceback (most recent call last):\n"
               + "  File \"/x/worker.py\", line 1, in loop\n" * 10 + "RuntimeError: unable to allocate shared memory")
    fb = without_crashed_cell(sub, _error((_line(sub, "x = load()"), "<module>"), type="RuntimeError", message=message))
    what = fb.crashed_cells[0][2]
    assert what.startswith("RuntimeError: Caught RuntimeError") and what.endswith("unable to allocate shared memory")
    assert "\n" not in fb.notes[-1]


def test_a_decorator_that_raises_takes_its_definition():
    sub = _sub("x = 1", "@no_such_decorator\ndef f():\n    pass\nz = 3")
    fb = without_crashed_cell(sub, _error((_line(sub, "@no_such_decorator"), "<module>"), type="NameError",
                                          message="name 'no_such_decorator' is not defined"))
    assert "no_such_decorator" not in fb.source and "def f" not in fb.source and "x = 1" in fb.source
    compile(fb.source, "hw.py", "exec")


@pytest.mark.parametrize("case", ["script", "not module frame", "outside cells", "no frames", "no error",
                                  "bad frame", "bool line"])
def test_no_fallback_where_it_is_not_safe(case):
    sub = _sub("x = 1", "y = 1 / 0")
    line = _line(sub, "y = 1 / 0")
    error = {"script": _error((1, "<module>")), "not module frame": _error((line, "f")),
             "outside cells": _error((1, "<module>")), "no frames": _error(), "no error": None,
             "bad frame": _error((line, "<module>", 3)), "bool line": _error((True, "<module>"))}[case]
    if case == "script":
        sub = load_bytes(b"x = 1\ny = 1 / 0\n", "hw.py")
    assert without_crashed_cell(sub, error) is None


def test_retries_are_bounded_in_number_and_time():
    sub = _sub(*[f"x{i} = 1 / 0" for i in range(MAX_CRASH_RETRIES + 1)])
    for i in range(MAX_CRASH_RETRIES):
        sub = without_crashed_cell(sub, _error((_line(sub, f"x{i} = 1 / 0"), "<module>")), 1.0, 10.0)
        assert sub is not None and sub.retry_budget_s == pytest.approx(10.0 - (i + 1))
    assert without_crashed_cell(sub, _error((_line(sub, f"x{MAX_CRASH_RETRIES} = 1 / 0"), "<module>"))) is None
    first = _sub("a = 1 / 0", "b = 1 / 0")
    assert without_crashed_cell(first, _error((_line(first, "a = 1 / 0"), "<module>")), 5.0, 5.0) is None
