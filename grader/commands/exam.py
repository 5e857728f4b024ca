"""``convgrade exam build`` and ``convgrade exam grade``: per-student exam papers and their grading.

Exit codes as for ``convgrade grade``: 0 full marks (build: success), 1 points lost or the answer
file could not be read, 3 bad exam definition / roster / missing file.
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
                  help="Paper language for everyone (default: the roster's lang column, else the exam's).")
    @click.option("--pdf/--no-pdf", default=True, show_default=True,
                  help="Also print PDFs when chromium or wkhtmltopdf is installed.")
    def build(exam, roster, out_dir, lang, pdf):
        """Write one paper per student of ROSTER (Markdown + HTML [+ PDF]) and the staff answer key."""
        from grader.exam.build import RosterError, build_exam
        from grader.seeds import course_secret

        e = _exam(exam)
        if not roster.exists():
            raise _BadInput(f"no such file: {roster}")
        try:
            report = build_exam(e, roster, out_dir, course_secret(), lang=lang, pdf="auto" if pdf else "no")
        except RosterError as exc:
            raise _BadInput(str(exc)) from None
        click.echo(f"{e.id}: {len(report.students)} papers in {out_dir}/papers "
                   f"({'with' if report.pdf else 'without'} PDF); answer key: {out_dir}/key.html")

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
    def grade(exam, answers, student, output, as_json, papers):
        """Score ANSWERS (.yaml, .json, or a notebook/.py with ANSWERS = {...}) for STUDENT's paper.

        \b
        Example:
            convgrade exam grade exam_midterm alice.yaml --student alice --papers papers/ -o alice.json
        """
        from grader.exam.build import verify_paper
        from grader.exam.grade import grade_answers
        from grader.results import write_json_atomic
        from grader.seeds import course_secret

        e = _exam(exam)
        if not answers.exists():
            raise _BadInput(f"no such file: {answers}")
        secret = course_secret()
        if papers is not None:
            problems = verify_paper(e, student, secret, papers)
            if problems:
                raise _BadInput("not graded: " + "; ".join(problems))
        else:
            click.echo(click.style("warning: not checked against the built papers (pass --papers DIR): a wrong "
                                   "--student id or another course secret grades a paper nobody was given",
                                   fg="yellow"), err=True)
        results = grade_answers(e, answers, student, secret)
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
                click.echo(f"note: {note}")
            for t in results["tests"]:
                ok = t["status"] == "passed"
                mark = click.style("PASS", fg="green") if ok else click.style("FAIL", fg="red")
                click.echo(f"  {mark}  {t['name']:<44} {t['score']:g}/{t['max_score']:g}")
            click.echo(f"Score: {results['score']:g} / {results['max_score']:g}")
        sys.exit(0 if results["score"] >= results["max_score"] - 1e-9 else EXIT_FAILED)
