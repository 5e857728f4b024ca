"""Deployment commands: ``gradescope`` (an autograder zip) and ``prairielearn`` (external-grader files).

Exit codes: 0 written, 3 bad input (unknown assignment, no course secret for hidden checks,
output folder not empty).
"""
from __future__ import annotations

from pathlib import Path

import click

from ..exit_codes import BadInput as _BadInput


def _assignment_and_secret(name):
    from grader.assignment import AssignmentError, load
    from grader.seeds import SecretError, course_secret

    try:
        a = load(name)
    except AssignmentError as exc:
        raise _BadInput(str(exc)) from None
    secret = None
    if any(not c.visible for c in a.checks):
        try:
            secret = course_secret(create=False)
        except SecretError as exc:
            raise _BadInput(f"{exc} (the hidden checks of {a.id} are seeded from it)") from None
    return a, secret


@click.command("gradescope")
@click.argument("assignment")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The autograder zip to write.")
@click.option("--due", type=click.Choice(["gradescope", "manifest"]), default="gradescope", show_default=True,
              help="Late policy deadline: Gradescope's due date for the submission, or the manifest's `due`.")
def gradescope(assignment, output, due):
    """Build a Gradescope autograder zip for ASSIGNMENT (upload it under Configure Autograder).

    The zip holds setup.sh (installs Python 3.11 on Gradescope's Ubuntu image, the pinned
    requirements and this convgrade as a wheel), run_autograder, the assignment without its
    master notebook and mutants, and the course secret (see README.md inside: rotation).

    \b
    Example:
        convgrade gradescope a2_convolution -o autograder.zip
    """
    from grader.deploy.bundle import DeployError
    from grader.deploy.gradescope import build

    a, secret = _assignment_and_secret(assignment)
    try:
        path = build(a, output, secret=secret, due=due)
    except DeployError as exc:
        raise _BadInput(str(exc)) from None
    click.echo(f"{a.id} (version {a.version}) -> {path} ({path.stat().st_size / 1e6:.1f} MB)"
               + ("; holds the course secret: share it only with course staff" if secret else ""))


@click.command("prairielearn")
@click.argument("assignment")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the grader image, serverFilesCourse/ and questions/ (must not exist or be empty).")
@click.option("--timeout", type=click.IntRange(10, 3600), default=None,
              help="externalGradingOptions.timeout in seconds (default: from the assignment's wall_s).")
def prairielearn(assignment, output, timeout):
    """Write PrairieLearn external-grader files for ASSIGNMENT into a folder.

    \b
    Example:
        convgrade prairielearn a2_convolution -o pl/
    """
    from grader.deploy.bundle import DeployError
    from grader.deploy.prairielearn import build

    a, secret = _assignment_and_secret(assignment)
    try:
        files = build(a, output, secret=secret, timeout=timeout)
    except DeployError as exc:
        raise _BadInput(str(exc)) from None
    click.echo(f"{a.id} -> {output}: {len(files)} files (see {output / 'README.md'})")


def register(main) -> None:
    main.add_command(gradescope)
    main.add_command(prairielearn)
