"""Beside a sandboxed worker, the grader plans the next checks and judges the last answer on one
helper thread (grader.grade._Beside): the verdicts, their order, the feedback language and the
failure of one check stay exactly what the sequential loop gives."""
import threading

import pytest

from grader import grade as grade_mod
from grader.assignment import load
from grader.authoring.notebook import master_source
from grader.checks import kind_of
from grader.grade import grade_submission


def _rows(res):
    return [(t["name"], t["status"], t["score"], t["output"]) for t in res["tests"]]


@pytest.fixture(scope="module")
def a2():
    return load("a2_convolution")


@pytest.fixture
def wrong_padding(tmp_path):
    """The master with a padding-mode bug (mutant conv2d_always_zero_padding): some checks fail."""
    src = master_source("a2_convolution")
    assert "self.padding_mode = padding_mode" in src
    src = src.replace("self.padding_mode = padding_mode", 'self.padding_mode = "zeros"', 1)
    path = tmp_path / "s.py"
    path.write_text(src)
    return path


def _sequential(monkeypatch):
    real = grade_mod._Beside
    monkeypatch.setattr(grade_mod, "_Beside", lambda threaded: real(False))


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_same_rows_in_the_same_order_as_the_sequential_loop(a2, wrong_padding, monkeypatch, lang):
    threaded = grade_submission(a2, wrong_padding, student="s1", secret=b"k", lang=lang)
    with monkeypatch.context() as m:
        _sequential(m)
        sequential = grade_submission(a2, wrong_padding, student="s1", secret=b"k", lang=lang)
    assert _rows(threaded) == _rows(sequential)
    assert 0 < threaded["score"] < threaded["max_score"]
    if lang == "ru":     # the helper thread runs in the caller's context: the messages are Russian
        failed = [t["output"] for t in threaded["tests"] if t["status"] != "passed"]
        assert failed and all(any("а" <= c <= "я" for c in o) for o in failed)


def test_judging_runs_on_the_helper_thread_and_a_judge_bug_fails_only_its_check(a2, tmp_path, monkeypatch):
    path = tmp_path / "m.py"
    path.write_text(master_source("a2_convolution"))
    specs = a2.select("all")
    victim = specs[3]
    kind = type(kind_of(victim))
    real_judge = kind.judge
    threads = set()

    def judge(self, spec, plan, result):
        threads.add(threading.current_thread().name)
        if spec.name == victim.name:
            raise RuntimeError("grader bug")
        return real_judge(self, spec, plan, result)

    monkeypatch.setattr(kind, "judge", judge)
    res = grade_submission(a2, path, student="s1", secret=b"k")
    bad = [t for t in res["tests"] if t["status"] != "passed"]
    assert bad and all(t["name"].startswith(victim.display_name) for t in bad)
    assert any("grader bug" in e for e in res["convgrade"]["internal_errors"])
    assert threads and all(n.startswith("convgrade-judge") for n in threads)
    assert not [th for th in threading.enumerate() if th.name.startswith("convgrade-judge")]   # joined


def test_an_in_process_session_stays_on_the_calling_thread():
    beside = grade_mod._Beside(threaded=False)
    where = beside.submit(lambda: threading.current_thread())
    assert where.result() is threading.current_thread()
    failed = beside.submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        failed.result()
    beside.close()
