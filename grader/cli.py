"""The ``convgrade`` command line.

Exit codes scripts can rely on: 0 success (for ``check``: every visible check passed),
1 checks failed / something was not graded, 2 usage error (click), 3 bad input: an unknown
assignment or exam, a missing file, a broken convgrade.toml.

Assignments and exams are found in the current course (``grader.course``): ``--course DIR`` /
``$CONVGRADE_COURSE``, else the nearest ``convgrade.toml`` above the working directory, else the
bundled examples. ``convgrade`` (the console script) and ``python -m grader`` are this ``main``.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from .exit_codes import EXIT_FAILED, BadInput as _BadInput

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _load_assignment(name):
    from .assignment import AssignmentError, load

    try:
        return load(name)
    except AssignmentError as exc:
        raise _BadInput(str(exc)) from None


def _start_early(assignment, isolation: str = "auto", visibility: str = "all") -> None:
    """Start the sandbox worker now, before the grader imports what grading needs, so that the
    worker's own start overlaps it. A numpy assignment's from its assignment.toml alone (ahead of
    numpy and the check kinds: about a fifth of a second); a torch assignment's from its checks read
    without the kinds' validation (which builds the reference models, importing torch: seconds in
    which the worker imports torch too), with the preload and GPU decision ``grade_submission``
    computes for ``visibility``. ``grade_submission`` takes it only when the configuration it
    computes is the same (grader.sandbox.pool.take_early); anything unusual here just skips it."""
    try:
        import tomllib

        from .course import resolve_in_course
        from .sandbox.config import from_manifest
        from .sandbox.pool import env_pool_size, start_early

        if env_pool_size():
            return
        folder = resolve_in_course(assignment, "assignment.toml", "assignment")
        manifest = tomllib.loads((folder / "assignment.toml").read_text(encoding="utf-8"))
        if not manifest.get("imports", {}).get("allow_torch", False):
            start_early(from_manifest(manifest, isolation))
            return
        from .assignment import load
        from .checks.milestone import needs_gpu
        from .grade import sandbox_config

        a = load(folder, validate=False)      # the full load, validation included, follows
        start_early(sandbox_config(a, isolation, gpu=needs_gpu(a.select(visibility))))
    except Exception:
        return


def _table(results: dict, color: bool = True, lang: str = "en") -> str:
    from .i18n import tr
    from .inert import terminal_text   # student strings never reach the terminal with escapes

    s = tr(lang)
    rows = []
    width = min(max((len(t["name"]) for t in results["tests"]), default=10), 70)
    for t in results["tests"]:
        ok = t["status"] == "passed"
        word = s["cli_pass"] if ok else s["cli_fail"]
        mark = click.style(word, fg="green" if ok else "red") if color else word
        name = terminal_text(t["name"])
        name = name if len(name) <= width else name[: width - 1] + "…"
        rows.append(f"  {mark}  {name:<{width}}  {t['score']:g}/{t['max_score']:g}")
    return "\n".join(rows)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="convgrade")
@click.option("--course", "course_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The course folder (with convgrade.toml) to find assignments and exams in "
                   "[default: $CONVGRADE_COURSE, else the nearest convgrade.toml above the working "
                   "directory, else the bundled examples].")
def main(course_dir):
    """convgrade: grade CNN homework and exams safely.

    \b
    Students:     convgrade check convolution.ipynb          (inside the released folder)
                  convgrade check RELEASE_DIR convolution.ipynb
    TAs:          convgrade grade a2_convolution alice.ipynb --student alice -o results.json
    Instructors:  convgrade init-course my-course && cd my-course && convgrade new a1_relu
                  convgrade --course ~/my-course validate a1_relu

    Exit codes: 0 success, 1 checks failed / not graded, 2 usage error, 3 bad input (unknown
    assignment or exam, missing file, broken convgrade.toml).
    """
    from .course import CourseError, use_course

    try:
        use_course(course_dir)
    except CourseError as exc:
        raise _BadInput(f"--course: {exc}") from None
    click.get_current_context().call_on_close(lambda: use_course(None))


@main.command()
@click.argument("assignment")
@click.argument("submission", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write Gradescope's results.json here.")
@click.option("--student", default="anonymous", show_default=True, help="Student id: seeds the hidden inputs.")
@click.option("--isolation", type=click.Choice(["auto", "bwrap", "process"]), default="auto", show_default=True,
              help="Sandbox: auto picks the strongest available.")
@click.option("--json", "as_json", is_flag=True, help="Print results.json to stdout instead of a table.")
@click.option("--feedback-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write feedback.md, feedback.html and, for a notebook, the annotated notebook here.")
@click.option("--lang", type=click.Choice(["en", "ru"]), default=None,
              help="Language of the messages and feedback (default: the course's convgrade.toml lang, else en).")
def grade(assignment, submission, output, student, isolation, as_json, feedback_dir, lang):
    """Grade SUBMISSION (.py, .ipynb, .zip, or a folder of them) with every check of ASSIGNMENT.

    ASSIGNMENT is a folder with assignment.toml or an assignment id of the current course. A folder
    SUBMISSION (such as Gradescope's submission folder) is graded as its one file, or all its files
    as one zip.

    \b
    Example:
        convgrade grade a2_convolution alice.ipynb --student alice -o alice.json
        convgrade grade a2_convolution alice.ipynb --lang ru --feedback-dir alice/
    """
    if submission.exists():
        _start_early(assignment, isolation)
    from .grade import grade_submission
    from .i18n import default_lang, results_lang, tr
    from .results import write_json_atomic

    lang = lang or default_lang()

    a = _load_assignment(assignment)
    if not submission.exists():
        raise _BadInput(f"no such file: {submission}")
    from .inert import terminal_text

    if submission.is_dir():
        import tempfile

        from .deploy.grading import submission_path

        with tempfile.TemporaryDirectory(prefix="convgrade-folder-") as tmp:
            results = grade_submission(a, submission_path(submission, Path(tmp)), student=student,
                                       isolation=isolation, lang=lang)
    else:
        results = grade_submission(a, submission, student=student, isolation=isolation, lang=lang)
    if output:
        write_json_atomic(output, results)
    if feedback_dir:
        from .report.annotate import write_feedback
        write_feedback(feedback_dir, results, results["convgrade"].get("lang") or lang, assignment=a,
                       notebook=submission)
    if as_json:
        click.echo(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        cg = results["convgrade"]
        click.echo(terminal_text(f"{a.id} · {student} · {submission.name}"))
        if cg.get("load_error"):
            click.echo(click.style(terminal_text(cg["load_error"]), fg="red"))
        shown = results_lang(results) or "en"
        click.echo(_table(results, lang=shown))
        click.echo(tr(shown)["cli_score"].format(score=f"{results['score']:g}", max=f"{results['max_score']:g}",
                                                 t=f"{results['execution_time']:.2f}",
                                                 level=cg['isolation']['level']))
    sys.exit(0 if results["score"] >= results["max_score"] - 1e-9 else EXIT_FAILED)


def _check_arguments(args: tuple[str, ...]) -> tuple[str, Path]:
    """(assignment, submission) of ``check [ASSIGNMENT] SUBMISSION``: with one argument the
    assignment is the working directory when it holds assignment.toml (a released folder)."""
    if len(args) == 2:
        return args[0], Path(args[1])
    if len(args) != 1:
        raise click.UsageError(f"expected [ASSIGNMENT] SUBMISSION, got {len(args)} arguments")
    if not Path("assignment.toml").is_file():
        raise click.UsageError("no ASSIGNMENT given and the working directory has no assignment.toml: "
                               "run this inside the released folder, or give it first: "
                               "convgrade check RELEASE_DIR SUBMISSION")
    return ".", Path(args[0])


@main.command()
@click.argument("args", nargs=-1, required=True, metavar="[ASSIGNMENT] SUBMISSION")
@click.option("-v", "--verbose", is_flag=True, help="Show the feedback of passing checks too.")
@click.option("--lang", type=click.Choice(["en", "ru"]), default=None,
              help="Language of the report (default: the course's convgrade.toml lang, else en).")
def check(args, verbose, lang):
    """Run the visible checks of ASSIGNMENT on your SUBMISSION, on your own machine.

    ASSIGNMENT is the released folder (or an assignment folder or id); left out, it is the
    working directory, so inside the released folder `convgrade check convolution.ipynb` is enough.
    Exit code 0 only when every visible check passes.

    \b
    Examples:
        convgrade check convolution.ipynb                 (inside the released folder)
        convgrade check release/a2 convolution.ipynb
        convgrade check a2_convolution convolution.ipynb
    """
    assignment, submission = _check_arguments(args)
    if submission.is_file():
        _start_early(assignment, visibility="visible")
    from .grade import grade_submission

    a = _load_assignment(assignment)
    if not submission.is_file():
        raise _BadInput(f"no such file: {submission}")
    from .inert import terminal_text

    from .kit import kit_lang

    lang = kit_lang(a, lang)      # --lang, else the release's assignment.toml lang, else the course's
    results = grade_submission(a, submission, student="public", visibility="visible", lang=lang)
    cg = results["convgrade"]
    from .report.console import check_report
    for line in check_report(results, lang, verbose,
                             lambda text, ok: click.style(text, fg="green" if ok else "red")):
        click.echo(line)
    passed = sum(t["status"] == "passed" for t in results["tests"])
    sys.exit(0 if passed == len(results["tests"]) and not cg.get("load_error") else EXIT_FAILED)


@main.command()
@click.option("--assignment", "assignment_id", default="a2_convolution", show_default=True)
@click.option("--lang", type=click.Choice(["en", "ru"]), default=None,
              help="Language of the messages (default: the course's convgrade.toml lang, else en).")
def demo(assignment_id, lang):
    """Grade example submissions of an assignment and print their scores.

    The examples are the master solution, a notebook version of it, buggy versions made from the
    mutants listed under [demo] in assignment.toml, an import crash, and the hand-written files of
    examples/ (a malicious submission, a broken notebook).
    """
    import tempfile

    from .assignment import AssignmentError, load
    from .authoring.examples import write_examples
    from .course import bundled_course
    from .grade import grade_submission
    from .i18n import default_lang, localized, tr

    lang = lang or default_lang()
    try:
        a = load(assignment_id)
    except AssignmentError:     # not in the current course: the bundled example of that id
        a = _load_assignment(bundled_course().assignments_dir / assignment_id)
    secret = b"demo-secret"  # the demo never touches the real course secret
    with tempfile.TemporaryDirectory(prefix="convgrade-demo-") as tmp:
        examples = write_examples(a, tmp)
        click.echo(tr(lang)["demo_header"].format(n=len(examples), assignment=a.id,
                                                  title=localized(a, "title", lang)) + "\n")
        for ex in examples:
            r = grade_submission(a, ex, student=ex.stem, secret=secret, lang=lang)
            cg = r["convgrade"]
            failed = [t for t in r["tests"] if t["status"] != "passed"]
            diag = sorted({d["code"] for t in failed for d in t.get("extra_data", {}).get("diagnoses", [])})
            reason = cg.get("load_error") or (tr(lang)["demo_diagnoses"].format(codes=", ".join(diag)) if diag else "")
            click.echo(f"  {ex.name:<40} {r['score']:>6.4g} / {r['max_score']:<4g} {r['execution_time']:5.2f} s  "
                       f"{cg['isolation']['level']:<13} {reason[:100]}")


@main.command()
@click.option("--cases", default=5, show_default=True, help="Random cases per layer.")
def selfcheck(cases):
    """Compare every reference layer with torch: max relative error and time per layer."""
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        raise _BadInput("selfcheck compares with torch, which is not installed: pip install 'convgrade[torch]'")
    from reference.selfcheck import run_selfcheck

    ok = run_selfcheck(cases=cases, echo=click.echo)
    sys.exit(0 if ok else EXIT_FAILED)


from .commands import register_all  # noqa: E402  (command families in grader/commands/)

register_all(main)


# ----------------------------------------------------------------------------- instructors: new, validate, release

@main.command("new")
@click.argument("assignment_id")
@click.option("-d", "--dir", "dest", type=click.Path(file_okay=False, path_type=Path),
              help="Create the folder here (default: COURSE/assignments/ASSIGNMENT_ID of the current course).")
@click.option("--title", default=None, help="Title (default: from the id).")
def new_assignment(assignment_id, dest, title):
    """Scaffold a problem set ASSIGNMENT_ID that validates and releases as it is.

    Writes assignment.toml, checks.toml (visible and hidden checks), master.ipynb (otter assign
    format) and mutants.toml for a small numpy ReLU layer into the current course's assignments/
    (never into the installed convgrade): replace it with your problem.

    \b
    Example:
        convgrade init-course my-course && cd my-course
        convgrade new a5_activations && convgrade validate a5_activations
    """
    from .authoring.scaffold import ScaffoldError, scaffold
    from .course import COURSE_FILE, CourseError, current_course

    ref = str(dest) if dest else assignment_id
    if dest is None:
        try:
            course = current_course()
        except CourseError as exc:
            raise _BadInput(str(exc)) from None
        if course.bundled:
            raise _BadInput(f"not inside a course: no {COURSE_FILE} here or above, no --course or "
                            f"$CONVGRADE_COURSE. Start one with `convgrade init-course DIR` and run this "
                            f"inside DIR, or give the folder with -d")
        dest = course.assignments_dir / assignment_id
    try:
        written = scaffold(assignment_id, dest, title=title)
    except ScaffoldError as exc:
        raise _BadInput(str(exc)) from None
    click.echo(f"Created {dest}:")
    for p in written:
        click.echo(f"  {p.name}")
    click.echo(f"\nNext: edit master.ipynb, checks.toml and mutants.toml, then\n"
               f"  convgrade validate {ref}\n  convgrade release {ref} -o release/{assignment_id}")


@main.command("validate")
@click.argument("assignment")
@click.option("--workers", default=2, show_default=True, help="Submissions graded in parallel.")
@click.option("--thorough", is_flag=True, help="Grade every mutant under every validation student id.")
@click.option("--isolation", type=click.Choice(["auto", "bwrap", "process"]), default="auto", show_default=True)
@click.option("--samples", default=200, show_default=True,
              help="Student ids each mutant's catch rate is measured over (at most; at least 30).")
def validate_assignment(assignment, workers, thorough, isolation, samples):
    """Prove ASSIGNMENT's checks right and strong: the master solution scores full marks, every
    mutant loses points on the checks it targets for every sampled student (each gets other hidden
    inputs), the starter fails the visible checks cleanly.

    Prints the mutation table with each mutant's catch rate; exit code 1 when anything fails.

    \b
    Example:
        convgrade validate a2_convolution
    """
    from .authoring.validate import format_table, rate_summary, validate

    a = _load_assignment(assignment)
    for gap in a.translation_gaps():     # langs = ["en", "ru"] declared, a text missing (grader.assignment)
        click.echo(click.style(f"warning: {gap}", fg="yellow"), err=True)
    report = validate(a, isolation=isolation, workers=workers, thorough=thorough, samples=samples)

    def short(sid):     # which ids' grades ran training checks on their short runs (validate's docstring)
        n = len(report.master_short.get(sid, ()))
        if n == 0:
            return ""
        return " (1 training check on its short run)" if n == 1 else f" ({n} training checks on their short runs)"

    scores = ", ".join(f"{s}: {v:g}{short(s)}" for s, v in report.master_scores.items())
    click.echo(f"{a.id}: master solution {scores or '(not graded)'} / {report.max_score:g}")
    if report.rows:
        click.echo(format_table(report, style=click.style))
    caught = sum(r.ok for r in report.rows)
    click.echo(f"\n{caught}/{len(report.rows)} mutants caught on target; starter: "
               f"{len(report.starter_passing)} visible check(s) pass on it ({report.seconds:.1f} s)")
    click.echo(rate_summary(report))
    for p in report.problems:
        click.echo(click.style(f"problem: {p}", fg="red"))
    if report.ok:
        click.echo(click.style("valid", fg="green"))
    sys.exit(0 if report.ok else EXIT_FAILED)


@main.command("release")
@click.argument("assignment")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the student release (must not exist or be empty).")
@click.option("--no-verify", is_flag=True, help="Skip grading the master solution on the visible checks.")
def release_assignment(assignment, out_dir, no_verify):
    """Write the student version of ASSIGNMENT to a folder: the notebook without solutions (otter
    assign), its public tests (runnable with grader.check in the notebook), README.md and README.ru.md.

    Nothing hidden goes out: no solution, hidden check, reference code or mutant.

    \b
    Example:
        convgrade release a2_convolution -o release/a2
    """
    from .authoring.release import ReleaseError, release

    a = _load_assignment(assignment)
    try:
        files = release(a, out_dir, verify=not no_verify)
    except ReleaseError as exc:
        raise _BadInput(str(exc)) from None
    click.echo(f"Released {a.id} to {out_dir}:")
    for p in files:
        click.echo(f"  {p.relative_to(out_dir)}")
