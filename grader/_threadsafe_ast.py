"""Serialize ``ast.parse`` across threads in the grader process.

CPython before 3.13 keeps the AST constructor's recursion-depth bookkeeping in interpreter-wide
state (python/cpython#106905): two threads building ASTs at once fail with ``SystemError: AST
constructor recursion depth mismatch``. Batch grading and ``convgrade validate`` grade in
threads, and it is not only our code that parses: Python 3.11's ``traceback`` calls
``ast.parse`` to place its ``^^^`` markers. So the one lock wraps ``ast.parse`` itself.
"""
from __future__ import annotations

import ast
import sys
import threading

AST_LOCK = threading.RLock()


def _install() -> None:
    if sys.version_info >= (3, 13) or getattr(ast.parse, "_convgrade_locked", False):
        return
    original = ast.parse

    def parse(*args, **kwargs):
        with AST_LOCK:
            return original(*args, **kwargs)

    parse._convgrade_locked = True
    parse.__doc__ = original.__doc__
    ast.parse = parse


_install()
