"""What a student may see, and which upload names are taken."""
from __future__ import annotations

import datetime as dt

import pytest

pytest.importorskip("starlette", reason="the [serve] extra is not installed")

from grader.serve.app import safe_filename, student_view  # noqa: E402

DUE = dt.datetime(2026, 12, 7, 20, 59, tzinfo=dt.timezone.utc)
RES = {"score": 3.0, "max_score": 4.0,
       "tests": [{"name": "a", "score": 1, "max_score": 1, "visibility": "visible"},
                 {"name": "b", "score": 0, "max_score": 1, "visibility": "hidden"},
                 {"name": "c", "score": 2, "max_score": 2, "visibility": "after_due_date"}]}


def test_after_due_date_checks_hidden_until_the_due_date():
    before = student_view(RES, DUE, DUE - dt.timedelta(seconds=1))
    assert [t["name"] for t in before["tests"]] == ["a", "b"] and before["score"] == 1 and before["max_score"] == 2
    assert student_view(RES, DUE, DUE) is RES
    assert student_view(RES, None, DUE) is RES
    assert len(RES["tests"]) == 3                                   # the stored result is untouched


@pytest.mark.parametrize("name, want", [("convolution.ipynb", "convolution.ipynb"), ("../../etc/x.py", "x.py"),
                                        ("C:\\\\Users\\\\me\\\\sol.PY", "sol.PY"), ("a b;rm.zip", "a_b_rm.zip"),
                                        (".py", None), ("notes.txt", None), ("", None), ("..", None)])
def test_safe_filename(name, want):
    assert safe_filename(name) == want


def test_serve_commands_have_help_with_an_example():
    from click.testing import CliRunner

    from grader.cli import main
    for cmd in ("serve", "serve-worker", "serve-tokens"):
        r = CliRunner().invoke(main, [cmd, "--help"])
        assert r.exit_code == 0 and "Example" in r.output
    r = CliRunner().invoke(main, ["serve-tokens", "--course", "/no/such/course"])
    assert r.exit_code == 3 and "not a folder" in r.output
