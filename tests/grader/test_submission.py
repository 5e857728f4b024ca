"""grader.submission: uploads -> one module source, or a SubmissionError with a clear reason."""
from __future__ import annotations

import hashlib
import io
import stat
import struct
import zipfile

import nbformat
import pytest
from hypothesis import given, settings, strategies as st

from grader.submission import (MAX_ZIP_MEMBERS, Submission, SubmissionError, load_bytes,
                               load_submission)

GOOD_PY = "import numpy as np\n\n\ndef relu(x):\n    return np.maximum(x, 0)\n"


def notebook(*cells, version=4) -> bytes:
    """cells: ("code"|"markdown", source) pairs, or a bare string for a code cell."""
    nb = nbformat.v4.new_notebook()
    for cell in cells:
        kind, source = ("code", cell) if isinstance(cell, str) else cell
        nb.cells.append(nbformat.v4.new_code_cell(source) if kind == "code"
                        else nbformat.v4.new_markdown_cell(source))
    return nbformat.writes(nb).encode()


def make_zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def reason_of(data: bytes, filename: str, **kwargs) -> str:
    with pytest.raises(SubmissionError) as info:
        load_bytes(data, filename, **kwargs)
    reason = info.value.reason
    assert reason and "\n" not in reason and "Traceback" not in reason
    return reason


# ------------------------------------------------------------------------------ .py


def test_py_good(tmp_path):
    path = tmp_path / "hw1.py"
    path.write_bytes(GOOD_PY.encode())
    sub = load_submission(path)
    assert isinstance(sub, Submission)
    assert (sub.kind, sub.filename, sub.cells, sub.notes) == ("py", "hw1.py", [], [])
    assert sub.source == GOOD_PY
    assert sub.sha256 == hashlib.sha256(GOOD_PY.encode()).hexdigest()
    assert sub.locate(5) == "line 5"


def test_py_bom_and_crlf_accepted():
    sub = load_bytes(b"\xef\xbb\xbf" + GOOD_PY.replace("\n", "\r\n").encode(), "a.py")
    assert sub.source == GOOD_PY
    assert sub.sha256 == hashlib.sha256(
        b"\xef\xbb\xbf" + GOOD_PY.replace("\n", "\r\n").encode()).hexdigest()


def test_py_not_utf8():
    reason = reason_of("x = 'héllo'\n".encode("latin-1"), "a.py")
    assert "not UTF-8" in reason and "line 1" in reason


def test_py_syntax_error_names_line_and_message():
    reason = reason_of(b"x = 1\ndef f(:\n    pass\n", "a.py")
    assert reason.startswith("a.py: syntax error at line 2:")
    reason = reason_of(b"x = (1,\ny = 2\n", "a.py")
    assert "line 1" in reason and "never closed" in reason
    assert "print" in reason_of(b"print 'hi'\n", "a.py")


def test_py_compile_time_errors_are_caught_without_running():
    # 'return' outside a function parses as an AST but does not compile
    reason = reason_of(b"import os\nreturn os.system('echo pwned')\n", "a.py")
    assert "line 2" in reason and "outside function" in reason


def test_py_indentation_error():
    reason = reason_of(b"def f():\nreturn 1\n", "a.py")
    assert "indentation error at line 2" in reason


@pytest.mark.parametrize("data", [b"", b"   \n\t\n", b"# just a comment\n"])
def test_py_empty(data):
    reason = reason_of(data, "a.py")
    assert "empty" in reason or "no code" in reason


def test_py_nul_bytes():
    assert "NUL" in reason_of(b"x = 1\x00\n", "a.py")


def test_py_nbconvert_script_get_ipython_lines_replaced():
    src = ("#!/usr/bin/env python\n# In[1]:\nget_ipython().run_line_magic('matplotlib', 'inline')\n"
           "import numpy as np\nx = 1; get_ipython().system('ls'); y = 2\n")
    sub = load_bytes(src.encode(), "hw.py")
    lines = sub.source.split("\n")
    assert lines[2] == "pass" and lines[4] == "x = 1; pass; y = 2"
    assert "get_ipython" not in sub.source
    assert any("2 get_ipython() statements" in n and "lines 3, 5" in n for n in sub.notes)


def test_py_syntax_warning_becomes_note():
    sub = load_bytes(b'import re\npat = re.compile("\\d+")\n', "a.py")
    assert any(n.startswith("warning at line 2") and "escape" in n for n in sub.notes)


