"""Import has its own deadline (issue 10), and runtime errors point into the notebook (issue 14).

A small manifest keeps these fast: a probe deadline of 1 s, an import deadline of a few seconds.
"""
from __future__ import annotations

import nbformat
import pytest

from grader.assignment import load
from grader.checks.base import worker_error_text
from grader.grade import grade_submission
from grader.sandbox import Limits, ProbeResult
from grader.submission import load_bytes

MANIFEST = """
id = "deadlines"
title = "Import deadline"
[imports]
forbidden = ["torch"]
[limits]
wall_s = 30
probe_timeout_s = 1
import_timeout_s = {import_timeout_s}
"""
CHECKS = """
[[check]]
name = "MaxPool2d forward"
kind = "forward"
target = "MaxPool2d"
points = 1
visibility = "visible"
init = { kernel_size = 2 }
input = { shape = [1, 2, 4, 4], distinct = true }
"""
POOL = '''import numpy as np


class MaxPool2d:
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        self.k = kernel_size

    def forward(self, x):
        n, c, h, w = x.shape
        return x.reshape(n, c, h // self.k, self.k, w // self.k, self.k).max(axis=(3, 5))
'''


def assignment(tmp_path, import_timeout_s):
    folder = tmp_path / "deadlines"
    folder.mkdir()
    (folder / "assignment.toml").write_text(MANIFEST.format(import_timeout_s=import_timeout_s))
    (folder / "checks.toml").write_text(CHECKS)
    return load(folder)


def notebook_file(tmp_path, *sources, name="hw.ipynb"):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    path = tmp_path / name
    nbformat.write(nb, str(path))
    return path


def test_import_deadline_is_a_limits_field_with_a_generous_default():
    assert Limits().import_timeout_s >= 30 and Limits().probe_timeout_s < Limits().import_timeout_s
    with pytest.raises(ValueError, match="import_timeout_s"):
        Limits(import_timeout_s=0)


def test_slow_top_level_code_within_the_import_deadline_is_graded(tmp_path):
    # sleeps longer than the probe deadline (1 s), well within the import deadline
    path = notebook_file(tmp_path, "import time\ntime.sleep(2.0)", POOL)
    res = grade_submission(assignment(tmp_path, 20), path, student="x", secret=b"k")
    assert res["convgrade"].get("load_error") is None
    assert res["score"] == 1 and res["convgrade"]["limits"]["import_timeout_s"] == 20


def test_an_import_past_its_deadline_says_which_deadline_ran_out(tmp_path):
    path = notebook_file(tmp_path, "import time\ntime.sleep(30)", POOL)
    res = grade_submission(assignment(tmp_path, 1.5), path, student="x", secret=b"k")
    reason = res["convgrade"]["load_error"]
    assert "importing your module took longer than 1.5 s (the import deadline)" in reason
    assert "infinite loop" not in reason and "import_timeout_s" in reason
    assert res["score"] == 0 and reason in res["tests"][0]["output"]


def test_a_check_past_its_deadline_names_the_check_deadline():
    err = {"type": "timeout", "message": "no answer within 1 s while running this check",
           "deadline": "probe", "limit_s": 1.0}
    text = worker_error_text(ProbeResult("timeout", error=err))
    assert "within this check's time limit of 1 s (the probe deadline)" in text
    err.update(deadline="import", limit_s=60.0)
    assert worker_error_text(ProbeResult("timeout", error=err)).startswith(
        "importing your module took longer than 60 s (the import deadline)")


def test_a_runtime_error_names_every_frame_in_the_notebook_with_its_text(tmp_path):
    path = notebook_file(
        tmp_path,
        "import numpy as np",                                                    # cell 1
        "def helper(x):\n    y = x + 1\n    return y.no_such_attribute",        # cell 2
        "class MaxPool2d:\n    def __init__(self, kernel_size, **kw):\n"        # cell 3
        "        pass\n\n    def forward(self, x):\n        return helper(x)")
    res = grade_submission(assignment(tmp_path, 20), path, student="x", secret=b"k")
    out = res["tests"][0]["output"]
    assert "cell 2, line 3 in helper: `return y.no_such_attribute`" in out, out
    assert "called from cell 3, line 6 in forward: `return helper(x)`" in out, out
    assert "line 1" not in out.replace("cell 2, line 3", "")   # no generated-module line numbers


def test_an_import_error_points_into_the_notebook(tmp_path):
    """A notebook cell whose top level raises is left out from the crashing line on (the rest is
    graded, grader.submission.without_crashed_cell); the note points into the notebook."""
    path = notebook_file(tmp_path, POOL, "def boom():\n    return 1 / 0", "x = 2\nboom()")
    res = grade_submission(assignment(tmp_path, 20), path, student="x", secret=b"k")
    assert res["convgrade"].get("load_error") is None and res["score"] == res["max_score"]
    note = next(n for n in res["convgrade"]["notes"] if n.startswith("cell 3 raised"))
    assert "`ZeroDivisionError: division by zero`" in note
    assert "cell 2, line 2 in boom: `return 1 / 0`; called from cell 3, line 2: `boom()`" in note
    assert "line 2 and the rest of cell 3 were left out" in note


def test_an_import_error_of_a_script_points_into_it(tmp_path):
    path = tmp_path / "hw.py"
    path.write_text(POOL + "\n\ndef boom():\n    return 1 / 0\n\n\nboom()\n")
    res = grade_submission(assignment(tmp_path, 20), path, student="x", secret=b"k")
    reason = res["convgrade"]["load_error"]
    assert "ZeroDivisionError" in reason and res["score"] == 0
    assert "line 14 in boom: `return 1 / 0`; called from line 17: `boom()`" in reason


def test_locate_maps_generated_lines_and_reads_the_text_from_the_trusted_source():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), nbformat.v4.new_code_cell("a = 1\nb = '`x`'")]
    sub = load_bytes(nbformat.writes(nb).encode(), "n.ipynb")
    line = sub.source.split("\n").index("b = '`x`'") + 1
    assert sub.frame(line, "<module>") == "cell 2, line 2: `` b = '`x`' ``"
    assert sub.frame(10_000) == "line 10000"          # a worker lying about lines gets no text
    assert sub.traceback([[line, "f"]] * 7).endswith("(and 3 more calls)")


def test_the_batch_hard_limit_leaves_room_for_the_import_deadline(tmp_path):
    from grader.batch.runner import default_timeout

    a = assignment(tmp_path, 45)
    assert default_timeout(a) >= 45 + a.limits["wall_s"]


def test_a_long_error_message_keeps_its_cause():
    """An error re-raised from elsewhere (a DataLoader worker's) carries the original traceback in
    its message: the row shows its first and its last line, on one line, bounded."""
    message = ("Caught RuntimeError in DataLoader worker process 0.\nOriginal Traceback (most recent call last):\n"
               + "  File \"/x/worker.py\", line 1, in loop\n    data = fetch(index)\n" * 20
               + "RuntimeError: unable to allocate shared memory(shm): No space left on device (28)")
    text = worker_error_text(ProbeResult("error", error={"type": "RuntimeError", "message": message}))
    assert "Caught RuntimeError in DataLoader worker process 0. … RuntimeError: unable to allocate" in text
    assert "\n" not in text and len(text) < 400
    short = worker_error_text(ProbeResult("error", error={"type": "ValueError", "message": "shapes differ:\n(2, 3)"}))
    assert "`ValueError: shapes differ: (2, 3)`" in short
