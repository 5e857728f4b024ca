"""Exit codes scripts can rely on (README "Exit codes"), shared by every command.

0 success, 1 checks failed / something not graded, 2 usage error (click), 3 bad assignment or
input, 130 interrupted.
"""
from __future__ import annotations

import click

EXIT_FAILED = 1
EXIT_BAD_INPUT = 3
EXIT_INTERRUPTED = 130


class BadInput(click.ClickException):
    """A missing file, an unknown assignment, a refused input: exit code 3 with the message."""
    exit_code = EXIT_BAD_INPUT
