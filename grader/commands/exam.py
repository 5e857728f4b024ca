"""``convgrade exam build`` and ``convgrade exam grade``: per-student exam papers and their grading.

Exit codes as for ``convgrade grade``: 0 full marks (build: success), 1 points lost or the answer
file could not be read, 3 bad exam definition / roster / missing file.

Languages: ``--lang`` sets the language of what a command writes for people (papers, key, results,
console lines). ``exam build``: papers in ``--lang``, else each roster row's ``lang``, else the
exam's, else the course's (``convgrade.toml``); key and console lines in ``--lang``, else the
course's. ``exam grade``: ``--lang``, else the language the student's paper was built in (with
``--papers``), else the exam's, else the course's.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..exit_codes import EXIT_FAILED, BadInput as _BadInput


def _exam(name):
    from grader.exam.exam import ExamError, load_exam

    try:
        return load_exam(name)
    except ExamError as exc:
        raise _BadInput(str(exc)) from None


def register(main) -> None:
    @main.group("exam")
    def exam_group():
        """Exams: per-student papers from the question bank, answer keys, grading of answer files.

        \b
        Staff:     convgrade exam build exam_midterm --roster roster.csv -o papers/
        Grading:   convgrade exam grade exam_midterm alice.yaml --student alice -o alice.json
        """

    @exam_group.command("build")
    @click.argument("exam")
    @click.option("--roster", required=True, type=click.Path(dir_okay=False, path_type=Path),
                  help="CSV with a header: id (or student_id/student/login/email), optional name, lang.")
    @click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
                  help="Folder for papers/, key.md, key.html, key.json, index.json.")
    @click.option("--lang", type=click.Choice(["en", "ru"]), default=None,
                  help="Paper language for everyone, and the key's (default: the roster's lang column, else "
                       "the exam's, else the course's convgrade.toml lang).")
    @click.option("--pdf/--no-pdf", default=True, show_default=True,
                  help="Also print PDFs when chromium or wkhtmltopdf is installed.")
    def build(exam, roster, out_dir, lang, pdf):
        """Write one paper per student of ROSTER (Markdown + HTML [+ PDF]) and the staff answer key.

        \b
        Example:
            convgrade exam build exam_midterm --roster roster.csv -o papers/ --lang ru
        """
        from grader.exam.build import RosterError, build_exam
        from grader.i18n import default_lang, t
        from grader.seeds import course_secret

        e = _exam(exam)
        if not roster.exists():
            raise _BadInput(f"no such file: {roster}")
        try:
            report = build_exam(e, roster, out_dir, course_secret(), lang=lang, pdf="auto" if pdf else "no")
        except RosterError as exc:
            raise _BadInput(str(exc)) from None
        say = lang or default_lang()
        click.echo(t("exam.built", lang=say, exam=e.id, n=len(report.students), dir=f"{out_dir}/papers",
                     pdf=t("exam.with_pdf" if report.pdf else "exam.without_pdf", lang=say),
                     key=f"{out_dir}/key.html"))

    @exam_group.command("grade")
    @click.argument("exam")
    @click.argument("answers", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--student", required=True, help="The student's id (as in the roster): selects the paper.")
    @click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                  help="Write results.json here.")
    @click.option("--json", "as_json", is_flag=True, help="Print results.json to stdout instead of a table.")
    @click.option("--papers", type=click.Path(file_okay=False, path_type=Path), default=None,
                  help="The folder `exam build` wrote: refuse (exit 3) unless STUDENT has a paper there and the "
                       "course secret matches the key's fingerprint.")
    @click.option("--lang", type=click.Choice(["en", "ru"]), default=None,
                  help="Language of the results and the console lines (default: the student's paper's, with "
                       "--papers; else the exam's, else the course's convgrade.toml lang).")
    def grade(exam, answers, student, output, as_json, papers, lang):
        """Score ANSWERS (.yaml, .json, or a notebook/.py with ANSWERS = {...}) for STUDENT's paper.

        \b
        Example:
            convgrade exam grade exam_midterm alice.yaml --student alice --papers papers/ -o alice.json
            convgrade exam grade exam_midterm bob.yaml --student bob --lang ru
        """
        from grader.exam.build import paper_lang
        from grader.i18n import default_lang, language

        e = _exam(exam)
        if not answers.exists():
            raise _BadInput(f"no such file: {answers}")
        lang = lang or (paper_lang(papers, student) if papers is not None else None) or e.lang or default_lang()
        with language(lang):
            _grade(e, answers, student, output, as_json, papers, lang)

    def _grade(e, answers, student, output, as_json, papers, lang):
        """``exam grade`` inside ``language(lang)``: every line it prints comes from the catalogue."""
        from grader.exam.build import verify_paper
        from grader.exam.grade import grade_answers
        from grader.i18n import t
        from grader.results import write_json_atomic
        from grader.seeds import course_secret

        secret = course_secret()
        if papers is not None:
            problems = verify_paper(e, student, secret, papers)
            if problems:
                raise _BadInput(t("exam.refused", problems="; ".join(problems)))
        else:
            click.echo(click.style(t("exam.not_verified"), fg="yellow"), err=True)
        results = grade_answers(e, answers, student, secret, lang)
        if output:
            write_json_atomic(output, results)
        cg = results["convgrade"]
        if as_json:
            click.echo(json.dumps(results, indent=2, ensure_ascii=False))
        else:
            click.echo(f"{e.id} · {student} · {answers.name}")
            if cg.get("load_error"):
                click.echo(click.style(cg["load_error"], fg="red"), err=True)
            for note in cg.get("notes", []):
                click.echo(t("exam.note", note=note))
            marks = {True: click.style(t("exam.pass"), fg="green"), False: click.style(t("exam.fail"), fg="red")}
            width = max(len(t("exam.pass")), len(t("exam.fail")))
            for row in results["tests"]:
                ok = row["status"] == "passed"
                pad = " " * (width - len(t("exam.pass" if ok else "exam.fail")))
                click.echo(f"  {marks[ok]}{pad}  {row['name']:<44} {row['score']:g}/{row['max_score']:g}")
            click.echo(t("exam.score", score=f"{results['score']:g}", max=f"{results['max_score']:g}"))
        sys.exit(0 if results["score"] >= results["max_score"] - 1e-9 else EXIT_FAILED)
