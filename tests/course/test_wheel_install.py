"""The user's path: a wheel (not editable) in a fresh virtual environment, used from a course folder.

Offline and fast, without pip resolving anything:

* the wheel is built from a copy of the source tree (``pip wheel --no-deps --no-build-isolation``)
  and installed with ``pip --python VENV/bin/python install --no-deps`` into a fresh
  ``python -m venv --without-pip`` environment;
* dependencies are *copied* into the venv's site-packages from this interpreter's installed
  distributions (their RECORD file lists), the way ``pip install`` would have put them there. For
  the instructor venv only numpy is copied (the sandbox worker binds only the venv, so whatever
  student code imports must really live in it) and a ``.pth`` line appends this interpreter's
  site-packages for the grader process's other dependencies (otter, ...); a ``.pth`` line is a
  plain path, so the editable convgrade there is never installed. The light venv gets exactly the
  base dependencies' closure and nothing else: no torch, otter, dask, sklearn.

``PYTHONPATH`` is dropped from the environment of every command, so the repository is never on
the path: what runs is the wheel's ``convgrade`` console script.
"""
import importlib.metadata as md
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
REDTEAM = ROOT / "tests" / "redteam" / "assignment"
SOURCES = ("pyproject.toml", "setup.py", "README.md", "grader", "reference", "assignments")
HEAVY = ("torch", "otter", "dask", "distributed", "sklearn", "mlxtend", "scipy", "pandas", "ipykernel")

pytestmark = pytest.mark.slow


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CONVGRADE_COURSE",
                                                             "CONVGRADE_SECRET_FILE", "VIRTUAL_ENV")}
    env.update({"OMP_WAIT_POLICY": "PASSIVE", "CONVGRADE_SECRET": "wheel-test-secret", **extra})
    return {k: v for k, v in env.items() if v is not None}


def _run(cmd, cwd, timeout=240, **extra):
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=_env(**extra), capture_output=True,
                          text=True, timeout=timeout)


def _ok(r):
    assert r.returncode == 0, f"exit {r.returncode}\n--- stdout\n{r.stdout[-3000:]}\n--- stderr\n{r.stderr[-3000:]}"
    return r


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        p = ROOT / name
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(p, src / name)
    out = tmp_path_factory.mktemp("dist")
    _ok(_run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", out, src],
             cwd=src))
    (whl,) = out.glob("convgrade-*.whl")
    return whl


def _site(venv: Path) -> Path:
    return venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"


def _copy_distribution(name: str, site: Path) -> None:
    dist = md.distribution(name)
    for f in dist.files or ():
        if ".." in f.parts or "__pycache__" in f.parts:
            continue
        src = Path(dist.locate_file(f))
        if src.is_file():
            (site / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, site / f)


def _closure(requirements) -> set[str]:
    """Names of the installed distributions ``requirements`` need (extras' markers false)."""
    seen, todo = set(), list(requirements)
    while todo:
        req = Requirement(todo.pop())
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        key = req.name.lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        todo += md.distribution(req.name).requires or []
    return seen


