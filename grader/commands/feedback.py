"""``convgrade feedback``: hand a student's notebook back with the feedback under each question.

Exit codes: 0 written, 2 usage error (click), 3 bad input (unreadable notebook or results.json,
unknown assignment).
"""
from __future__ import annotations

import json
from pathlib import Path

import click

from ..exit_codes import BadInput as _BadInput


def _assignment_for(name, results: dict):
    """The assignment named by ``--assignment``, else the bundled one ``results`` names, else None
    (then the feedback is grouped by check, not by question)."""
    from grader.assignment import AssignmentError, available, load

    if name is None:
        rid = (results.get("convgrade") or {}).get("assignment") if isinstance(results.get("convgrade"), dict) else None
        if not isinstance(rid, str) or rid not in available():     # never a path taken from results.json
            return None
        name = rid
    try:
        return load(name)
    except AssignmentError as exc:
        raise _BadInput(str(exc)) from None


@click.command("feedback")
@click.argument("submission", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.argument("results_path", metavar="RESULTS.json", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The annotated notebook to write (.ipynb).")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the annotated notebook as a self-contained HTML page.")
@click.option("--assignment", help="Assignment folder or id, to group by question (default: the one RESULTS.json names).")
@click.option("--lang", type=click.Choice(["en", "ru"]), default=None,
              help="Language of the feedback cells (default: the language RESULTS.json was graded in, else "
                   "the course's convgrade.toml lang, else en).")
def feedback(submission, results_path, output, html_path, assignment, lang):
    """Insert the results of RESULTS.json into SUBMISSION.ipynb, one Markdown cell under each
    question (the way nbgrader hands back feedback), plus a score summary at the top.

    \b
    Example:
        convgrade grade a2_convolution alice.ipynb --student alice -o alice.json
        convgrade feedback alice.ipynb alice.json -o alice.annotated.ipynb --html alice.html
    """
    import nbformat

    from grader.report.annotate import annotate, annotated_html
    from grader.report.questions import question_map, question_names
    from grader.results import write_text_atomic

    try:
        results = json.loads(results_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _BadInput(f"{results_path}: not a readable results.json ({exc})") from None
    if not isinstance(results, dict):
        raise _BadInput(f"{results_path}: not a results.json object")
    try:
        nb = nbformat.read(str(submission), as_version=4)
    except Exception as exc:
        raise _BadInput(f"{submission}: not a readable notebook ({type(exc).__name__}: {str(exc)[:200]})") from None
    from grader.i18n import default_lang, results_lang

    lang = lang or results_lang(results) or default_lang()
    a = _assignment_for(assignment, results)
    questions = question_map(a) if a is not None else None
    names = question_names(a) if a is not None else None
    out = annotate(nb, results, lang, questions, names)
    write_text_atomic(output, nbformat.writes(out))
    click.echo(f"wrote {output}")
    if html_path:
        write_text_atomic(html_path, annotated_html(out, lang, submission.stem))
        click.echo(f"wrote {html_path}")


def register(main) -> None:
    main.add_command(feedback)
