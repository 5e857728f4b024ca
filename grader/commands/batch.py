"""Class-level commands: ``grade-batch``, ``gradebook``, ``similarity``.

Exit codes: 0 everything graded and loaded, 1 some submissions did not load, crashed the grader
or timed out (they still have a result with the reason), 3 bad input, 130 interrupted (run the
same command again to resume).
"""
from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import click

from ..exit_codes import EXIT_FAILED, EXIT_INTERRUPTED, BadInput as _BadInput


def _out_dir(out: Path) -> Path:
    if not out.is_dir():
        raise _BadInput(f"{out} is not a folder (give the -o folder of grade-batch)")
    return out


def _load_assignment(name):
    from grader.assignment import AssignmentError, load

    try:
        return load(name)
    except AssignmentError as exc:
        raise _BadInput(str(exc)) from None


@click.command("grade-batch")
@click.argument("assignment")
@click.argument("submissions", type=click.Path(exists=False, path_type=Path))
@click.option("-o", "--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder: OUT/<student>/results.json + feedback; re-running resumes.")
@click.option("-j", "--jobs", "jobs", type=click.IntRange(1, 512), default=None,
              help="Submissions graded at the same time (default: the number of cores).")
@click.option("--roster", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="CSV with a 'student' column; 'name', 'email', 'submitted_at' are used.")
@click.option("--lang", type=click.Choice(["en", "ru"]), default=None,
              help="Language of the messages and feedback pages (default: the course's convgrade.toml lang, "
                   "else en).")
@click.option("--executor", type=click.Choice(["local", "threads", "dask"]), default="local", show_default=True,
              help="local: worker processes on this machine; dask: a Dask distributed cluster.")
