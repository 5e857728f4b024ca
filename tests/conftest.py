"""Suite-wide settings: how ``make test`` spreads tests over cores (pytest-xdist).

Many test modules grade once in a module-scoped fixture (every mutant of an assignment, a
release, a trained model); split over two workers that fixture would run twice. So with
``--dist loadfile`` every test stays with its file, except the tests named in ``SPREAD``:
independent and long (one bundled assignment's validation each), each goes to whichever worker
is free. (A scheduler hook, because xdist 3.8's ``loadgroup`` marks no longer reach pytest 9's
node ids.) Without xdist, or with another ``--dist``, nothing changes.
"""
from __future__ import annotations

SPREAD = ("tests/authoring/test_validate_release.py::test_bundled_assignment_validates",)


def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class FileScheduling(LoadScopeScheduling):
        """``loadfile``, with each ``SPREAD`` test a scope of its own."""

        def _split_scope(self, nodeid: str) -> str:
            return nodeid if nodeid.startswith(SPREAD) else nodeid.split("::", 1)[0]

    return FileScheduling(config, log)
