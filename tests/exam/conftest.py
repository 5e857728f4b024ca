"""Fixtures of the exam tests: the bundled midterm and the secret its papers are drawn with."""
import pytest

from grader.exam.exam import load_exam

SECRET = b"exam-test-secret"


@pytest.fixture(scope="module")
def exam():
    return load_exam("exam_midterm")


@pytest.fixture()
def env(monkeypatch):
    monkeypatch.setenv("CONVGRADE_SECRET", SECRET.decode())
