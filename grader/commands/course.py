"""``convgrade init-course DIR`` and ``convgrade course``: start a course folder, show the current one.

Exit codes: 0 success, 3 bad input (a convgrade.toml exists already, a broken convgrade.toml).
"""
from __future__ import annotations

from pathlib import Path

import click

from ..exit_codes import BadInput as _BadInput


def register(main) -> None:
    @main.command("init-course")
    @click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
    @click.option("--name", default=None, help="The course's name (default: the folder's name).")
    @click.option("--lang", type=click.Choice(["en", "ru"]), default="en", show_default=True,
                  help="Default language of feedback and exam papers.")
    def init_course_cmd(folder, name, lang):
        """Start a course in FOLDER: a convgrade.toml (documented template) and an empty assignments/.

        \b
        Example:
            convgrade init-course ~/cnn-2026 --lang ru && cd ~/cnn-2026 && convgrade new a1_relu
        """
        from grader.course import CourseError, init_course

        try:
            written = init_course(folder, name=name, lang=lang)
        except (CourseError, OSError) as exc:
            raise _BadInput(str(exc)) from None
        click.echo(f"Started the course in {folder}:")
        for p in written:
            click.echo(f"  {p.relative_to(folder)}{'/' if p.is_dir() else ''}")
        click.echo(f"\nNext: cd {folder} && convgrade new a1_first   (then validate, release)")

    @main.command("course")
    def course_cmd():
        """Show the current course (where its assignments and exams are found) and what it holds.

        \b
        Example:
            convgrade --course ~/cnn-2026 course
        """
        from grader.course import CourseError, current_course

        try:
            c = current_course()
        except CourseError as exc:
            raise _BadInput(str(exc)) from None
        click.echo(f"course:      {c.describe()}")
        click.echo(f"folder:      {c.assignments_dir}")
        click.echo(f"lang:        {c.lang}")
        if c.secret_file:
            click.echo(f"secret file: {c.secret_file}")
        if c.roster:
            click.echo(f"roster:      {c.roster}")
        for lms, ids in sorted(c.lms.items()):
            click.echo(f"{lms}:{' ' * max(1, 12 - len(lms))}course {ids.course_id}, "
                       f"{len(ids.assignments)} assignment id(s)")
        click.echo(f"assignments: {', '.join(c.ids('assignment.toml')) or '(none)'}")
        click.echo(f"exams:       {', '.join(c.ids('exam.toml')) or '(none)'}")