def _venv(where: Path, whl: Path, copy: list[str], extra_site: bool) -> Path:
    _ok(_run([sys.executable, "-m", "venv", "--without-pip", where], cwd=where.parent))
    _ok(_run([sys.executable, "-m", "pip", "--python", where / "bin" / "python", "install", "-q",
              "--no-deps", "--no-index", whl], cwd=where.parent))
    site = _site(where)
    for name in copy:
        _copy_distribution(name, site)
    if extra_site:
        (site / "zz_shared_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return where


def test_instructor_path_from_a_course_folder_with_the_wheel(wheel, tmp_path):
    venv = _venv(tmp_path / "venv", wheel, ["numpy"], extra_site=True)
    cg = venv / "bin" / "convgrade"
    r = _ok(_run([venv / "bin" / "python", "-c", "import grader; print(grader.__file__)"], cwd=tmp_path))
    assert r.stdout.strip().startswith(str(_site(venv))), r.stdout
    # outside any course: the bundled examples, shipped inside the wheel
    r = _ok(_run([cg, "course"], cwd=tmp_path))
    assert "bundled" in r.stdout and "a2_convolution" in r.stdout and str(_site(venv)) in r.stdout
    r = _run([cg, "new", "a7_x"], cwd=tmp_path)
    assert r.returncode == 3 and "init-course" in r.stderr

    course = tmp_path / "my-course"
    (course / "assignments").mkdir(parents=True)
    (course / "convgrade.toml").write_text('name = "CNN 2026"\nlang = "ru"\nsecret_file = "private/secret"\n'
                                           '[lms.canvas]\ncourse_id = 42\n')
    env = {"CONVGRADE_SECRET": None}      # the course's secret file, not the environment's
    _ok(_run([cg, "new", "a7_x"], cwd=course, **env))
    master = course / "assignments" / "a7_x" / "master.ipynb"
    assert master.is_file()
    _ok(_run([cg, "validate", "a7_x"], cwd=course, **env))
    r = _ok(_run([cg, "release", "a7_x", "-o", "rel"], cwd=course, **env))
    assert (course / "rel").is_dir() and any((course / "rel").iterdir()), r.stdout

    from grader.authoring.examples import example_source    # the master's code as a .py
    sol = course / "alice.py"
    sol.write_text(example_source(course / "assignments" / "a7_x", "correct"))
    out = course / "alice.json"
    _ok(_run([cg, "grade", "a7_x", sol.name, "-o", out.name], cwd=course, **env))
    res = json.loads(out.read_text())
    assert res["score"] == res["max_score"] > 0
    if shutil.which("bwrap"):      # the sandbox found numpy in the venv it binds, nothing else
        assert res["convgrade"]["isolation"]["level"].startswith("bwrap"), res["convgrade"]["isolation"]
    assert (course / "private" / "secret").is_file()

    subs = course / "subs"
    subs.mkdir()
    shutil.copy2(sol, subs / "alice.py")
    (subs / "bob.py").write_text("import numpy as np\n")
    _ok(_run([cg, "grade-batch", "a7_x", "subs", "-o", "out"], cwd=course, **env))
    alice = json.loads((course / "out" / "alice" / "results.json").read_text())
    bob = json.loads((course / "out" / "bob" / "results.json").read_text())
    assert alice["score"] == alice["max_score"] and bob["score"] < bob["max_score"]

    if (course / "rel" / "assignment.toml").is_file():     # the student kit: check inside the release
        import nbformat

        from grader.authoring.notebook import fill_released, parse

        nb = next((course / "rel").glob("*.ipynb"))
        r = _run([cg, "check", nb.name], cwd=course / "rel", **env)      # the starter as released
        assert r.returncode == 1, r.stdout[-2000:]
        filled = fill_released(nbformat.read(str(nb), as_version=4), parse(master))
        nbformat.write(filled, str(course / "rel" / f"filled_{nb.name}"))
        _ok(_run([cg, "check", f"filled_{nb.name}"], cwd=course / "rel", **env))


def test_light_install_checks_a_numpy_assignment_without_heavy_packages(wheel, tmp_path):
    with zipfile.ZipFile(wheel) as z:
        meta = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    base = [line.split(":", 1)[1].strip() for line in meta.splitlines()
            if line.startswith("Requires-Dist:") and "extra ==" not in line]
    names = sorted(_closure(base))
    assert "torch" not in names and "otter-grader" not in names and "dask" not in names
    venv = _venv(tmp_path / "light", wheel, names, extra_site=False)
    py = venv / "bin" / "python"
    probe = "import importlib.util as u; print([m for m in %r if u.find_spec(m)])" % (HEAVY,)
    assert _ok(_run([py, "-c", probe], cwd=tmp_path)).stdout.strip() == "[]"
    hw = tmp_path / "hw"
    shutil.copytree(REDTEAM, hw)
    from grader.authoring.examples import example_source
    (hw / "mine.py").write_text(example_source("a2_convolution", "correct"))
    r = _ok(_run([venv / "bin" / "convgrade", "check", "mine.py"], cwd=hw))
    assert "visible checks pass" in r.stdout
    r = _ok(_run([venv / "bin" / "python", "-m", "grader", "check", hw, hw / "mine.py"], cwd=tmp_path))
    assert "visible checks pass" in r.stdout
    r = _ok(_run([venv / "bin" / "convgrade", "grade", ".", "mine.py"], cwd=hw))    # hidden checks too
    assert "Score: 6 / 6" in r.stdout
    r = _run([venv / "bin" / "convgrade", "selfcheck"], cwd=tmp_path)     # a torch feature: says which extra
    assert r.returncode == 3 and "convgrade[torch]" in r.stderr, r.stderr
