"""Server pages in the student's language, in process (Starlette's TestClient; the worker grades
with the real engine): the roster's language, else the course's; ``?lang=`` switches and is
remembered; refusals, the result page and the feedback are in it; grading records it."""
from __future__ import annotations

import json
import shutil
import warnings

import pytest

for _mod in ("httpx", "starlette", "sqlalchemy", "alembic"):
    pytest.importorskip(_mod, reason="the [serve] extra is not installed")

with warnings.catch_warnings():   # Starlette's note about httpx2; the TestClient works the same
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

from grader.authoring.mutants import load_mutants  # noqa: E402
from grader.authoring.notebook import parse  # noqa: E402
from grader.serve import worker  # noqa: E402
from grader.serve.app import Settings, create_app  # noqa: E402
from grader.serve.course import issue_tokens  # noqa: E402
from grader.serve.db import Result, make_engine, sessions  # noqa: E402

from .conftest import A2, CSRF_RE  # noqa: E402

AID = "a2_convolution"
ROSTER = "student,name,email,lang,role\nalice,Alice A,a@x.edu,en,\nboris,Борис Б,b@x.edu,ru,\ncarl,Carl C,c@x.edu,,\n"


@pytest.fixture
def app_and_tokens(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVGRADE_SECRET", "serve-test-secret")
    c = tmp_path / "course"
    shutil.copytree(A2, c / "assignments" / A2.name)
    (c / "roster.csv").write_text(ROSTER, encoding="utf-8")
    (c / "convgrade.toml").write_text('name = "CNN"\nlang = "ru"\n', encoding="utf-8")   # the course's default
    from grader.commands.serve import _prepare
    url = _prepare(c, None, None)
    with sessions(make_engine(url))() as s, s.begin():
        tokens = {login: tok for _, login, tok in issue_tokens(s)}
    return create_app(Settings(course=c, url=url, secure_cookies=False)), url, tokens


def _client(app, token: str) -> TestClient:
    c = TestClient(app, follow_redirects=False)
    csrf = CSRF_RE.search(c.get(f"/login?token={token}").text).group(1)
    assert c.post("/login", data={"csrf": csrf, "token": token}).status_code == 303
    return c


def test_pages_refusals_and_feedback_in_the_students_language(app_and_tokens):
    app, url, tokens = app_and_tokens
    assert '<html lang="ru">' in TestClient(app).get("/login").text             # signed out: the course's
    boris = _client(app, tokens["boris"])
    home = boris.get("/").text
    assert '<html lang="ru">' in home and "Задания" in home and "Свёртка и пулинг на numpy" in home
    csrf = CSRF_RE.search(home).group(1)
    r = boris.post(f"/submit/{AID}", data={"csrf": csrf}, files={"file": ("notes.txt", b"x")})
    assert r.status_code == 400 and "Загрузите ноутбук (.ipynb)" in r.text

    master = parse(A2 / "master.ipynb").source
    bad = next(m for m in load_mutants(A2) if m.name == "conv2d_flipped_kernel").apply(master)
    r = boris.post(f"/submit/{AID}", data={"csrf": csrf}, files={"file": ("convolution.py", bad.encode())})
    sid = int(r.headers["location"].rsplit("/", 1)[1])
    assert "В очереди" in boris.get(f"/submission/{sid}").text
    assert worker.run(url, once=True) == 1
    page = boris.get(f"/submission/{sid}").text
    assert "Баллы:" in page and "Что не так" in page
    from grader.i18n import catalogue
    if "diagnosis.flipped_kernel" in catalogue()["ru"]:                         # the diagnoses section's Russian
        assert "ядр" in page.split('id="diagnoses"')[1].lower()
    fb = boris.get(f"/submission/{sid}/feedback").text
    assert "Итого баллов" in fb and "Непройденные проверки" in fb
    with sessions(make_engine(url))() as s:
        assert json.loads(s.query(Result).one().results_json)["convgrade"]["lang"] == "ru"

    # ?lang= switches, and the choice is remembered
    en = boris.get("/?lang=en")
    assert "Assignments" in en.text and "cg_lang=en" in en.headers["set-cookie"]
    assert '<html lang="en">' in boris.get("/").text and "Score:" in boris.get(f"/submission/{sid}").text
    assert "Задания" in boris.get("/?lang=ru").text

    alice = _client(app, tokens["alice"])                                       # the roster says en
    assert "Assignments" in alice.get("/").text
    carl = _client(app, tokens["carl"])                                         # no roster language: the course's
    assert "Задания" in carl.get("/").text
