"""Papers and answer keys as Markdown and self-contained HTML (PDF when a converter exists).

HTML pages use the report package's frame (inline CSS, no script, no external resource), so a
paper opens and prints offline. PDF goes through headless Chromium (``--print-to-pdf``), else
``wkhtmltopdf``; with neither installed, :func:`write_pdf` returns False and nothing else changes.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from ..i18n import default_lang, tr
from ..report._html import esc, markdown_to_html, page
from .exam import Paper


def _w(lang: str) -> dict[str, str]:
    """The paper's fixed words in ``lang`` (catalogue section ``exam``, keys without the prefix)."""
    return {k[len("exam."):]: v for k, v in tr(lang).items() if k.startswith("exam.")}


def _pts(x: float) -> str:
    return f"{x:g}"


def plural(x: float, word: str, lang: str) -> str:
    """``x`` and the catalogue's ``exam.<word>_one|_few|_many`` for it: English one/other, Russian
    1 балл, 2–4 балла, 5 баллов (11–14 баллов; a fraction: балла)."""
    if lang == "ru":
        n = int(x) if float(x).is_integer() else None
        if n is None:
            form = "few"
        elif n % 10 == 1 and n % 100 != 11:
            form = "one"
        elif 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
            form = "few"
        else:
            form = "many"
    else:
        form = "one" if x == 1 else "many"
    return f"{_pts(x)} {tr(lang)[f'exam.{word}_{form}']}"


def paper_markdown(paper: Paper, name: str = "") -> str:
    """The student's paper in their language."""
    lang, exam = paper.lang, paper.exam
    w = _w(lang)
    title = exam.title_ru if lang == "ru" else exam.title
    who = f"{name} ({paper.student})" if name else paper.student
    lines = [f"# {title}", "", f"**{w['student']}:** {who}  ",
             f"**{w['total']}:** {plural(exam.max_score, 'points', lang)}"]
    if exam.duration_minutes:
        lines[-1] += "  "
        lines.append(f"**{w['duration']}:** {plural(exam.duration_minutes, 'minutes', lang)}")
    instructions = exam.instructions_ru if lang == "ru" else exam.instructions
    if instructions:
        lines += ["", instructions]
    lines += ["", f"## {w['how_to_answer']}", "", w["answer_help"], "",
              f"{w['example']}:", "", "```yaml",
              *[f"{q.id}: ..." for q in paper.questions], "```"]
    for q in paper.questions:
        lines += ["", f"## {q.id}. {q.title(lang)} ({plural(q.points, 'points', lang)})", "", q.text(lang)]
        if q.choices:
            lines += [""] + [f"- {c}" for c in q.choice_lines(lang)]
    return "\n".join(lines) + "\n"


def key_markdown(papers: list[tuple[Paper, str]], exam, lang: str | None = None) -> str:
    """The staff answer key: every student's variant with exact answers, in ``lang`` (default: the
    course's language, :func:`grader.i18n.default_lang`)."""
    lang = lang or default_lang()
    w = _w(lang)
    title = exam.title_ru if lang == "ru" else exam.title
    lines = [f"# {w['key']}: {title} ({exam.id})", "",
             w["key_intro"].format(papers=len(papers), questions=len(exam.slots), points=_pts(exam.max_score),
                                   version=exam.version, exam=exam.id), ""]
    for paper, name in papers:
        who = f"{name} ({paper.student})" if name else paper.student
        lines += [f"## {who}", "",
                  f"| # | {w['key_question']} | {w['key_answer']} | {w['key_points']} | {w['key_how']} |",
                  "|---|---|---|---|---|"]
        for q in paper.questions:
            answer = q.answer_text_in(lang).replace("|", "\\|")
            lines.append(f"| {q.id} | {q.title(lang)} | `{answer}` | {_pts(q.points)} | "
                         f"{q.how(lang).replace('|', '/')} |")
        lines.append("")
    return "\n".join(lines)


def to_html(markdown: str, title: str, lang: str = "en") -> str:
    return page(title, markdown_to_html(markdown), lang=lang)


def paper_html(paper: Paper, name: str = "") -> str:
    title = paper.exam.title_ru if paper.lang == "ru" else paper.exam.title
    return to_html(paper_markdown(paper, name), f"{title} — {paper.student}", paper.lang)


def pdf_converter() -> list[str] | None:
    """The command prefix of an installed HTML → PDF converter, or None."""
    for exe in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(exe)
        if path:
            return [path]
    path = shutil.which("wkhtmltopdf")
    return [path] if path else None


def write_pdf(html_path: Path, pdf_path: Path, timeout: float = 120.0) -> bool:
    """Print ``html_path`` to ``pdf_path``; False when no converter is installed or it fails."""
    conv = pdf_converter()
    if not conv:
        return False
    html_path, pdf_path = Path(html_path).resolve(), Path(pdf_path).resolve()
    if "wkhtmltopdf" in conv[0]:
        cmd = conv + ["--quiet", str(html_path), str(pdf_path)]
        profile = None
    else:
        profile = tempfile.mkdtemp(prefix="convgrade-pdf-")
        cmd = conv + ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                      "--disable-background-networking", "--disable-component-update", "--disable-sync",
                      f"--user-data-dir={profile}", "--no-pdf-header-footer",
                      f"--print-to-pdf={pdf_path}", html_path.as_uri()]
    try:
        subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    finally:
        if profile:
            shutil.rmtree(profile, ignore_errors=True)
    return pdf_path.is_file() and pdf_path.stat().st_size > 0


__all__ = ["paper_markdown", "paper_html", "key_markdown", "to_html", "write_pdf", "pdf_converter", "esc"]
