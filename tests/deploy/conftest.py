"""Shared pieces of the deployment tests: the a2 assignment, a filled-in notebook, a fixed secret
and a check that no hidden input reaches what a student's LMS stores."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRET = b"deploy-test-secret"


@pytest.fixture(scope="session")
def a2():
    from grader.assignment import load

    return load("a2_convolution")


def solution_notebook(assignment, mutant: str = "correct") -> str:
    """A student's notebook with the master solution (or a mutant) filled in."""
    from grader.authoring.examples import example_source, notebook_of

    return json.dumps(notebook_of(example_source(assignment, mutant)))


@pytest.fixture(scope="session")
def released_filled(a2, tmp_path_factory) -> str:
    """The released student notebook of a2 (otter init cell, starter stubs, ``grader.check``
    cells) with the master solution typed into a new cell at the end, as a student fills it in."""
    from grader.authoring.examples import example_source
    from grader.authoring.release import release

    out = tmp_path_factory.mktemp("release") / "a2"
    files = release(a2, out, verify=False)
    nb_path = next(p for p in files if p.suffix == ".ipynb")
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    nb["cells"].append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                        "source": example_source(a2, "correct")})
    return json.dumps(nb)


def env_for_container(**extra) -> dict:
    """The environment a simulated container runs with: this checkout importable, this Python."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), CONVGRADE_PYTHON=sys.executable, CONVGRADE_SETUP_OFFLINE="1",
               OMP_WAIT_POLICY="PASSIVE")
    env.pop("CONVGRADE_SECRET", None)
    env.pop("CONVGRADE_SECRET_FILE", None)
    env.update(extra)
    return env


def hidden_input_snippets(assignment, student: str, secret: bytes, per_array: int = 4) -> set[str]:
    """Decimal renderings of the first values of every hidden check's input arrays for
    ``student``: none of them may appear in anything the student sees."""
    from grader.checks import kind_of
    from grader.seeds import check_seed

    out = set()
    for spec in assignment.checks:
        if spec.visible:
            continue
        plan = kind_of(spec).plan(spec, np.random.default_rng(check_seed(assignment.id, spec.name, student,
                                                                        False, secret)))
        for arr in plan.arrays:
            flat = np.asarray(arr, dtype=np.float64).ravel()
            for x in flat[:per_array]:
                if np.isfinite(x) and abs(x - round(x)) > 1e-3:     # integers are too common to mean anything
                    out.add(f"{x:.5f}")
    return out


def assert_no_hidden_inputs(text: str, snippets: set[str]) -> None:
    leaked = sorted(s for s in snippets if s in text)
    assert not leaked, f"hidden input values in the student's results: {leaked[:5]}"
