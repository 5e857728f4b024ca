"""The student version of an assignment: ``convgrade release ASSIGNMENT -o DIR``.

What goes out (everything public; see :func:`audit`)::

    DIR/<notebook>.ipynb        otter assign's student notebook (solutions stripped), with otter's
                                init cell and a ``grader.check("<question>")`` cell per question
    DIR/tests/<question>.py     otter exception-based tests, one test case per visible check; each
                                calls ``grader.kit.check_in_notebook`` of the installed convgrade
    DIR/assignment.toml         the public manifest: the instructor's minus what is instructor-only
                                (total points, [release], [demo], comments)
    DIR/checks.toml             the visible checks only, as data
    DIR/README.md, README.ru.md how to install, check and submit (English, Russian)
    DIR/<[release] files>       extra files named in assignment.toml

A release folder is an assignment folder with only public checks: ``convgrade check DIR nb.ipynb``
grades its visible checks with the engine's own kinds, judge and diagnoses, and the notebook's
``grader.check`` cells run the very same code in the kernel (``grader.kit``), so the two always
give the same verdict. Nothing else leaves: :func:`audit` proves the folder holds no solution
line, no hidden check, no reference code and no mutant, and :func:`release` refuses to finish
otherwise.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from importlib import metadata
from pathlib import Path

import nbformat
import numpy as np
import yaml

from .. import __version__
from ..assignment import Assignment, load
from ..checks import kind_of
from ..seeds import PUBLIC_STUDENT, check_seed
from .mutants import load_mutants
from .notebook import _CONFIG, MASTER, MasterError, MasterNotebook, Question, parse, starter_source
from .toml_out import dumps as toml_dumps

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "reference"
# manifest tables a student's copy keeps: what `convgrade check` needs to run the visible checks
PUBLIC_MANIFEST_KEYS = ("id", "title", "title_ru", "langs", "lang", "due", "late", "imports", "limits", "training",
                       "submission", "convgrade")
PUBLIC_FILES = ("assignment.toml", "checks.toml")
# the otter assign settings a release needs, whatever the master's ASSIGNMENT CONFIG says: an init
# cell (grader = otter.Notebook(...)) for the grader.check cells, test files under tests/, and no
# autograder run or zip (otter's own grading is not used; convgrade grades)
OTTER_CONFIG = {"init_cell": True, "check_all_cell": False, "export_cell": False, "run_tests": False,
                "generate": False, "solutions_pdf": False, "tests": {"files": True, "ok_format": False}}


class ReleaseError(ValueError):
    """The assignment cannot be released (the message says why)."""


# ----------------------------------------------------------------------------- public files

def _names_used(spec, plan) -> set[str]:
    """Top-level names of the student's module a check's probe reaches (call/get/hasattr/set
    heads and $ref heads that no earlier step bound)."""
    names, bound = set(), set()
    if spec.target:
        names.add(spec.target.split(".")[0])

    def walk(value):
        if isinstance(value, dict):
            if len(value) == 1 and "$ref" in value and isinstance(value["$ref"], str):
                head = value["$ref"].split(".")[0]
                if head not in bound:
                    names.add(head)
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for step in plan.steps:
        for key in ("call", "get", "hasattr", "set"):
            if isinstance(step.get(key), str):
                head = step[key].split(".")[0]
                if head not in bound:
                    names.add(head)
        walk([step.get("args"), step.get("kwargs"), step.get("value")])
        if step.get("let"):
            bound.add(step["let"])
    return names


def question_of_check(a: Assignment, master: MasterNotebook, spec) -> Question:
    """The question after which a visible check runs in the notebook: the last question defining a
    name its probe uses (its target, or for a check without one, e.g. ``initial_loss``, the
    functions its steps call), so that everything it needs is defined when its cell runs."""
    plan = kind_of(spec).plan(spec, np.random.default_rng(check_seed(a.id, spec.name, PUBLIC_STUDENT, True)))
    used = _names_used(spec, plan)
    hits = [q for q in master.questions if q.defined_names() & used]
    if not hits:
        raise ReleaseError(f"visible check {spec.name!r}: no question of master.ipynb defines what it uses "
                           f"({', '.join(sorted(used)) or 'nothing'}), so it cannot become a public test")
    return hits[-1]


def checks_by_question(a: Assignment, master: MasterNotebook) -> dict[str, list[str]]:
    """{question: [visible check names]} in checks.toml order."""
    by_question: dict[str, list[str]] = {}
    for spec in a.checks:
        if spec.visible:
            by_question.setdefault(question_of_check(a, master, spec).name, []).append(spec.name)
    return by_question


def public_manifest(a: Assignment) -> str:
    """The release's assignment.toml: the manifest's public tables, written from data (no comments),
    ``lang``: the course's language when it was released (``convgrade check`` and the
    notebook's checks speak it, ``grader.kit.kit_lang``), and ``[imports] installed``: the
    third-party packages of the releasing environment (``convgrade check`` notes an import of any
    other, which would fail where the assignment is graded)."""
    from grader.i18n import default_lang

    from grader.static import installed_modules

    doc = {k: a.manifest[k] for k in PUBLIC_MANIFEST_KEYS if k in a.manifest}
    doc.setdefault("lang", default_lang())
    # what a submission can import where this is released (and graded): `convgrade check` notes others
    doc["convgrade"] = __version__        # the version whose checks these are (`convgrade check` compares)
    doc["imports"] = {**doc.get("imports", {}), "installed": installed_modules(
        a.forbidden_imports + ([] if a.allow_torch else ["torch"]))}
    return toml_dumps(doc, header=f"# {a.id}, released for students: the public part of the manifest.\n"
                                  "# `convgrade check` in this folder runs the visible checks of checks.toml.")


def _raw_checks(a: Assignment) -> list[dict]:
    path = a.path / "checks.toml"
    return tomllib.loads(path.read_text(encoding="utf-8")).get("check", []) if path.is_file() else []


def public_checks(a: Assignment) -> str:
    """The release's checks.toml: the visible checks, as data (hidden ones and comments stay home)."""
    visible = [dict(c) for c in _raw_checks(a) if c.get("visibility", "hidden") == "visible"]
    return toml_dumps({"check": visible}, header=f"# The visible checks of {a.id}: the inputs are public (the "
                                                 "same for everyone).\n# Hidden checks run when you are graded, "
                                                 "on other inputs.")


