"""Example submissions of an assignment, built from its master solution and mutants.

``make demo`` and the benchmarks grade these. They are derived, not stored, so they can never go
stale when the master changes::

    [demo]                                     # in assignment.toml
    mutants = ["conv2d_flipped_kernel", ...]   # buggy examples: the master with these mistakes

Besides the listed mutants, every assignment gets ``correct.py`` (the master), a notebook
version with a magic line, a skipped demo cell and stored outputs that claim success (all three
are ignored by the loader), and ``import_crash.py`` (a demo left at top level that raises on
import). Hand-written examples that cannot be derived (a malicious submission, a broken notebook)
live in the assignment's ``examples/`` folder and are copied alongside.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from .mutants import MutantError, load_mutants
from .notebook import master_source

CRASH = ("\n\n# A demo left at top level: it runs on import and raises.\n"
         "raise RuntimeError('demo cell left at top level')\n")


def demo_mutants(assignment) -> list:
    """The mutants listed in ``[demo] mutants`` of the manifest, in that order."""
    names = list(assignment.manifest.get("demo", {}).get("mutants", []))
    by_name = {m.name: m for m in load_mutants(assignment.path)}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise MutantError(f"{assignment.id}: [demo] mutants not in mutants.toml: {missing}")
    return [by_name[n] for n in names]


def example_source(assignment, name: str) -> str:
    """Source of one derived example: ``correct`` or the name of a mutant (``assignment``: an
    ``Assignment``, a folder or an id)."""
    if not hasattr(assignment, "path"):
        from ..assignment import load

        assignment = load(assignment)
    master = master_source(assignment)
    if name == "correct":
        return master
    for m in load_mutants(assignment.path):
        if m.name == name:
            return m.apply(master)
    raise MutantError(f"{assignment.id}: no mutant named {name!r}")


def notebook_of(source: str) -> dict:
    """A student-style notebook holding ``source``: markdown, a magic line, a skipped plotting
    cell and a shell line, with stored outputs that claim a perfect score."""
    def code(text, outputs=()):
        return {"cell_type": "code", "metadata": {}, "execution_count": 1, "outputs": list(outputs),
                "source": text}
    fake = {"output_type": "stream", "name": "stdout", "text": "All tests passed! Score: 100/100\n"}
    return {"nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
            "cells": [{"cell_type": "markdown", "metadata": {}, "source": "# My solution"},
                      code("%matplotlib inline\n" + source),
                      code("# convgrade: skip\nimport matplotlib.pyplot as plt\nplt.plot([1, 2, 3])", [fake]),
                      code("!pip list | grep numpy\n_demo_value = 1", [fake])]}


def write_examples(assignment, folder: str | Path) -> list[Path]:
    """Write every example submission of ``assignment`` into ``folder``; return their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    master = master_source(assignment)
    out = []

    def put(name: str, text: str) -> None:
        path = folder / name
        path.write_text(text, encoding="utf-8")
        out.append(path)

    put("correct.py", "# Example submission: a correct solution.\n" + master)
    put("correct_notebook.ipynb", json.dumps(notebook_of(master), indent=1))
    put("import_crash.py", "# Example submission: crashes at import.\n" + master + CRASH)
    for m in demo_mutants(assignment):
        put(f"{m.name}.py", f"# Example submission: {m.description}.\n" + m.apply(master))
    hand = assignment.path / "examples"
    if hand.is_dir():
        for p in sorted(hand.iterdir()):
            if p.is_file():
                shutil.copy(p, folder / p.name)
                out.append(folder / p.name)
    return sorted(out)
