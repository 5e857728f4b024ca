"""The student and TA flow in a real browser (Playwright on Debian's Chromium; no downloaded
browser), on the notebook a student really gets: ``convgrade release`` of a2, then the released
notebook filled in with the master's solutions (``fill_released``, as tests/kit does).

A student signs in, uploads it and reads full marks; uploads the same notebook with the flipped
kernel mutant's edit and reads the diagnosis on the result page; a TA sees both attempts in the
overview and downloads the gradebook CSV. A screenshot of each page is kept in
``$CONVGRADE_ARTIFACTS/serve-browser/`` (else the test's tmp folder); the path is printed.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

for _mod in ("httpx", "starlette", "uvicorn", "sqlalchemy", "alembic"):
    pytest.importorskip(_mod, reason="the [serve] extra is not installed")

from grader.authoring.mutants import load_mutants
from grader.authoring.notebook import edit_cells, fill_released, parse

from .conftest import A2, ROSTER, Server, _env, issue_tokens, sign_in, upload, wait_graded

pytestmark = pytest.mark.slow  # a real server, a release and real grading

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
CHROMIUM = next((p for p in ("/usr/lib/chromium/chromium", shutil.which("chromium") or "") if p and os.path.exists(p)), None)
AID = "a2_convolution"


def _artifacts(tmp_path: Path) -> Path:
    base = os.environ.get("CONVGRADE_ARTIFACTS")
    out = (Path(base) if base else tmp_path) / "serve-browser"
    out.mkdir(parents=True, exist_ok=True)
    print(f"\nserve browser screenshots: {out}")
    return out


def _released_notebooks(tmp_path: Path) -> tuple[Path, Path]:
    """(filled-in released notebook, the same with the flipped kernel), both named as released."""
    rel = tmp_path / "release"
    r = subprocess.run([sys.executable, "-m", "grader", "release", str(A2), "-o", str(rel), "--no-verify"],
                       env=_env(), capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    nb_path = next(rel.glob("*.ipynb"))
    master = parse(A2 / "master.ipynb")
    filled = fill_released(nbformat.read(str(nb_path), as_version=4), master)
    flipped = next(m for m in load_mutants(A2) if m.name == "conv2d_flipped_kernel")
    buggy = edit_cells(filled, flipped.replace, flipped.name)
    (tmp_path / "good").mkdir()
    (tmp_path / "bad").mkdir()
    good, bad = tmp_path / "good" / nb_path.name, tmp_path / "bad" / nb_path.name
    nbformat.write(filled, str(good))
    nbformat.write(buggy, str(bad))
    return good, bad


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_browser_released_notebook_full_marks_buggy_diagnosed_ta_gradebook(tmp_path):
    course = tmp_path / "course"
    (course / "assignments").mkdir(parents=True)
    shutil.copytree(A2, course / "assignments" / A2.name)
    (course / "roster.csv").write_text(ROSTER, encoding="utf-8")
    t0 = time.monotonic()
    good, bad = _released_notebooks(tmp_path)
    print(f"release + fill {time.monotonic() - t0:.1f} s")
    tokens = issue_tokens(course)
    srv = Server(course, "--workers", "1").start()
    shots = _artifacts(tmp_path)
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                _student_and_ta(browser, srv.base, tokens, good, bad, shots)
            finally:
                browser.close()
    finally:
        srv.stop()
    print(f"total {time.monotonic() - t0:.1f} s")
    import sqlite3
    with sqlite3.connect(course / ".convgrade-serve" / "serve.db") as db:   # the page rounds; the record not
        first = db.execute("SELECT score, max_score FROM results ORDER BY submission_id LIMIT 1").fetchone()
    assert first[1] > 0 and abs(first[0] - first[1]) < 1e-6
    names = sorted(p.name for p in shots.glob("*.png"))
    assert len(names) >= 9, names


def _score(page) -> tuple[float, float]:
    score, top = page.inner_text("#score").split(":")[1].split("/")
    return float(score), float(top)


def _student_and_ta(browser, base, tokens, good, bad, shots):
    page = browser.new_page(accept_downloads=True)
    page.goto(f"{base}/login?token={tokens['alice']}")
    page.screenshot(path=str(shots / "01-login.png"))
    page.click("#signin")
    page.wait_for_url(f"{base}/")
    page.screenshot(path=str(shots / "02-assignments.png"))
    sids = []
    for i, nb in enumerate((good, bad)):
        page.goto(f"{base}/")
        page.set_input_files(f"#a-{AID} input[type=file]", str(nb))
        page.click(f"#a-{AID} button")
        page.wait_for_url("**/submission/*")
        sids.append(int(page.url.rstrip("/").rsplit("/", 1)[1]))
        page.screenshot(path=str(shots / f"0{3 + 2 * i}-queued.png"))
        page.wait_for_selector("#score", timeout=60_000)
        page.wait_for_load_state("load")                   # the feedback iframe too
        page.screenshot(path=str(shots / f"0{4 + 2 * i}-graded.png"), full_page=True)
        score, top = _score(page)
        if i == 0:
            assert score == top > 0, "the filled-in released notebook must get full marks"
        else:
            assert score < top
            # the diagnosis is on the result page itself (and in the feedback below it)
            assert "flip" in page.inner_text("#diagnoses").lower()
            page.goto(page.url + "/feedback")
            assert "flip" in page.content().lower()
            page.screenshot(path=str(shots / "07-feedback.png"), full_page=True)
    page.goto(f"{base}/")
    listed = page.inner_text(f"#a-{AID}")
    assert all(f"#{sid}" in listed for sid in sids)        # every attempt listed
    page.context.clear_cookies()
    bob = sign_in(base, tokens["bob"])                   # a broken attempt, for the overview's list
    r = upload(bob, AID, "convolution.py", b"def conv2d(:\n")
    assert r.status_code == 303
    wait_graded(bob, int(r.headers["location"].rsplit("/", 1)[1]))

    ta = browser.new_page(accept_downloads=True)
    ta.goto(f"{base}/login?token={tokens['ta1']}")
    ta.click("#signin")
    ta.wait_for_url(f"{base}/staff")
    ta.screenshot(path=str(shots / "08-staff.png"))
    ta.click(f"a[href='/staff/a/{AID}']")
    ta.wait_for_url(f"**/staff/a/{AID}")
    assert "alice" in ta.inner_text("#students")
    assert "flipped_kernel" in ta.inner_text("#diagnoses")
    assert "*" not in ta.inner_text("#diagnoses") and ta.locator("#diagnoses em").count() >= 1  # Markdown rendered
    questions = ta.inner_text("#questions")
    assert "conv2d" in questions and "pooling" in questions   # per-question pass rates
    assert "bob" in ta.inner_text("#broken") and "alice" not in ta.inner_text("#broken")
    ta.screenshot(path=str(shots / "09-overview.png"), full_page=True)
    ta.click("a[href='/staff/student/alice']")
    hist = ta.inner_text("main")
    assert all(f"#{sid}" in hist for sid in sids)          # both attempts in the student's history
    ta.screenshot(path=str(shots / "10-history.png"), full_page=True)
    ta.goto(f"{base}/staff")
    with ta.expect_download() as dl:
        ta.click(f"#csv-plain-{AID}")
    csv = Path(dl.value.path()).read_text(encoding="utf-8")
    (shots / "gradebook-plain.csv").write_text(csv, encoding="utf-8")
    assert "alice" in csv and "bob" in csv