@click.option("--scheduler", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://head:8786.")
@click.option("--isolation", type=click.Choice(["auto", "bwrap", "process"]), default="auto", show_default=True)
@click.option("--timeout", type=click.FloatRange(min=1), default=None,
              help="Hard limit per submission in seconds (default: 1.5 x the assignment's wall_s + 30).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a terminal).")
@click.option("--only", "only", multiple=True, metavar="STUDENT",
              help="Grade only this student's submission (repeatable, or comma-separated), whatever "
                   "its saved result says; the others are left as they are.")
@click.option("--force", is_flag=True,
              help="Re-grade every submission (of --only, when given) even when its saved result is "
                   "up to date, e.g. after a load error caused by the grader's environment.")
def grade_batch(assignment, submissions, out, jobs, roster, lang, executor, scheduler, isolation, timeout, progress,
                only, force):
    """Grade every submission in SUBMISSIONS with ASSIGNMENT into OUT.

    SUBMISSIONS is a folder with one file (.py/.ipynb/.zip) or subfolder per student, or a
    Gradescope export (a folder or zip with submission_metadata.yml; its submission times drive
    the late policy). Each result is written atomically as it finishes; interrupted and run
    again, the batch grades only what is missing or changed.

    \b
    Examples:
        convgrade grade-batch a2_convolution submissions/ -o out/ -j 8 --roster roster.csv
        convgrade grade-batch a2_convolution gradescope_export.zip -o out/ --lang ru
        convgrade grade-batch a2_convolution subs/ -o out/ --executor dask --scheduler tcp://head:8786
        convgrade grade-batch a2_convolution subs/ -o out/ --only alice --only bob
        convgrade grade-batch a2_convolution subs/ -o out/ --force
        convgrade gradebook out/ --format canvas
    """
    from grader.batch import DiscoveryError, discover, read_roster, run_batch
    from grader.batch.progress import fmt_duration
    from grader.i18n import default_lang, language
    from grader.seeds import course_secret

    lang = lang or default_lang()
    a = _load_assignment(assignment)
    if executor == "dask" and not scheduler:
        raise _BadInput("--executor dask needs --scheduler ADDRESS")
    if not submissions.exists():
        raise _BadInput(f"no such folder or file: {submissions}")
    try:
        with language(lang):        # the notes discovery writes, in the batch's language
            entries = discover(submissions, out / "_staging", read_roster(roster) if roster else None)
    except DiscoveryError as exc:
        raise _BadInput(str(exc)) from None
    if not entries:
        raise _BadInput(f"{submissions} holds no submissions")
    chosen = _chosen(entries, only) if only else None
    secret = course_secret() if any(not c.visible for c in a.checks) else None
    try:
        report = run_batch(a, entries, out, executor=executor, workers=jobs, scheduler=scheduler,
                           isolation=isolation, lang=lang, secret=secret, timeout=timeout, progress=progress,
                           force=force, only=chosen)
    except KeyboardInterrupt:   # Ctrl-C while the batch was closing: every finished result is saved
        click.echo("Interrupted. Finished results are saved; run the same command again to resume.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    broken = report.broken
    click.echo(f"{a.id}: {report.total} submission(s), {report.graded} graded now, {report.skipped} unchanged "
               f"(skipped) in {fmt_duration(report.seconds)}"
               + (f", {report.rate_per_min():.1f}/min with {report.workers} {report.executor} worker(s)"
                  if report.graded else "") + f". Results in {out}/", err=True)
    if broken:
        counts = {}
        for s in broken:
            counts[report.statuses[s]] = counts.get(report.statuses[s], 0) + 1
        click.echo("Not fully graded: " + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(counts.items()))
                   + f" ({', '.join(broken[:10])}{' ...' if len(broken) > 10 else ''}); see their feedback.md.",
                   err=True)
    if report.interrupted:
        click.echo(f"Interrupted. Finished results are saved; run the same command again to resume "
                   f"(only the {report.total - report.skipped - report.graded} missing submission(s) will be graded).",
                   err=True)
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(EXIT_FAILED if broken else 0)


def _chosen(entries, only) -> set[str]:
    """Entry keys of the students named in ``--only`` (an id as given or as its folder name;
    any member of a group names the group's submission); exit 3 naming the unknown ones."""
    from grader.roster import safe_id

    by_student = {m.student: e.key for e in entries for m in e.members}
    wanted = [w.strip() for value in only for w in value.split(",") if w.strip()]
    keys, unknown = set(), []
    for w in wanted:
        key = by_student.get(w) or by_student.get(safe_id(w))
        if key is None:
            unknown.append(w)
        else:
            keys.add(key)
    if unknown or not keys:
        known = ", ".join(sorted(by_student)[:20]) + (" ..." if len(by_student) > 20 else "")
        raise _BadInput(f"--only: no submission of {', '.join(repr(u) for u in unknown) or '(nobody)'} "
                        f"in the batch (students: {known})")
    return keys


def _similarity_pairs(out: Path):
    f = out / "similarity.json"
    if not f.is_file():
        return None
    try:
        return json.loads(f.read_text(encoding="utf-8"))["pairs"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


@click.command("gradebook")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["canvas", "moodle", "plain"]), default="canvas", show_default=True)
@click.option("--roster", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="CSV with a 'student' column and LMS ids (name, email, id_number, sis_id, login_id, canvas_id, section).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="CSV path (default: OUT/gradebook-<format>.csv).")
@click.option("--title", help="Assignment column title (default: the assignment's title).")
@click.option("--canvas-assignment-id", help="Canvas assignment id (the number in its URL) of the column to fill "
                                             "(default: convgrade.toml [lms.canvas.assignments]).")
@click.option("--new-canvas-column", is_flag=True, help="Canvas: create a new assignment instead of filling one.")
@click.option("--missing", type=click.Choice(["zero", "blank"]), default="zero", show_default=True,
              help="Grade of a roster student with no submission (blank: leave the LMS grade alone).")
@click.option("--lang", type=click.Choice(["en", "ru"]), default="en", show_default=True)
def gradebook(out, fmt, roster, output, title, canvas_assignment_id, new_canvas_column, missing, lang):
    """Write the gradebook CSV of a graded batch OUT and its summary page OUT/summary.html.

    The summary has the score histogram, pass rate per check, the most frequent diagnoses, the
    slowest and the broken submissions, the isolation levels and, after `convgrade similarity`,
    the similar pairs.

    \b
    Examples:
        convgrade gradebook out/ --format canvas --roster roster.csv --canvas-assignment-id 48213
        convgrade gradebook out/ --format moodle --roster roster.csv -o moodle.csv

    Canvas and Moodle need the roster's LMS ids (canvas_id/sis_id/login_id; id_number/email) for
    every student: rows without one are refused with their list (exit 3), never made up.
    """
    from grader.batch.outputs import write_text_atomic
    from grader.report.gradebook import (GradebookError, add_missing, collect, course_canvas_id, read_roster,
                                         render_summary_html, write_csv)

    out = _out_dir(out)
    rows = collect(out)
    if not rows:
        raise _BadInput(f"{out} holds no graded students")
    try:
        ros = read_roster(roster) if roster else None
    except ValueError as exc:
        raise _BadInput(str(exc)) from None
    rows = add_missing(rows, ros, missing, lang)
    try:
        if fmt == "canvas" and not canvas_assignment_id and not new_canvas_column:
            aid = next((r["assignment_id"] for r in rows if r.get("assignment_id")), "")
            canvas_assignment_id = course_canvas_id(aid) if aid else None
        path = write_csv(rows, output or out / f"gradebook-{fmt}.csv", fmt, roster=ros, title=title,
                         canvas_assignment_id=canvas_assignment_id, missing=missing,
                         new_canvas_column=new_canvas_column)
    except GradebookError as exc:
        raise _BadInput(str(exc)) from None
    from grader.report.summary import questions_for       # the by-question section
    page = render_summary_html(rows, _similarity_pairs(out), lang, questions=questions_for(out))
    write_text_atomic(out / "summary.html", page)
    bad = [r for r in rows if r["status"] != "ok"]
    click.echo(f"{len(rows)} student(s) -> {path}; summary -> {out / 'summary.html'}"
               + (f"; {len(bad)} without a full grade: {', '.join(r['student'] for r in bad[:10])}" if bad else ""))
    sys.exit(EXIT_FAILED if any(r["status"] == "unreadable" for r in rows) else 0)


@click.command("similarity")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--starter", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="The starter code given to students (.py or .ipynb): its code never counts.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Report pairs sharing at least this fraction of the smaller submission's fingerprints.")
@click.option("--lang", type=click.Choice(["en", "ru"]), default=None,
              help="Language of similarity.html (default: the course's convgrade.toml lang, else en).")
def similarity(out, starter, threshold, lang):
    """Find pairs of submissions in OUT whose code is suspiciously alike.

    Writes OUT/similarity.html (matching regions side by side) and OUT/similarity.json, which
    `convgrade gradebook` adds to the summary page.

    \b
    Example:
        convgrade similarity out/ --starter assignments/a2_convolution/starter.py --threshold 0.6
    """
    from grader.batch.outputs import write_text_atomic
    from grader.i18n import default_lang
    from grader.report.similarity import compare, load_sources, render_pairs_html
    from grader.results import write_json_atomic
    from grader.submission import SubmissionError, load_submission

    out = _out_dir(out)
    sources = load_sources(out)
    starter_src = ""
    if starter:
        try:
            starter_src = load_submission(starter).source
        except SubmissionError as exc:
            raise _BadInput(f"--starter: {exc.reason}") from None
    pairs = compare(sources, starter=starter_src, threshold=threshold)
    write_text_atomic(out / "similarity.html", render_pairs_html(pairs, sources, lang=lang or default_lang()))
    write_json_atomic(out / "similarity.json", {"threshold": threshold, "submissions": len(sources),
                                                "pairs": [dataclasses.asdict(p) for p in pairs]})
    click.echo(f"{len(sources)} source(s) compared, {len(pairs)} similar pair(s) -> {out / 'similarity.html'}")
    for p in pairs[:20]:
        click.echo(f"  {100 * p.score:5.1f}%  {p.a} <-> {p.b}")


def register(main) -> None:
    main.add_command(grade_batch)
    main.add_command(gradebook)
    main.add_command(similarity)
