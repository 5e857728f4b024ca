"""The loader's shortcuts decide nothing: what it skips (a tree walk for otter's statements or
``get_ipython()`` when the source cannot hold them, a cell's tree when none is needed, a second
parse of the same source) leaves the loaded submission exactly what the full path gives.

Identifiers are compared after NFKC normalization, as Python does, so a fullwidth ``ｇｒａｄｅｒ``
is the name ``grader`` and must still be found."""
from __future__ import annotations

import ast
import json

from grader import _threadsafe_ast
from grader._threadsafe_ast import parsed, walk
from grader.static import scan_imports
from grader.submission import _mentions, load_bytes


def notebook(*sources: str) -> bytes:
    cells = [{"cell_type": "code", "metadata": {}, "source": s, "outputs": [], "execution_count": None}
             for s in sources]
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}).encode()


def test_walk_is_ast_walk_in_the_same_order():
    source = ("import numpy as np\n@dec(1)\nclass A(B, metaclass=M):\n    x: int = 3\n"
              "    def f(self, *a, k=1, **kw):\n        global g\n        return [i for i in a if i] or {1: (2, 3)}\n"
              "try:\n    pass\nexcept E as e:\n    match e:\n        case {'a': 1, **rest}: pass\n")
    tree = ast.parse(source)
    assert [id(n) for n in walk(tree)] == [id(n) for n in ast.walk(tree)]
    deep = ast.parse("x = " + "(" * 150 + "1" + ")" * 150 + "\n" + "y = -" * 1 + "-" * 500 + "1\n")
    assert len(walk(deep)) == len(list(ast.walk(deep)))


def test_mentions_sees_identifiers_after_nfkc():
    assert _mentions("x = 1\nｇｒａｄｅｒ.check('q1')\n", ("grader",))
    assert _mentions("ｇｅｔ＿ｉｐｙｔｈｏｎ()", ("get_ipython",))
    assert not _mentions("# кириллица\nx = 1\n", ("otter", "grader"))


def test_fullwidth_otter_call_in_a_py_is_still_otters():
    sub = load_bytes("import numpy as np\nｇｒａｄｅｒ.check('q1')\nx = 1\n".encode(), "s.py")
    assert sub.source.split("\n")[1] == "pass"
    assert any("otter" in n.lower() or "grader" in n for n in sub.notes), sub.notes


def test_fullwidth_get_ipython_in_a_notebook_cell_is_still_dropped():
    sub = load_bytes(notebook("import numpy as np\nｇｅｔ＿ｉｐｙｔｈｏｎ().system('ls')\ny = 2"), "s.ipynb")
    assert "get_ipython" not in sub.source and "pass" in sub.source
    assert "y = 2" in sub.source


def test_source_without_otter_or_get_ipython_is_kept_verbatim():
    text = "# Решение: свёртка\nimport numpy as np\n\ndef f(x):\n    return np.flip(x)\n"
    sub = load_bytes(text.encode(), "s.py")
    assert sub.source == text and sub.notes == []


def test_cells_compiled_without_a_tree_give_the_same_reasons():
    # a cell that does not compile alone is left out with its reason, tree or not
    sub = load_bytes(notebook("x = 1", "return 5", "def f(:\n  pass", "from __future__ import annotations\nz = 3"),
                     "s.ipynb")
    assert [number for number, _ in sub.broken_cells] == [2, 3]
    assert "'return' outside function" in sub.broken_cells[0][1]
    assert sub.source.startswith("from __future__ import annotations")


def test_the_static_scan_reuses_the_loaders_parse_and_still_finds_imports():
    text = "import numpy as np\nimport scipy.signal as ss\ny = np.fft.fft([1])\n# unique 91823\n"
    sub = load_bytes(text.encode(), "s.py")
    assert parsed(sub.source) is parsed(text)        # one parse, shared
    found = scan_imports(sub.source, ["scipy", "numpy.fft"])
    assert [(f.module, f.line, f.how) for f in found] == [("scipy.signal", 2, "import"), ("numpy.fft", 3, "attribute")]


def test_the_parse_cache_is_bounded():
    for i in range(_threadsafe_ast.CACHE_ENTRIES + 3):
        parsed(f"x = {i}  # bounded cache\n")
    assert len(_threadsafe_ast._CACHE) <= _threadsafe_ast.CACHE_ENTRIES
    big = "x = 1\n" * (_threadsafe_ast.CACHE_MAX_CHARS // 6 + 1)
    parsed(big)
    assert big not in _threadsafe_ast._CACHE
