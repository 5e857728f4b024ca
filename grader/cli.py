"""The ``convgrade`` command line.

Exit codes scripts can rely on: 0 success (for ``check``: every visible check passed),
1 checks failed / something was not graded, 2 usage error (click), 3 bad assignment or input.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

EXIT_FAILED = 1
EXIT_BAD_INPUT = 3


def _load_assignment(name):
    from .assignment import AssignmentError, load

    try:
        return load(name)
    except AssignmentError as exc:
        raise click.ClickException(str(exc)) from None


class _BadInput(click.ClickException):
    exit_code = EXIT_BAD_INPUT


def _table(results: dict, color: bool = True) -> str:
    rows = []
    width = min(max((len(t["name"]) for t in results["tests"]), default=10), 70)
    for t in results["tests"]:
        ok = t["status"] == "passed"
        mark = click.style("PASS", fg="green") if ok else click.style("FAIL", fg="red")
        if not color:
            mark = "PASS" if ok else "FAIL"
        name = t["name"] if len(t["name"]) <= width else t["name"][: width - 1] + "…"
        rows.append(f"  {mark}  {name:<{width}}  {t['score']:g}/{t['max_score']:g}")
    return "\n".join(rows)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="convgrade")
def main():
    """convgrade: grade CNN homework and exams safely.

    \b
    Students:     convgrade check a2_convolution my_solution.ipynb
    TAs:          convgrade grade a2_convolution alice.ipynb --student alice -o results.json
    Instructors:  convgrade selfcheck
    """


@main.command()
@click.argument("assignment")
@click.argument("submission", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write Gradescope's results.json here.")
@click.option("--student", default="anonymous", show_default=True, help="Student id: seeds the hidden inputs.")
@click.option("--isolation", type=click.Choice(["auto", "bwrap", "process"]), default="auto", show_default=True,
              help="Sandbox: auto picks the strongest available.")
@click.option("--json", "as_json", is_flag=True, help="Print results.json to stdout instead of a table.")
def grade(assignment, submission, output, student, isolation, as_json):
    """Grade SUBMISSION (.py, .ipynb or .zip) with every check of ASSIGNMENT.

    ASSIGNMENT is a folder with assignment.toml or an id under assignments/.

    \b
    Example:
        convgrade grade a2_convolution alice.ipynb --student alice -o alice.json
    """
    from .grade import grade_submission
    from .results import write_json_atomic

    a = _load_assignment(assignment)
    if not submission.exists():
        raise _BadInput(f"no such file: {submission}")
    results = grade_submission(a, submission, student=student, isolation=isolation)
    if output:
        write_json_atomic(output, results)
    if as_json:
        click.echo(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        cg = results["convgrade"]
        click.echo(f"{a.id} · {student} · {submission.name}")
        if cg.get("load_error"):
            click.echo(click.style(cg["load_error"], fg="red"))
        click.echo(_table(results))
        click.echo(f"Score: {results['score']:g} / {results['max_score']:g}   "
                   f"({results['execution_time']:.2f} s, isolation: {cg['isolation']['level']})")
    sys.exit(0 if results["score"] >= results["max_score"] - 1e-9 else EXIT_FAILED)


@main.command()
@click.argument("assignment")
@click.argument("submission", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-v", "--verbose", is_flag=True, help="Show the feedback of passing checks too.")
def check(assignment, submission, verbose):
    """Run the visible checks of ASSIGNMENT on your SUBMISSION, on your own machine.

    Exit code 0 only when every visible check passes.

    \b
    Example:
        convgrade check a2_convolution convolution.ipynb
    """
    from .grade import grade_submission

    a = _load_assignment(assignment)
    if not submission.exists():
        raise _BadInput(f"no such file: {submission}")
    results = grade_submission(a, submission, student="public", visibility="visible")
    cg = results["convgrade"]
    if cg.get("load_error"):
        click.echo(click.style(cg["load_error"], fg="red"))
    for note in cg.get("notes", []):
        click.echo(f"note: {note}")
    for finding in cg.get("static_findings", []):
        click.echo(click.style(f"flagged: your code {finding}", fg="yellow"))
    for t in results["tests"]:
        ok = t["status"] == "passed"
        mark = click.style("PASS", fg="green") if ok else click.style("FAIL", fg="red")
        click.echo(f"{mark} {t['name']}  ({t['score']:g}/{t['max_score']:g})")
        if not ok or verbose:
            for line in t["output"].splitlines():
                click.echo(f"     {line}")
    passed = sum(t["status"] == "passed" for t in results["tests"])
    click.echo(f"\n{passed}/{len(results['tests'])} visible checks pass. "
               f"Hidden checks run when your TA grades; they use other inputs.")
    sys.exit(0 if passed == len(results["tests"]) and not cg.get("load_error") else EXIT_FAILED)


@main.command()
@click.option("--assignment", "assignment_id", default="a2_convolution", show_default=True)
def demo(assignment_id):
    """Grade example submissions of an assignment and print their scores.

    The examples are the master solution, a notebook version of it, buggy versions made from the
    mutants listed under [demo] in assignment.toml, an import crash, and the hand-written files of
    examples/ (a malicious submission, a broken notebook).
    """
    import tempfile

    from .authoring.examples import write_examples
    from .grade import grade_submission

    a = _load_assignment(assignment_id)
    secret = b"demo-secret"  # the demo never touches the real course secret
    with tempfile.TemporaryDirectory(prefix="convgrade-demo-") as tmp:
        examples = write_examples(a, tmp)
        click.echo(f"Grading {len(examples)} example submissions of {a.id} ({a.title})\n")
        for ex in examples:
            r = grade_submission(a, ex, student=ex.stem, secret=secret)
            cg = r["convgrade"]
            failed = [t for t in r["tests"] if t["status"] != "passed"]
            diag = sorted({d["code"] for t in failed for d in t.get("extra_data", {}).get("diagnoses", [])})
            reason = cg.get("load_error") or (f"diagnoses: {', '.join(diag)}" if diag else "")
            click.echo(f"  {ex.name:<40} {r['score']:>6.4g} / {r['max_score']:<4g} {r['execution_time']:5.2f} s  "
                       f"{cg['isolation']['level']:<13} {reason[:100]}")


@main.command()
@click.option("--cases", default=5, show_default=True, help="Random cases per layer.")
def selfcheck(cases):
    """Compare every reference layer with torch: max relative error and time per layer."""
    from reference.selfcheck import run_selfcheck

    ok = run_selfcheck(cases=cases, echo=click.echo)
    sys.exit(0 if ok else EXIT_FAILED)


from .commands import register_all  # noqa: E402  (command families in grader/commands/)

register_all(main)

if __name__ == "__main__":
    main()


# ----------------------------------------------------------------------------- instructors: new, validate, release

@main.command("new")
@click.argument("assignment_id")
@click.option("-d", "--dir", "dest", type=click.Path(file_okay=False, path_type=Path),
              help="Create the folder here (default: assignments/ASSIGNMENT_ID).")
@click.option("--title", default=None, help="Title (default: from the id).")
def new_assignment(assignment_id, dest, title):
    """Scaffold a problem set ASSIGNMENT_ID that validates and releases as it is.

    Writes assignment.toml, checks.toml (visible and hidden checks), master.ipynb (otter assign
    format) and mutants.toml for a small numpy ReLU layer: replace it with your problem.

    \b
    Example:
        convgrade new a5_activations && convgrade validate a5_activations
    """
    from .assignment import ASSIGNMENTS_DIR
    from .authoring.scaffold import ScaffoldError, scaffold

    target = dest or (ASSIGNMENTS_DIR / assignment_id)
    try:
        written = scaffold(assignment_id, target, title=title)
    except ScaffoldError as exc:
        raise _BadInput(str(exc)) from None
    click.echo(f"Created {target}:")
    for p in written:
        click.echo(f"  {p.name}")
    click.echo(f"\nNext: edit master.ipynb, checks.toml and mutants.toml, then\n"
               f"  convgrade validate {target}\n  convgrade release {target} -o release/{assignment_id}")


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
    report = validate(a, isolation=isolation, workers=workers, thorough=thorough, samples=samples)
    scores = ", ".join(f"{s}: {v:g}" for s, v in report.master_scores.items())
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
