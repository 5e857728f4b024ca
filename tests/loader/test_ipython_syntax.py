"""The loader's own IPython-syntax stripper (linear time) against plain Python and IPython."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from hypothesis import given, settings, strategies as st

from grader.submission import SubmissionError, _strip_ipython, load_bytes

ROOT = Path(__file__).resolve().parents[2]


def test_plain_python_is_never_touched():
    # every Python file of the project: valid Python has no magic, shell or help line
    files = sorted(ROOT.glob("grader/**/*.py")) + sorted(ROOT.glob("reference/**/*.py")) + \
        sorted(ROOT.glob("tests/**/*.py"))
    assert len(files) > 50
    for path in files:
        lines = path.read_text(encoding="utf-8").split("\n")
        out, found = _strip_ipython(lines)
        assert found == [] and out == lines, (path, found[:3])


CELLS = [
    "%matplotlib inline\nimport numpy as np",
    "!pip install numpy\nfiles = !ls\nx = 1",
    "for i in range(3):\n    %time f(i)\n    y = i",
    "np.maximum?\nnp.max??\n?np.min\nz = 2",
    "a, b = %sx echo 1\nc.d = !pwd",
    's = """\n%not a magic\n!nor this\nx?\n"""\nt = (1\n%2)',
    "x = [1,\n!2]",
    "!echo one \\\n   two\nk = 3",
    "y = 'it''s' # %comment?\n%who",
    "q = 3 if x else 4  # why?\nr = x != y",
]


@pytest.mark.parametrize("cell", CELLS)
def test_lines_replaced_are_the_lines_ipython_transforms(cell):
    from IPython.core.inputtransformer2 import TransformerManager

    lines = cell.split("\n")
    out, found = _strip_ipython(lines)
    assert len(out) == len(lines)
    ipython = TransformerManager().transform_cell(cell + "\n").split("\n")
    changed_by_ipython = {i + 1 for i, line in enumerate(lines) if line not in ipython}
    ours = {line for line, _ in found} | {i + 1 for i, line in enumerate(out) if line == "" != lines[i]}
    assert ours == changed_by_ipython, (found, ipython)
    for line, _ in found:
        assert out[line - 1].strip() == "pass"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="ab =%!?'\"\\()[]{}#:\n\t", max_size=40), min_size=1, max_size=4))
def test_any_cells_load_to_compilable_code_with_the_same_line_count_or_a_reason(cells):
    for cell in cells:
        out, found = _strip_ipython(cell.split("\n"))
        assert len(out) == len(cell.split("\n")) and all(1 <= line <= len(out) for line, _ in found)
    try:
        sub = load_bytes(_notebook(*cells), "n.ipynb")
    except SubmissionError as exc:
        assert exc.reason.startswith("n.ipynb")
    else:
        compile(sub.source, "s", "exec", dont_inherit=True)


def _notebook(*sources) -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return nbformat.writes(nb).encode()
