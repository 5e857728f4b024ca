"""Suite-wide settings: how ``make test`` spreads tests over cores (pytest-xdist).

Many test modules grade once in a module-scoped fixture (every mutant of an assignment, a
release, a trained model); split over two workers that fixture would run twice. So with
``--dist loadfile`` every test stays with its file, except the tests named in ``SPREAD``:
independent and long (one bundled assignment's validation each; the release path's tests, whose
only shared fixture is a session-scoped, lazily built release per assignment), each goes to
whichever worker is free. (A scheduler hook, because xdist 3.8's ``loadgroup`` marks no longer
reach pytest 9's node ids.)

The work units go out longest first (``HINTS``: rough seconds per test on a quiet machine, the
longest matching prefix wins; ``DEFAULT_S`` otherwise), so that the last unit a worker takes is a
short one and neither worker idles while the other finishes a long test. The hints only order
the queue: a wrong one costs balance, never a test. Without xdist, or with another ``--dist``,
nothing changes.
"""
from __future__ import annotations

import pytest

SPREAD = ("tests/authoring/test_validate_release.py::test_bundled_assignment_validates",
          "tests/kit/test_release_path.py::")

DEFAULT_S = 0.5
# seconds per test (measured with --durations, quiet machine, rounded); a file's entry is per test
# of the file, its "::" entries win over it
HINTS = {
    "tests/authoring/test_validate_release.py::test_bundled_assignment_validates[a6_training-master": 30.0,
    "tests/authoring/test_validate_release.py::test_bundled_assignment_validates[a6_training": 12.0,
    "tests/authoring/test_validate_release.py::test_bundled_assignment_validates[a5_architectures": 15.0,
    "tests/authoring/test_validate_release.py::test_bundled_assignment_validates": 6.0,
    "tests/kit/test_release_path.py::test_in_notebook_path_agrees_on_every_mutant[a5_architectures": 25.0,
    "tests/kit/test_release_path.py::test_in_notebook_path_agrees_on_every_mutant[a6_training": 15.0,
    "tests/kit/test_release_path.py::test_in_notebook_path_agrees_on_every_mutant": 8.0,
    "tests/kit/test_release_path.py::test_jupyter_agrees_with_convgrade_check[a5": 20.0,
    "tests/kit/test_release_path.py::test_jupyter_agrees_with_convgrade_check[a6": 18.0,
    "tests/kit/test_release_path.py::test_jupyter_agrees_with_convgrade_check": 8.0,
    "tests/kit/test_release_path.py::test_grade_batch_gives_full_marks[a6": 30.0,
    "tests/kit/test_release_path.py::test_grade_batch_gives_full_marks": 12.0,
    "tests/kit/test_release_path.py::test_convgrade_check_of_the_release_folder": 10.0,
    "tests/kit/test_release_path.py::test_grade_gives_full_marks": 6.0,
    "tests/kit/test_release_path.py": 2.0,
    "tests/milestones/test_a6_training.py": 3.0,
    "tests/milestones/test_milestone_sandbox.py": 8.0,
    "tests/assignments/test_a5.py": 8.0,
    "tests/assignments/test_a1.py": 2.0,
    "tests/assignments/test_a3_a4.py": 3.0,
    "tests/course/test_wheel_install.py": 15.0,
    "tests/serve/test_browser.py": 30.0,
    "tests/serve/test_load.py": 20.0,
    "tests/serve/test_serve.py": 10.0,
}
_BY_LENGTH = sorted(HINTS, key=len, reverse=True)


def hint(nodeid: str) -> float:
    """The expected seconds of one test (its longest matching ``HINTS`` prefix, else ``DEFAULT_S``)."""
    return next((HINTS[p] for p in _BY_LENGTH if nodeid.startswith(p)), DEFAULT_S)


def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class FileScheduling(LoadScopeScheduling):
        """``loadfile``, with each ``SPREAD`` test a scope of its own, the longest unit first."""

        def _split_scope(self, nodeid: str) -> str:
            return nodeid if nodeid.startswith(SPREAD) else nodeid.split("::", 1)[0]

        def _assign_work_unit(self, node) -> None:
            weights = getattr(self, "_weights", None)
            if weights is None:
                weights = self._weights = {}
                for scope, unit in self.workqueue.items():
                    weights[scope] = sum(hint(n) for n in unit)
            longest = max(self.workqueue, key=lambda s: weights.get(s, 0.0))
            self.workqueue.move_to_end(longest, last=False)
            super()._assign_work_unit(node)

    return FileScheduling(config, log)


_ENVIRONMENT_POOL_SIZE = None     # grader.sandbox.pool.env_pool_size as the package defines it


def pytest_configure(config):
    """Grading inside the test processes forks each submission's worker from a zygote kept per
    sandbox configuration (``grader.sandbox.pool.shared_pool``), as a batch worker and the server
    grade, instead of starting a one-shot pool per grade: each submission still gets a fresh
    process, and a torch assignment's tests pay for ``import torch`` once per test process instead of
    once per submission. Only this process: the CLIs the tests start (``convgrade grade``, ``check``)
    take their own one-shot path, and ``CONVGRADE_WARM_POOL`` in the environment still wins. A test
    of the one-shot path itself asks for the ``one_shot_pools`` fixture."""
    global _ENVIRONMENT_POOL_SIZE
    from grader.sandbox import pool

    _ENVIRONMENT_POOL_SIZE = environment_size = pool.env_pool_size
    pool.env_pool_size = lambda: environment_size() or 1


@pytest.fixture
def one_shot_pools(monkeypatch):
    """Grading in this test takes the path ``convgrade grade`` takes: a one-shot pool per grade
    (the CLI's early worker when there is one), no zygote kept afterwards."""
    from grader.sandbox import pool

    monkeypatch.setattr(pool, "env_pool_size", _ENVIRONMENT_POOL_SIZE)
