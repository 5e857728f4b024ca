"""Otter's own cells and statements in a student notebook are the notebook's, not the student's.

The loader leaves them out by statement shape (grader.submission, "otter's own statements"):
both directions are tested here — what otter writes goes, and a student's own code that merely
looks similar stays. The end-to-end tests release a real notebook with ``otter assign`` (a2 and
``convgrade new``'s scaffold), fill the solution places with the master's code, leave otter's
cells untouched, and grade it: full marks, with no otter statement in the graded module.
"""
from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from grader.assignment import load
from grader.authoring.notebook import MASTER, parse, strip_markers
from grader.authoring.release import release
from grader.authoring.scaffold import scaffold
from grader.cli import main
from grader.grade import grade_submission
from grader.submission import Submission, load_bytes


def locked(source: str) -> nbformat.NotebookNode:
    """A code cell as otter writes it (otter.assign.utils.lock)."""
    return nbformat.v4.new_code_cell(source, metadata={"deletable": False, "editable": False})


def notebook(*cells) -> bytes:
    nb = nbformat.v4.new_notebook()
    for cell in cells:
        nb.cells.append(nbformat.v4.new_code_cell(cell) if isinstance(cell, str) else cell)
    nb.metadata["otter"] = {"assignment_name": "hw"}
    return nbformat.writes(nb).encode()


INIT = '# Initialize Otter\nimport otter\ngrader = otter.Notebook("hw.ipynb")'
EXPORT = "# Save your notebook first, then run this cell to export your submission.\n" \
         "grader.export(pdf=False, run_tests=True)"


def otter_free(sub: Submission) -> None:
    """No otter statement survives anywhere in the graded module."""
    tree = ast.parse(sub.source)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    imports = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert "otter" not in names | imports and "grader" not in names, sub.source


def test_every_cell_otter_assign_writes_is_left_out_with_one_note():
    data = notebook(
        locked(INIT),                                                       # cell 1
        "import numpy as np\n\ndef relu(x):\n    return np.maximum(x, 0)",  # cell 2
        locked('grader.check("q1")'),                                       # cell 3
        locked("grader.check_all()"),                                       # cell 4
        locked(EXPORT),                                                     # cell 5
        'grader.run_plugin("gmail_plugin", "x", n=2)\ngrader.to_pdf()\n'     # cell 6
        'grader.add_plugin_files("p", files=["a.py"])',
        locked("%pip install -q otter-grader"),                             # cell 7 (colab)
        'grader = otter.Notebook(tests_url_prefix="https://x/")',           # cell 8 (url tests)
    )
    sub = load_bytes(data, "hw.ipynb")
    otter_free(sub)
    assert [c[0] for c in sub.cells] == [2, 7]      # cell 7: the magic became pass, as always
    compile(sub.source, "s", "exec", dont_inherit=True)
    otter_notes = [n for n in sub.notes if "otter" in n]
    assert len(otter_notes) == 1
    assert otter_notes[0].startswith("left out otter's own statements (import otter, "
                                     "grader = otter.Notebook(...), grader.check(...), ")
    assert "cells 1, 3, 4, 5, 6, 8" in otter_notes[0]


def test_a_cell_mixing_otter_lines_and_student_code_loses_only_otter_lines():
    src = 'x = 1\ngrader.check("q1")\ny = x + 1  # mine\ngrader.check("q2"); z = 3'
    sub = load_bytes(notebook(locked(INIT), src), "hw.ipynb")
    otter_free(sub)
    lines = sub.source.split("\n")
    # line numbers in the cell stay the student's
    assert sub.locate(lines.index("y = x + 1  # mine") + 1) == "cell 2, line 3"
    assert "pass; z = 3" in lines and "x = 1" in lines
    assert any("cell 2" in n or "cells 1, 2" in n for n in sub.notes if "otter" in n)


def test_a_released_notebook_without_its_init_cell_still_loses_grader_check():
    # a3/a4 releases had grader.check(...) cells and no init cell: those can only raise NameError
    sub = load_bytes(notebook("def f():\n    return 1", locked('grader.check("q1")')), "hw.ipynb")
    otter_free(sub)