# ----------------------------------------------------------------------------- notebook

def _test_cell(a: Assignment, question: str, j: int, name: str, points: float) -> str:
    """One otter test case: the visible check ``name`` judged by the installed convgrade."""
    return (f'""" # BEGIN TEST CONFIG\npoints: {points:g}\n""" # END TEST CONFIG\n'
            f"def test_{_safe(question)}_{j}(env):\n"
            f"    try:\n"
            f"        from grader.kit import check_in_notebook\n"
            f"    except ImportError:\n"
            f"        raise AssertionError('the public checks need convgrade: pip install convgrade') from None\n"
            f"    check_in_notebook(env, {name!r}, assignment={a.id!r})")


def _with_tests(a: Assignment, master: MasterNotebook, by_question: dict[str, list[str]]) -> nbformat.NotebookNode:
    """The master notebook with the release's otter settings and a generated TESTS block (one test
    per visible check) per question."""
    points = {c.name: c.points for c in a.checks}
    nb = nbformat.from_dict(json.loads(json.dumps(master.nb)))
    cells, current, qi, configured = [], None, 0, False
    for cell in nb.cells:
        first = cell.source.strip().split("\n")[0] if cell.cell_type == "raw" and cell.source.strip() else ""
        if cell.cell_type == "raw" and _CONFIG.match(first):
            config = yaml.safe_load(cell.source.split("\n", 1)[1] if "\n" in cell.source else "") or {}
            cell.source = "# ASSIGNMENT CONFIG\n" + yaml.safe_dump({**config, **OTTER_CONFIG}, sort_keys=False)
            configured = True
        elif re.match(r"#\s*BEGIN\s+QUESTION", first, re.IGNORECASE):
            current, qi = master.questions[qi].name, qi + 1
        elif re.match(r"#\s*END\s+QUESTION", first, re.IGNORECASE) and current:
            names = by_question.get(current, [])
            if names:
                cells.append(nbformat.v4.new_raw_cell("# BEGIN TESTS"))
                cells += [nbformat.v4.new_code_cell(_test_cell(a, current, j, name, points[name]))
                          for j, name in enumerate(names)]
                cells.append(nbformat.v4.new_raw_cell("# END TESTS"))
            current = None
        cells.append(cell)
    if not configured:
        cells.insert(0, nbformat.v4.new_raw_cell("# ASSIGNMENT CONFIG\n" + yaml.safe_dump(OTTER_CONFIG, sort_keys=False)))
    nb.cells = cells
    return nb


