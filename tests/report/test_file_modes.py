"""Written files respect the umask (results are private to the course staff group, not to one
user): ``0o666 & ~umask``, like any file a tool creates."""
import os
import stat

import pytest

from grader.report.annotate import write_feedback
from grader.results import write_json_atomic, write_text_atomic

from .fixtures import make_results


@pytest.mark.parametrize("umask", [0o027, 0o077, 0o002])
def test_atomic_writes_follow_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        write_json_atomic(tmp_path / "a" / "results.json", {"score": 1})
        write_text_atomic(tmp_path / "a" / "results.json", "{}")          # replacing keeps the rule
        written = write_feedback(tmp_path / "fb", make_results("alice", "failing"))
    finally:
        os.umask(old)
    for p in [tmp_path / "a" / "results.json"] + written:
        assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask, p
    assert not [p for p in (tmp_path / "a").iterdir() if p.name.startswith(".")]     # no temp file left


def test_default_lang_follows_the_course(monkeypatch):
    import sys
    import types

    from grader.i18n import default_lang

    fake = types.ModuleType("grader.course")
    fake.current_course = lambda: types.SimpleNamespace(lang="ru")
    monkeypatch.setitem(sys.modules, "grader.course", fake)
    assert default_lang() == "ru"
    fake.current_course = lambda: types.SimpleNamespace(lang="de")        # unknown: English
    assert default_lang() == "en"

    def broken():
        raise ValueError("convgrade.toml: bad")
    fake.current_course = broken
    assert default_lang() == "en"
