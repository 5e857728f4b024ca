"""Fixtures of the batch tests: a small assignment and generated class folders."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from grader.authoring.examples import CRASH, example_source, notebook_of

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

HERE = Path(__file__).resolve().parent
ASSIGNMENT = HERE / "assignment"
EXAMPLES = HERE.parent.parent / "assignments" / "a2_convolution" / "examples"   # hand-written ones
SECRET = b"batch-test-secret"

HANG = """

def _hang(self, x):
    while True:
        pass


Conv2d.forward = _hang
"""


def correct() -> str:
    return example_source("a2_convolution", "correct")


def kinds() -> dict[str, bytes]:
    """Submission kind -> bytes (file extension in the key)."""
    return {
        "correct.py": correct().encode(),
        "flipped.py": example_source("a2_convolution", "conv2d_flipped_kernel").encode(),
        "padding.py": example_source("a2_convolution", "conv2d_always_zero_padding").encode(),
        "crash.py": (correct() + CRASH).encode(),
        "broken.ipynb": (EXAMPLES / "broken_notebook.ipynb").read_bytes(),
        "notebook.ipynb": json.dumps(notebook_of(correct())).encode(),
        "hang.py": (correct() + HANG).encode(),
    }


def make_class(folder: Path, n: int, include=("correct.py", "flipped.py", "padding.py", "crash.py",
                                             "broken.ipynb", "notebook.ipynb")) -> list[str]:
    """``n`` submissions cycling through ``include``, one file per student ``s00``, ``s01``, ...;
    returns the student ids."""
    folder.mkdir(parents=True, exist_ok=True)
    src = kinds()
    ids = []
    for i in range(n):
        kind = include[i % len(include)]
        student = f"s{i:02d}"
        data = src[kind]
        if kind.endswith(".py"):          # make every file distinct (a comment) so hashes differ
            data = data + f"\n# {student}\n".encode()
        (folder / f"{student}{Path(kind).suffix}").write_bytes(data)
        ids.append(student)
    return ids


@pytest.fixture(scope="session")
def assignment():
    from grader.assignment import load

    return load(ASSIGNMENT)