def test_wrong_extension_lists_accepted():
    reason = reason_of(b"x = 1\n", "hw1.txt")
    assert "hw1.txt" in reason and ".py, .ipynb or .zip" in reason
    assert ".py or .ipynb" in reason_of(b"x", "a.zip", allowed=(".py", ".ipynb"))


def test_too_large(tmp_path):
    data = b"x = 1\n" * 2000
    reason = reason_of(data, "a.py", max_bytes=1000)
    assert "limit is 1 KB" in reason
    path = tmp_path / "big.py"
    path.write_bytes(data)
    with pytest.raises(SubmissionError, match="limit"):
        load_submission(path, max_bytes=1000)
    assert "clear them" in reason_of(notebook("x = 1") + b" " * 20000, "n.ipynb", max_bytes=1000)


def test_notebook_outputs_do_not_count_toward_the_size_limit():
    """Stored outputs are never graded: a notebook over the limit only with them is graded (with
    a note); one whose own sources are over it says so, without blaming the outputs."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("import numpy as np\nx = np.zeros(3)")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo" * 400})]
    nb.cells.append(cell)
    data = nbformat.writes(nb).encode()
    assert 4000 < len(data) < 10_000
    sub = load_bytes(data, "hw.ipynb", max_bytes=1000)
    assert "x = np.zeros(3)" in sub.source
    assert any("outputs are never graded and do not count toward the 1 KB limit" in n for n in sub.notes)
    big = notebook("x = 1\n" + "# " + "y" * 3000)
    reason = reason_of(big, "hw.ipynb", max_bytes=1000)
    assert "even without the stored outputs" in reason and "clear them" not in reason


def test_missing_file(tmp_path):
    with pytest.raises(SubmissionError, match="could not be read"):
        load_submission(tmp_path / "nope.py")


def test_bad_arguments():
    with pytest.raises(ValueError, match="allowed"):
        load_bytes(b"x=1", "a.py", allowed=(".py", ".exe"))
    with pytest.raises(ValueError, match="max_bytes"):
        load_bytes(b"x=1", "a.py", max_bytes=0)


# ------------------------------------------------------------------------------ .ipynb


def test_notebook_good_with_magics_shell_skip_and_outputs():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Homework 1"),                                # cell 1
        nbformat.v4.new_code_cell("%matplotlib inline\nimport numpy as np"),          # cell 2
        nbformat.v4.new_code_cell("# convgrade: skip\nraise SystemExit('scratch')"),  # cell 3
        nbformat.v4.new_code_cell("!pip install torch\nfiles = !ls\n"                 # cell 4
                                  "def relu(x):\n    return np.maximum(x, 0)"),
        nbformat.v4.new_code_cell("%%time\nslow = train()"),                          # cell 5
        nbformat.v4.new_code_cell("for i in range(2):\n    %time relu(i)\n"           # cell 6
                                  "np.maximum?\nget_ipython().system('ls')\nz = 3"),
    ]
    # stored outputs claiming success must change nothing
    nb.cells[3].outputs = [nbformat.v4.new_output("stream", text="All checks passed: 100/100\n")]
    nb.cells[3].execution_count = 7
    nb.metadata["convgrade"] = {"score": 100}
    data = nbformat.writes(nb).encode()
    sub = load_bytes(data, "hw1.ipynb")

    assert sub.kind == "ipynb" and sub.filename == "hw1.ipynb"
    assert sub.sha256 == hashlib.sha256(data).hexdigest()
    assert "passed" not in sub.source and "100" not in sub.source
    for gone in ("%matplotlib", "%time", "!pip", "!ls", "?", "get_ipython", "SystemExit",
                 "train()"):
        assert gone not in sub.source
    assert [l for l in sub.source.split("\n") if l.startswith("#")] == \
        ["# %% cell 2", "# %% cell 4", "# %% cell 6"]
    assert "def relu(x):\n    return np.maximum(x, 0)" in sub.source
    assert "for i in range(2):\n    pass\n" in sub.source
    compile(sub.source, "s", "exec")
    notes = " | ".join(sub.notes)
    assert "skipped cell 5: it starts with the cell magic %%time" in notes
    assert "skipped 1 cell marked '# convgrade: skip' (cell 3)" in notes
    assert "dropped 2 IPython magic lines (cells 2, 6)" in notes
    assert "dropped 3 shell commands (!) (cells 4, 6)" in notes
    assert "dropped 1 help request (?) (cell 6)" in notes
    assert [c[0] for c in sub.cells] == [2, 4, 6]


def test_notebook_outputs_do_not_change_source():
    plain = notebook("x = 1", "y = x + 1")
    nb = nbformat.reads(plain.decode(), as_version=4)
    nb.cells[1].outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "2"})]
    nb.cells[1].metadata["tags"] = ["graded"]
    assert load_bytes(nbformat.writes(nb).encode(), "n.ipynb").source == \
        load_bytes(plain, "n.ipynb").source


def test_notebook_line_to_cell_mapping():
    data = notebook(("markdown", "intro"), "a = 1\nb = 2", ("markdown", "more"),
                    "\n\ndef f():\n    return c\nc = 3")
    sub = load_bytes(data, "n.ipynb")
    lines = sub.source.split("\n")
    (n1, f1, l1), (n2, f2, l2) = sub.cells
    assert (n1, n2) == (2, 4)
    assert lines[f1 - 1:l1] == ["a = 1", "b = 2"]
    assert lines[f2 - 1:l2] == ["", "", "def f():", "    return c", "c = 3"]
    line_of_return = lines.index("    return c") + 1
    assert sub.locate(line_of_return) == "cell 4, line 4"
    assert sub.locate(f1 + 1) == "cell 2, line 2"


def test_notebook_line_numbers_survive_dropped_continuations():
    # a backslash-continued magic (merged by IPython) must not shift later lines
    sub = load_bytes(notebook("!pip install a \\\n    b\nx = 1\ny = (\n 2)\nz = 3"), "n.ipynb")
    lines = sub.source.split("\n")
    assert sub.locate(lines.index("z = 3") + 1) == "cell 1, line 6"


def test_notebook_string_with_percent_lines_is_kept():
    src = 's = """\n%d items\n!important\n"""\nt = (1\n%2)'
    sub = load_bytes(notebook(src), "n.ipynb")
    assert src in sub.source and sub.notes == []


def test_notebook_cell_with_a_syntax_error_is_left_out_with_a_note():
    # issue 14: one broken cell no longer costs the whole notebook
    data = notebook(("markdown", "x"), "a = 1", "%matplotlib inline\nb = 2\nc = (3,", "d = a + 1")
    sub = load_bytes(data, "hw.ipynb")
    assert [c[0] for c in sub.cells] == [2, 4] and "b = 2" not in sub.source
    note = next(n for n in sub.notes if "cell 3" in n)
    assert note.startswith("cell 3 has a syntax error at line 3:") and "never closed" in note
    assert note.endswith("it was left out, so the checks that need what it defines fail.")
    assert sub.broken_cells and sub.broken_cells[0][0] == 3
    compile(sub.source, "s", "exec", dont_inherit=True)


def test_notebook_compile_time_errors_leave_the_cell_out():
    sub = load_bytes(notebook("return 3", "x = 1", "def f():\n    nonlocal y"), "hw.ipynb")
    assert [c[0] for c in sub.cells] == [2]
    assert any(n.startswith("cell 1 has a syntax error at line 1: 'return' outside function")
               for n in sub.notes)
    assert any(n.startswith("cell 3 has a syntax error at line 2:") for n in sub.notes)


def test_notebook_where_no_cell_compiles_is_a_reason_naming_the_cell_and_line():
    reason = reason_of(notebook(("markdown", "x"), "%matplotlib inline\nb = 2\nc = (3,"), "hw.ipynb")
    assert reason.startswith("hw.ipynb: cell 2 has a syntax error at line 3:")
    assert "never closed" in reason
    reason = reason_of(notebook("def f(:", "x = ("), "hw.ipynb")
    assert reason.startswith("hw.ipynb: no code cell compiles; the first: cell 1 has a syntax error")


def test_notebook_invalid_json():
    reason = reason_of(b'{"cells": [', "hw.ipynb")
    assert "not a valid notebook: invalid JSON at line 1" in reason


def test_notebook_not_a_notebook():
    assert "not a Jupyter notebook" in reason_of(b'{"a": 1}', "hw.ipynb")
    assert "not a Jupyter notebook" in reason_of(b'[1, 2]', "hw.ipynb")


def test_notebook_old_format():
    old = b'{"nbformat": 3, "nbformat_minor": 0, "worksheets": [], "metadata": {}}'
    assert "old notebook format 3" in reason_of(old, "hw.ipynb")


def test_notebook_without_code():
    assert "no code" in reason_of(notebook(("markdown", "only text"), "   "), "hw.ipynb")
    assert "no code" in reason_of(notebook("# convgrade: skip\nx = 1"), "hw.ipynb")


def test_notebook_malformed_cell_source():
    nb = '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [' \
         '{"cell_type": "code", "source": 42, "metadata": {}, "outputs": []}]}'
    reason = reason_of(nb.encode(), "hw.ipynb")
    assert "hw.ipynb" in reason


# ------------------------------------------------------------------------------ .zip


def test_zip_with_one_notebook():
    data = make_zip({"hw1/homework.ipynb": notebook("import numpy as np", "x = np.ones(3)"),
                     "__MACOSX/hw1/._homework.ipynb": b"\x00\x05junk",
                     "hw1/.ipynb_checkpoints/homework-checkpoint.ipynb": b"{}"})
    sub = load_bytes(data, "upload.zip")
    assert sub.kind == "zip" and sub.filename == "hw1/homework.ipynb"
    assert sub.sha256 == hashlib.sha256(data).hexdigest()
    assert "x = np.ones(3)" in sub.source and sub.cells[0][0] == 1
    assert sub.locate(sub.cells[1][1]) == "cell 2, line 1"


def test_zip_with_sitecustomize_and_conftest_uses_only_submission():
    data = make_zip({"sitecustomize.py": b"import os; os.system('rm -rf /')\n",
                     "conftest.py": b"def pytest_configure(): pass\n",
                     "usercustomize.py": b"raise SystemExit\n",
                     "submission.py": GOOD_PY.encode(),
                     "README.md": b"hi"})
    sub = load_bytes(data, "upload.zip")
    assert sub.filename == "submission.py" and sub.source == GOOD_PY
    assert "os.system" not in sub.source
    assert any("ignored 4 other files" in n and "sitecustomize.py" in n and "conftest.py" in n
               for n in sub.notes)


def test_zip_preferred_names_and_ambiguity():
    data = make_zip({"helpers.py": b"h = 1\n", "hw1.ipynb": notebook("x = 1")})
    reason = reason_of(data, "u.zip")
    assert "several files" in reason and "helpers.py, hw1.ipynb" in reason
    sub = load_bytes(data, "u.zip", preferred_names=("hw1.ipynb", "submission.py"))
    assert sub.filename == "hw1.ipynb" and any("helpers.py" in n for n in sub.notes)
    three = make_zip({"a.py": b"a = 1\n", "b.py": b"b = 1\n"})
    assert "upload only one or name it hw1.ipynb" in reason_of(
        three, "u.zip", preferred_names=("hw1.ipynb",))


def test_zip_without_candidates():
    reason = reason_of(make_zip({"notes.txt": b"hello", "conftest.py": b"x=1"}), "u.zip")
    assert "no .py or .ipynb file" in reason


def test_zip_inner_file_errors_propagate():
    reason = reason_of(make_zip({"sub.py": b"def f(:\n"}), "u.zip")
    assert reason.startswith("sub.py: syntax error at line 1")


@pytest.mark.parametrize("name", ["../evil.py", "hw/../../evil.py", "/etc/evil.py",
                                  "C:/evil.py", "..\\evil.py"])
def test_zip_path_traversal(name):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("ok.py", b"x = 1\n")
        info = zipfile.ZipInfo("placeholder")
        info.filename = name            # bypass ZipInfo's own sanitising
        zf.writestr(info, b"x = 2\n")
    reason = reason_of(buf.getvalue(), "u.zip")
    assert "unsafe path" in reason


def test_zip_symlink_member():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo("submission.py")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    assert "symbolic link 'submission.py'" in reason_of(buf.getvalue(), "u.zip")


def test_zip_too_many_members():
    data = make_zip({f"f{i}.txt": b"x" for i in range(MAX_ZIP_MEMBERS + 1)} |
                    {"submission.py": b"x = 1\n"})
    assert f"at most {MAX_ZIP_MEMBERS}" in reason_of(data, "u.zip")


def test_zip_bomb_total_size():
    data = make_zip({"submission.py": b"x = 1\n", "weights.bin": bytes(50 << 20)})
    assert len(data) < 200_000
    assert "unpacks to more than 20 MB" in reason_of(data, "u.zip")


def test_zip_bomb_ratio():
    data = make_zip({"submission.py": b"x = 1\n", "zeros.npy": bytes(5 << 20)})
    assert "compressed more than 100:1" in reason_of(data, "u.zip")


def _patch_sizes(data: bytes, new_size: int) -> bytes:
    """Rewrite the uncompressed size of the (only) member in both headers."""
    data = bytearray(data)
    local = data.index(b"PK\x03\x04")
    data[local + 22:local + 26] = struct.pack("<I", new_size)
    central = data.index(b"PK\x01\x02")
    data[central + 24:central + 28] = struct.pack("<I", new_size)
    return bytes(data)


def test_zip_bomb_with_lying_header():
    # 3 MB of real content that claims to be 1,000 bytes: declared sizes pass every test,
    # the capped read catches it
    payload = b"x = 0\n" + b"#" * (3 << 20)
    data = _patch_sizes(make_zip({"submission.py": payload}), 1000)
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo("submission.py")
    assert info.file_size == 1000
    reason = reason_of(data, "u.zip")
    assert "'submission.py' is damaged" in reason


def test_zip_header_claims_more_than_it_holds():
    data = _patch_sizes(make_zip({"submission.py": b"x = 1\n" * 50}), 5000)
    assert "damaged" in reason_of(data, "u.zip")


def test_zip_encrypted_member():
    data = bytearray(make_zip({"submission.py": b"x = 1\n"}, zipfile.ZIP_STORED))
    for sig, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.index(sig) + offset
        data[at] |= 0x1
    assert "encrypted" in reason_of(bytes(data), "u.zip")


def test_zip_nested():
    inner = make_zip({"submission.py": b"x = 1\n"})
    reason = reason_of(make_zip({"inner.zip": inner, "a.py": b"x = 1\n"}), "u.zip")
    assert "another zip" in reason


def test_zip_duplicate_names():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf, pytest.warns(UserWarning):
        zf.writestr("submission.py", b"x = 1\n")
        zf.writestr("submission.py", b"x = 2\n")
    assert "twice" in reason_of(buf.getvalue(), "u.zip")


def test_zip_corrupt():
    assert "not a readable zip" in reason_of(b"PK\x03\x04 definitely not a zip", "u.zip")


def test_zip_member_over_max_bytes():
    data = make_zip({"submission.py": b"x = 1\n" * 400})
    assert "limit" in reason_of(data, "u.zip", max_bytes=1000)


# ------------------------------------------------------------------------------ hostile input


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=300), ext=st.sampled_from([".py", ".ipynb", ".zip"]))
def test_arbitrary_bytes_never_raise_anything_but_submission_error(data, ext):
    try:
        sub = load_bytes(data, "f" + ext)
    except SubmissionError as exc:
        assert exc.reason
    else:
        compile(sub.source, "s", "exec", dont_inherit=True)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["x = 1", "%time x", "!ls", "  %ls", "def f():",
                                 "    return 1", "y = (", ")", "# convgrade: skip",
                                 "%%time", "'''", "np?", "a = !pwd", "get_ipython()", "\\",
                                 "from __future__ import annotations"]),
                min_size=1, max_size=6), st.integers(1, 3))
def test_arbitrary_cells_give_compilable_source_or_reason(lines, ncells):
    cells = ["\n".join(lines[i::ncells]) for i in range(ncells)]
    try:
        sub = load_bytes(notebook(*cells), "n.ipynb")
    except SubmissionError as exc:
        assert exc.reason.startswith("n.ipynb")
    else:
        compile(sub.source, "s", "exec", dont_inherit=True)
        assert "get_ipython" not in sub.source


def test_deeply_nested_source_is_a_reason():
    reason = reason_of(b"x = " + b"(" * 100_000 + b")" * 100_000 + b"\n", "a.py")
    assert "a.py" in reason


def test_notebook_future_import_in_a_later_cell_is_moved_to_the_top():
    sub = load_bytes(notebook("x = 1", "from __future__ import annotations\ndef f(a: T) -> T:\n"
                              "    return a"), "n.ipynb")
    lines = sub.source.split("\n")
    assert lines[0] == "from __future__ import annotations  # %% cell 1"
    compile(sub.source, "s", "exec", dont_inherit=True)
    assert sub.locate(lines.index("def f(a: T) -> T:") + 1) == "cell 2, line 2"
    assert any("moved 'from __future__ import annotations' (cell 2)" in n for n in sub.notes)
