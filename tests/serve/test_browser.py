"""The student and TA flow in a real browser (Playwright on Debian's Chromium; no downloaded
browser). Screenshots of each page are kept under the test's tmp folder (``screenshots/``)."""
from __future__ import annotations

import os
import shutil

import nbformat
import pytest

for _mod in ("httpx", "starlette", "uvicorn", "sqlalchemy", "alembic"):
    pytest.importorskip(_mod, reason="the [serve] extra is not installed")

from grader.authoring.mutants import load_mutants
from grader.authoring.notebook import parse

from .conftest import A2, issue_tokens

pytestmark = pytest.mark.slow  # a real server and real grading: ~20-60 s on a busy 2-core machine

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
CHROMIUM = next((p for p in ("/usr/lib/chromium/chromium", shutil.which("chromium") or "") if p and os.path.exists(p)), None)


def _notebook(source: str, path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nbformat.write(nb, str(path))
    return path


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_browser_student_uploads_notebooks_and_ta_downloads_gradebook(course, server_factory, tmp_path):
    tokens = issue_tokens(course)
    srv = server_factory(course, "--workers", "1").start()
    shots = tmp_path / "screenshots"
    shots.mkdir()
    master = parse(A2 / "master.ipynb").source
    good = _notebook(master, tmp_path / "convolution.ipynb")
    badsrc = next(m for m in load_mutants(A2) if m.name == "conv2d_flipped_kernel").apply(master)
    (tmp_path / "bad").mkdir()
    bad = _notebook(badsrc, tmp_path / "bad" / "convolution.ipynb")

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(accept_downloads=True)
            page.goto(f"{srv.base}/login?token={tokens['alice']}")
            page.screenshot(path=str(shots / "01-login.png"))
            page.click("#signin")
            page.wait_for_url(f"{srv.base}/")
            page.screenshot(path=str(shots / "02-assignments.png"))
            for i, nb in enumerate((good, bad)):
                page.goto(f"{srv.base}/")
                page.set_input_files("#a-a2_convolution input[type=file]", str(nb))
                page.click("#a-a2_convolution button")
                page.wait_for_url("**/submission/*")
                page.screenshot(path=str(shots / f"0{3 + 2 * i}-queued.png"))
                page.wait_for_selector("#score", timeout=50_000)
                page.screenshot(path=str(shots / f"0{4 + 2 * i}-graded.png"), full_page=True)
                score, top = page.inner_text("#score").split(":")[1].split("/")
                if i == 0:
                    assert float(score) == float(top) > 0
                else:
                    assert float(score) < float(top)
                    page.goto(page.url + "/feedback")
                    assert "flip" in page.content().lower()
                    page.screenshot(path=str(shots / "07-feedback.png"), full_page=True)
            page.context.clear_cookies()

            ta = browser.new_page(accept_downloads=True)
            ta.goto(f"{srv.base}/login?token={tokens['ta1']}")
            ta.click("#signin")
            ta.wait_for_url(f"{srv.base}/staff")
            ta.screenshot(path=str(shots / "08-staff.png"))
            ta.click("text=Convolution")
            assert "alice" in ta.inner_text("#students")
            ta.screenshot(path=str(shots / "09-overview.png"), full_page=True)
            ta.goto(f"{srv.base}/staff")
            with ta.expect_download() as dl:
                ta.click("text=plain CSV")
            csv = dl.value.path().read_text(encoding="utf-8")
            assert "alice" in csv
        finally:
            browser.close()
    assert len(list(shots.glob("*.png"))) >= 9