def _safe(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", key)


def notebook_name(a: Assignment, master: MasterNotebook) -> str:
    for name in a.preferred_names:
        if name.endswith(".ipynb"):
            return name
    return f"{master.config.get('name') or a.id}.ipynb"


def _otter_assign(nb: nbformat.NotebookNode, work: Path) -> Path:
    """Run otter assign on ``nb``; return its student folder."""
    src = work / MASTER
    nb.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3", "language": "python"})
    nb.metadata.setdefault("language_info", {"name": "python"})
    nbformat.write(nb, str(src))
    out = work / "otter"
    proc = subprocess.run([sys.executable, "-c", "from otter.cli import cli; cli()", "assign", "--no-pdfs",
                           str(src), str(out)], capture_output=True, text=True, cwd=work, timeout=300)
    student = out / "student"
    if proc.returncode != 0 or not student.is_dir():
        if "No module named 'otter'" in proc.stderr:
            raise ReleaseError("release needs otter-grader, which is not installed: "
                               "pip install 'convgrade[instructor]'")
        raise ReleaseError(f"otter assign failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    return student


# ----------------------------------------------------------------------------- README

def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _readme(a: Assignment, nb_name: str, questions: list[str], lang: str) -> str:
    forbidden = ", ".join(f"`{m}`" for m in a.forbidden_imports) or "—"
    due = a.due.isoformat(timespec="minutes") if a.due else None
    qs = ", ".join(f"`{q}`" for q in questions)
    numpy_v, torch_v = _version("numpy") or np.__version__, _version("torch")
    install = f"pip install 'convgrade[torch]=={__version__}'" if a.allow_torch else f"pip install convgrade=={__version__}"
    runs = f"numpy {numpy_v}" + (f", torch {torch_v}" if a.allow_torch and torch_v else "")
    if lang == "ru":
        lines = [f"# {a.title_ru}", "",
                 f"Задание `{a.id}`, {a.max_score:g} баллов" + (f", срок сдачи {due}." if due else "."), "",
                 "## Что в папке", "",
                 f"- `{nb_name}` — тетрадка с заданием: допишите код там, где стоит `...`;",
                 "- `assignment.toml`, `checks.toml` — открытые проверки задания (как данные);",
                 "- `tests/` — тесты ячеек `grader.check` тетрадки.", "",
                 "Всё это публично; не меняйте эти файлы. Больше ничего, кроме пакета convgrade, не нужно.", "",
                 "## Установка", "",
                 "```", install + ("   # задание на PyTorch" if a.allow_torch else ""),
                 "pip install otter-grader      # для ячеек grader.check в Jupyter", "```", "",
                 f"Проверяющий запускает ваш код с {runs}; берите " + ("те же версии." if a.allow_torch else "ту же версию."), "",
                 "## Как проверить себя", "",
                 f"1. В терминале, в этой папке: `convgrade check {nb_name}` (или `convgrade check . {nb_name}`; из другой папки: "
                 f"`convgrade check ПУТЬ/К/ЭТОЙ/ПАПКЕ {nb_name}`). Все открытые проверки с подробным отзывом "
                 "и вероятной причиной ошибки; код выхода 0, только если все пройдены.",
                 f"2. В Jupyter: после каждого вопроса ({qs}) есть ячейка `grader.check(\"...\")`. Она запускает "
                 "открытые проверки этого вопроса на коде тетрадки — тем же кодом convgrade, с тем же вердиктом "
                 "и отзывом, что и `convgrade check` (поэтому ей тоже нужен установленный convgrade). "
                 "Выполняйте тетрадку сверху вниз.", "",
                 "Открытые проверки — лишь часть оценки: скрытые проверки запускает преподаватель на других "
                 "входных данных (свои для каждого студента), поэтому пишите общий код, а не подгоняйте ответ.", "",
                 "## Что сдавать", "",
                 f"Один файл — `{nb_name}` (или `.py` с тем же кодом). Ячейки otter (`grader = otter.Notebook(...)`, "
                 "`grader.check(...)`) и ячейки, начинающиеся с `# convgrade: skip`, не оцениваются; остальной код "
                 "на верхнем уровне выполняется при импорте, поэтому демонстрации и графики держите в ячейках "
                 "`# convgrade: skip`.",
                 f"Запрещённые импорты: {forbidden}."]
    else:
        lines = [f"# {a.title}", "",
                 f"Assignment `{a.id}`, {a.max_score:g} points" + (f", due {due}." if due else "."), "",
                 "## What is here", "",
                 f"- `{nb_name}`: the assignment notebook; write your code where it says `...`;",
                 "- `assignment.toml`, `checks.toml`: the assignment's public checks, as data;",
                 "- `tests/`: the tests of the notebook's `grader.check` cells.", "",
                 "All of it is public; do not edit these files. Nothing else is needed besides the convgrade "
                 "package.", "",
                 "## Install", "",
                 "```", install + ("   # a PyTorch assignment" if a.allow_torch else ""),
                 "pip install otter-grader      # for the grader.check cells in Jupyter", "```", "",
                 f"The grader runs your code with {runs}; use the same version" + ("s" if a.allow_torch else "") + ".", "",
                 "## How to check your work", "",
                 f"1. In a terminal, in this folder: `convgrade check {nb_name}` (or `convgrade check . {nb_name}`; from elsewhere: "
                 f"`convgrade check PATH/TO/THIS/FOLDER {nb_name}`). Every public check, with detailed feedback "
                 "naming the likely mistake; exit code 0 only when all pass.",
                 f"2. In Jupyter: after each question ({qs}) the notebook has a `grader.check(\"...\")` cell. It "
                 "runs that question's public checks on the notebook's code with convgrade's own code, so its "
                 "verdict and feedback are those of `convgrade check` (and it needs convgrade installed too). "
                 "Run the notebook top to bottom.", "",
                 "The public checks are only part of the grade: hidden checks run when your instructor grades, "
                 "on other inputs (different for every student), so write general code rather than fitting "
                 "the answers.", "",
                 "## What to submit", "",
                 f"One file: `{nb_name}` (or a `.py` with the same code). Otter's cells (`grader = "
                 "otter.Notebook(...)`, `grader.check(...)`) and cells that start with `# convgrade: skip` are "
                 "not graded; other top-level code runs on import, so keep demos and plots in "
                 "`# convgrade: skip` cells.",
                 f"Forbidden imports: {forbidden}."]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- audit

def _distinctive(lines, min_len: int, exclude: set[str]) -> set[str]:
    out = set()
    for line in lines:
        s = line.strip()
        if len(s) >= min_len and s not in exclude and not s.startswith(("#", '"""', "'''")):
            out.add(s)
    return out


def _audit_public_files(a: Assignment, folder: Path) -> list[str]:
    """The public assignment.toml and checks.toml hold only what they may: the public manifest
    tables and, check for check, the instructor's visible checks."""
    problems = []
    try:
        manifest = tomllib.loads((folder / "assignment.toml").read_text(encoding="utf-8"))
        checks = tomllib.loads((folder / "checks.toml").read_text(encoding="utf-8")).get("check", [])
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return [f"assignment.toml/checks.toml: missing or unreadable ({exc})"]
    extra = sorted(set(manifest) - set(PUBLIC_MANIFEST_KEYS))
    if extra:
        problems.append(f"assignment.toml: instructor-only keys {extra}")
    if manifest.get("id") != a.id:
        problems.append(f"assignment.toml: id {manifest.get('id')!r} is not {a.id!r}")
    visible = {c["name"]: c for c in _raw_checks(a) if c.get("visibility", "hidden") == "visible"}
    for c in checks:
        name = c.get("name") if isinstance(c, dict) else None
        if name not in visible:
            problems.append(f"checks.toml: check {name!r} is not a visible check of {a.id}")
        elif c != visible[name]:
            problems.append(f"checks.toml: check {name!r} differs from the instructor's")
    return problems


def audit(a: Assignment, folder: Path) -> list[str]:
    """Leaks in a release folder: solution lines, hidden checks, reference code, mutants, and
    anything but the public manifest and the visible checks in assignment.toml / checks.toml."""
    folder = Path(folder)
    master = parse(a.path / MASTER)
    allowed = {l.strip() for l in starter_source(master).split("\n")}
    texts = {}
    problems = []
    for p in sorted(folder.rglob("*")):
        if not p.is_file():
            continue
        rel = p.relative_to(folder).as_posix()
        public = rel in PUBLIC_FILES
        if not public and (p.name in ("checks.toml", "mutants.toml", MASTER, "assignment.toml", "exam.toml")
                           or "mutant" in p.name.lower()):
            problems.append(f"{rel}: an instructor file")
        try:
            texts[rel] = p.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            problems.append(f"{rel}: an unexpected binary file")
    if problems:
        return problems
    if all(name in texts for name in PUBLIC_FILES):
        problems += _audit_public_files(a, folder)

    lines = {}
    for rel, text in texts.items():
        if rel.endswith(".ipynb"):
            text = "\n".join(c.source for c in nbformat.reads(text, as_version=4).cells)
        lines[rel] = {line.strip() for line in text.split("\n")}

    def find(needle: str):      # a whole code line, as it would appear in a file
        return [rel for rel, have in lines.items() if needle in have]

    for line in sorted(_distinctive(master.source.split("\n"), 12, allowed)):
        for rel in find(line):
            problems.append(f"{rel}: holds solution text {line[:60]!r}")
    for spec in a.checks:
        if not spec.visible:
            for rel in (r for r, text in texts.items() if spec.name in text):
                problems.append(f"{rel}: names hidden check {spec.name!r}")
    ref_lines = set()
    for p in REFERENCE_DIR.rglob("*.py"):
        ref_lines |= _distinctive(p.read_text(encoding="utf-8").split("\n"), 30, allowed)
    for line in sorted(ref_lines):
        for rel in find(line):
            problems.append(f"{rel}: holds reference code {line[:60]!r}")
    for m in load_mutants(a.path):
        for rel in (r for r, text in texts.items() if re.search(rf"\b{re.escape(m.name)}\b", text)):
            problems.append(f"{rel}: names mutant {m.name!r}")
        for _, new in m.replace:
            for line in _distinctive(new.split("\n"), 12, allowed):
                for rel in find(line):
                    problems.append(f"{rel}: holds mutant {m.name!r} text {line[:60]!r}")
    return problems


# ----------------------------------------------------------------------------- release

def release(assignment: str | Path | Assignment, out_dir: str | Path, *, verify: bool = True) -> list[Path]:
    """Write the student release of ``assignment`` into ``out_dir``; return the files written."""
    a = assignment if isinstance(assignment, Assignment) else load(assignment)
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise ReleaseError(f"{out} exists and is not empty")
    try:
        master = parse(a.path / MASTER)
    except MasterError as exc:
        raise ReleaseError(str(exc)) from None
    if verify:
        from ..grade import grade_submission

        with tempfile.TemporaryDirectory(prefix="convgrade-release-") as tmp:
            path = Path(tmp) / "master.py"
            path.write_text(master.source, encoding="utf-8")
            res = grade_submission(a, path, student=PUBLIC_STUDENT, visibility="visible")
        if res["score"] < res["max_score"] - 1e-9:
            failed = [t["name"] for t in res["tests"] if t["status"] != "passed"]
            raise ReleaseError(f"the master solution fails visible checks {failed}: run convgrade validate")
    by_question = checks_by_question(a, master)
    nb_name = notebook_name(a, master)
    extra_files = list(a.manifest.get("release", {}).get("files", []))
    for name in extra_files:
        src = (a.path / name).resolve()
        if not src.is_file() or a.path.resolve() not in src.parents:
            raise ReleaseError(f"[release] files: {name!r} is not a file inside {a.path}")
        if Path(name).as_posix() in (*PUBLIC_FILES, nb_name, "README.md", "README.ru.md") or Path(name).parts[0] == "tests":
            raise ReleaseError(f"[release] files: {name!r} would replace a file the release writes")
    with tempfile.TemporaryDirectory(prefix="convgrade-release-") as tmp:
        student = _otter_assign(_with_tests(a, master, by_question), Path(tmp))
        out.mkdir(parents=True, exist_ok=True)
        nb = nbformat.read(str(student / MASTER), as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code" and f'otter.Notebook("{MASTER}")' in cell.source:
                cell.source = cell.source.replace(f'otter.Notebook("{MASTER}")', f'otter.Notebook("{nb_name}")')
        nbformat.write(nb, str(out / nb_name))
        if (student / "tests").is_dir():
            shutil.copytree(student / "tests", out / "tests")
    (out / "assignment.toml").write_text(public_manifest(a), encoding="utf-8")
    (out / "checks.toml").write_text(public_checks(a), encoding="utf-8")
    questions = [q.name for q in master.questions]
    (out / "README.md").write_text(_readme(a, nb_name, questions, "en"), encoding="utf-8")
    (out / "README.ru.md").write_text(_readme(a, nb_name, questions, "ru"), encoding="utf-8")
    for name in extra_files:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(a.path / name, out / name)
    leaks = audit(a, out)
    problems = leaks + _released_notebook_problems(out / nb_name, by_question, out)
    if problems:
        shutil.rmtree(out)
        raise ReleaseError("the release is not fit to go out (removed):\n" + "\n".join(problems[:20]))
    return sorted(p for p in out.rglob("*") if p.is_file())


def _released_notebook_problems(path: Path, by_question: dict[str, list[str]], out: Path) -> list[str]:
    """What makes a released notebook unusable in Jupyter: no otter init cell while it has
    grader.check cells, or a grader.check of a question with no test file."""
    nb = nbformat.read(str(path), as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    checked = re.findall(r'grader\.check\(\s*"([^"]+)"', "\n".join(code))
    problems = []
    if checked and not any("otter.Notebook(" in c for c in code):
        problems.append(f"{path.name}: grader.check cells but no otter init cell")
    for q in checked:
        if not (out / "tests" / f"{q}.py").is_file():
            problems.append(f"{path.name}: grader.check({q!r}) has no tests/{q}.py")
    missing = sorted(set(by_question) - set(checked))
    if missing:
        problems.append(f"{path.name}: no grader.check cell for questions {missing}")
    return problems
