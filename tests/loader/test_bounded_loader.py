"""The notebook loader does bounded work on hostile notebooks (issue 11, class 5).

Each attack either loads or fails with a :class:`SubmissionError` reason, never another
exception. The loader no longer uses IPython's input transformer (whose help-line regex took
minutes on one crafted line) nor difflib (quadratic on repeated lines): the tests assert that
neither is imported, and run every attack in one subprocess under a generous timeout — the old
loader needed minutes for these inputs, the new one a fraction of a second.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader.submission import MAX_CELLS, MAX_JSON_DEPTH, SubmissionError, json_depth_ok, load_bytes

ROOT = Path(__file__).resolve().parents[2]


def notebook(*sources) -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return nbformat.writes(nb).encode()


def raw_notebook(cells_json: str) -> bytes:
    return ('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": ' + cells_json + "}").encode()


def reason_of(data: bytes) -> str:
    with pytest.raises(SubmissionError) as info:
        load_bytes(data, "hw.ipynb")
    assert info.value.reason and "\n" not in info.value.reason
    return info.value.reason


# the crafted line: IPython's help-end regex is quadratic in it (4000 chars: 0.4 s, 100k: minutes)
CRAFTED = "a" * 100_000 + " ?"


def test_the_crafted_help_line_is_a_syntax_error_cell_left_out():
    sub = load_bytes(notebook("x = 1", CRAFTED), "hw.ipynb")
    assert [c[0] for c in sub.cells] == [1]
    assert any(n.startswith("cell 2 has a syntax error at line 1") for n in sub.notes)


def test_ten_thousand_repeated_lines_with_magics_keep_every_line_number():
    lines = ["x = 1", "%time x", "!ls", "x?"] * 2_500
    sub = load_bytes(notebook("\n".join(lines)), "hw.ipynb")
    out = sub.source.split("\n")
    first = sub.cells[0][1]
    assert len(out[first - 1:sub.cells[0][2]]) == len(lines)
    assert out[first - 1 + 4 * 2_000] == "x = 1" and out[first + 4 * 2_000] == "pass"
    assert "dropped 2500 IPython magic lines (cell 1)." in sub.notes


def test_deep_json_is_refused_without_recursion():
    depth = "[" * 200_000 + "]" * 200_000
    reason = reason_of(raw_notebook('[], "x": ' + depth))
    assert f"nests too deeply (more than {MAX_JSON_DEPTH} levels)" in reason
    # the linear pre-scan used where a process raised the recursion limit
    assert not json_depth_ok(depth) and json_depth_ok("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)
    # nesting inside a string does not count
    src = json.dumps("x = '" + "[" * 5_000 + "'")
    assert load_bytes(raw_notebook('[{"cell_type": "code", "metadata": {}, "source": ' + src + "}]"),
                      "hw.ipynb").cells


@pytest.mark.parametrize("source, what", [("[\"x = 1\\n\", 5]", "piece 2 of its source is a number"),
                                          ("[\"x = 1\\n\", null]", "piece 2 of its source is null"),
                                          ("[[\"x\"]]", "piece 1 of its source is a list"),
                                          ("{\"a\": 1}", "malformed source (an object")])
def test_a_non_string_in_a_cell_source_is_a_reason(source, what):
    reason = reason_of(raw_notebook('[{"cell_type": "code", "metadata": {}, "source": ' + source + "}]"))
    assert reason.startswith("hw.ipynb: cell 1 ") and what in reason


def test_too_many_cells_and_non_object_cells_are_reasons():
    many = "[" + ",".join(['{"cell_type": "markdown", "metadata": {}, "source": ""}'] * (MAX_CELLS + 1)) + "]"
    assert f"at most {MAX_CELLS} are accepted" in reason_of(raw_notebook(many))
    assert "cell 2 is not a notebook cell" in reason_of(raw_notebook('[{"cell_type": "code", "source": "x=1"}, 7]'))


ATTACKS = r"""
import json, sys
from grader.submission import SubmissionError, load_bytes
import nbformat

def nb(*sources):
    n = nbformat.v4.new_notebook()
    n.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return nbformat.writes(n).encode()

attacks = {
    "crafted help line": nb("x = 1", "a" * 100_000 + " ?"),
    "crafted assignment": nb("x = " + "a" * 100_000 + " ?"),
    "10k repeated lines": nb("\n".join(["x = 1", "%time x", "y = (1,", "2)"] * 2_500)),
    "10k repeated magics": nb("\n".join(["!ls \\", "   -l"] * 5_000 + ["z = 1"])),
    "repeated cells": nb(*(["%time x\nx = 1"] * 3_000)),
    "long backslash chain": nb("!x " + "\\\n" * 50_000 + "z = 1"),
    "many quotes": nb("s = '''" + "\\'" * 100_000 + "'''"),
    "deep json": b'{"nbformat": 4, "cells": [], "x": ' + b"[" * 500_000 + b"]" * 500_000 + b"}",
    "escaped json": b'{"nbformat": 4, "cells": [], "x": "' + b'\\"' * 1_000_000 + b'"}',
    "non-string source": b'{"nbformat": 4, "metadata": {}, "cells": [{"cell_type": "code", "source": ["x", 5]}]}',
    "deep code": nb("x = " + "(" * 50_000 + ")" * 50_000),
}
out = {}
for name, data in attacks.items():
    try:
        sub = load_bytes(data, "hw.ipynb")
        out[name] = "loaded"
    except SubmissionError as exc:
        out[name] = "reason: " + exc.reason[:80]
out["modules"] = sorted(m for m in ("IPython", "difflib") if m in sys.modules)
print(json.dumps(out))
"""


def test_every_attack_loads_or_fails_cleanly_in_bounded_work():
    proc = subprocess.run([sys.executable, "-c", ATTACKS], capture_output=True, text=True, cwd=ROOT,
                          timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out.pop("modules") == []                 # neither IPython's transformer nor difflib
    assert out["crafted help line"] == "loaded"      # the other cell is graded
    assert out["10k repeated lines"] == "loaded" and out["10k repeated magics"] == "loaded"
    assert out["repeated cells"] == "loaded" and out["long backslash chain"] == "loaded"
    assert out["deep json"].startswith("reason: hw.ipynb is not a usable notebook")
    assert out["non-string source"].startswith("reason: hw.ipynb: cell 1 is damaged")
    assert all(v == "loaded" or v.startswith("reason: ") for v in out.values()), out
