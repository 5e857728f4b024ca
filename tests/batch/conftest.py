"""Fixtures of the batch tests: a small assignment and generated class folders."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

HERE = Path(__file__).resolve().parent
ASSIGNMENT = HERE / "assignment"
EXAMPLES = HERE.parent.parent / "assignments" / "a2_convolution" / "examples"
SECRET = b"batch-test-secret"

HANG = """

def _hang(self, x):
    while True:
        pass


Conv2d.forward = _hang
"""


def correct() -> str:
    return (EXAMPLES / "correct.py").read_text()


def kinds() -> dict[str, bytes]:
    """Submission kind -> bytes (file extension in the key)."""
    return {
        "correct.py": correct().encode(),
        "flipped.py": (EXAMPLES / "flipped_kernel.py").read_bytes(),
        "padding.py": (EXAMPLES / "always_zero_padding.py").read_bytes(),
        "crash.py": (EXAMPLES / "import_crash.py").read_bytes(),
        "broken.ipynb": (EXAMPLES / "broken_notebook.ipynb").read_bytes(),
        "notebook.ipynb": (EXAMPLES / "correct_notebook.ipynb").read_bytes(),
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