@pytest.mark.parametrize("cells, kept", [
    # the student's own variable named grader: every grader.* statement is theirs
    ((INIT, "class G:\n    def check(self, q):\n        print(q)\ngrader = G()", 'grader.check("q1")'),
     'grader.check("q1")'),
    ((INIT, "def grader():\n    pass", "grader.check_all()"), "grader.check_all()"),
    ((INIT, "import json as grader", 'grader.export("x")'), 'grader.export("x")'),
    ((INIT, "for grader in [1]:\n    pass", 'grader.check("q")'), 'grader.check("q")'),
    ((INIT, "def f():\n    global grader\n    grader = 1", 'grader.check("q")'), 'grader.check("q")'),
    # grader.check inside the student's own function, branch or loop: never top level, kept
    ((INIT, 'def mine():\n    grader.check("q1")'), '    grader.check("q1")'),
    ((INIT, 'if True:\n    grader.check("q1")'), '    grader.check("q1")'),
    # not the exact shape: a computed argument, a used result, another method, a starred call
    ((INIT, 'q = "q1"\ngrader.check(q)'), "grader.check(q)"),
    ((INIT, 'r = grader.check("q1")'), 'r = grader.check("q1")'),
    ((INIT, 'grader.score("q1")'), 'grader.score("q1")'),
    ((INIT, 'grader.check(*["q1"])'), 'grader.check(*["q1"])'),
    # the student uses otter themselves: their import stays
    ((INIT, "import otter\nv = otter.__name__"), "import otter"),
    # an otter-like call on another name
    (("import numpy as np", 'np.check("x")'), 'np.check("x")'),
])
def test_student_code_that_only_looks_like_otter_is_kept(cells, kept):
    sub = load_bytes(notebook(*cells), "hw.ipynb")
    assert kept in sub.source.split("\n"), sub.source


def test_metadata_alone_drops_nothing():
    # a student cell carrying otter's lock metadata is still graded
    sub = load_bytes(notebook(locked("def relu(x):\n    return x")), "hw.ipynb")
    assert "def relu(x):" in sub.source and not any("otter" in n for n in sub.notes)


# ------------------------------------------------------------------ a real release, filled in


def fill_in(released: Path, master_dir: Path) -> nbformat.NotebookNode:
    """The released notebook with the master's solution code pasted into its answer cells
    (otter's ``otter_answer_cell`` tag), every other cell, otter's included, untouched."""
    nb = nbformat.read(str(released), as_version=4)
    master = parse(master_dir / MASTER)
    solutions = [strip_markers(src) for q in master.questions for src in q.solution_cells]
    answers = [c for c in nb.cells if "otter_answer_cell" in c.metadata.get("tags", [])]
    assert len(answers) == len(solutions) > 0
    for cell, code in zip(answers, solutions):
        cell.source = code
    return nb


def _release_fill_grade(folder: Path, nb_name: str, tmp_path: Path):
    a = load(folder)
    out = tmp_path / "release"
    release(a, out, verify=False)
    nb = fill_in(out / nb_name, a.path)
    assert any("otter.Notebook" in c.source for c in nb.cells if c.cell_type == "code")
    path = tmp_path / nb_name
    nbformat.write(nb, str(path))
    sub = load_bytes(path.read_bytes(), nb_name)
    otter_free(sub)
    res = grade_submission(a, path, student="alice", secret=b"test-secret")
    assert res["convgrade"].get("load_error") is None, res["convgrade"]["load_error"]
    assert res["score"] == pytest.approx(res["max_score"]), \
        [(t["name"], t["output"][:200]) for t in res["tests"] if t["status"] != "passed"]
    assert any("left out otter's own statements" in n for n in res["convgrade"]["notes"])
    # the same notebook exported to a script (jupyter nbconvert --to script) keeps otter's lines
    from nbconvert import PythonExporter

    script = tmp_path / (Path(nb_name).stem + ".py")
    script.write_text(PythonExporter().from_notebook_node(nb)[0], encoding="utf-8")
    assert "otter.Notebook(" in script.read_text(encoding="utf-8")
    otter_free(load_bytes(script.read_bytes(), script.name))
    # the path a student walks: convgrade check on the script (visible checks, exit 0 = all pass)
    r = CliRunner().invoke(main, ["check", str(a.path), str(script)])
    assert r.exit_code == 0, r.output
    # the starter, as released, does not get full marks (and is not a load error either)
    res = grade_submission(a, out / nb_name, student="alice", visibility="visible")
    assert res["score"] < res["max_score"] and res["convgrade"].get("load_error") is None


def test_filled_in_released_a2_notebook_gets_full_marks(tmp_path):
    _release_fill_grade(Path(load("a2_convolution").path), "convolution.ipynb", tmp_path)


def test_filled_in_release_of_the_new_scaffold_gets_full_marks(tmp_path):
    folder = tmp_path / "a9_relu"
    scaffold("a9_relu", folder)
    _release_fill_grade(folder, "a9_relu.ipynb", tmp_path)
