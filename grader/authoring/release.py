"""The student version of an assignment: ``convgrade release ASSIGNMENT -o DIR``.

What goes out::

    DIR/<notebook>.ipynb        otter assign's student notebook (solutions stripped), with an otter
                                init cell and a ``grader.check("<question>")`` cell per question
    DIR/tests/<question>.py     otter exception-based tests, one test case per visible check
    DIR/convgrade_public.py     the self-contained checker those tests call (numpy only)
    DIR/public_checks.json      visible checks: probe steps and expected answers for the public seed
    DIR/public_checks.npz       their arrays (inputs, parameters, expected outputs)
    DIR/README.md, README.ru.md how to check and what to submit (English, Russian)
    DIR/<[release] files>       extra files named in assignment.toml

The public tests are generated from ``checks.toml``'s visible checks: each check's plan (what the
grader's sandbox would run, seeded with the public seed) is replayed against the master solution
here, and the answers are stored as the expected values; in the notebook the same plan is replayed
against the student's names. Nothing else leaves: :func:`audit` proves the folder holds no
solution line, no hidden check, no reference code and no mutant, and :func:`release` refuses to
finish otherwise.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import types
from fractions import Fraction
from pathlib import Path

import nbformat
import numpy as np

from ..assignment import Assignment, load
from ..checks import kind_of
from ..checks.functions import call_text
from ..seeds import PUBLIC_STUDENT, check_seed
from . import public_checker
from .mutants import load_mutants
from .notebook import MASTER, MasterError, MasterNotebook, parse, starter_source

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "reference"
CHECKER_NAME = "convgrade_public.py"


class ReleaseError(ValueError):
    """The assignment cannot be released (the message says why)."""


# ----------------------------------------------------------------------------- public checks

def _master_env(source: str) -> dict:
    module = types.ModuleType("submission")
    exec(compile(source, "master_solution.py", "exec", dont_inherit=True), module.__dict__)
    return module.__dict__


def _json_value(value, key: str, npz: dict):
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        arr = np.asarray(value)
        if arr.ndim == 0 and arr.dtype.kind in "biuf":
            return arr.item()
        npz[key] = np.ascontiguousarray(arr)
        return {"$npz": key}
    if isinstance(value, Fraction):
        return {"$fraction": [value.numerator, value.denominator]}
    if isinstance(value, (list, tuple)):
        return [_json_value(v, f"{key}_{i}", npz) for i, v in enumerate(value)]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ReleaseError(f"cannot store a master answer of type {type(value).__name__} ({key})")


def _label(kind: str, key: str) -> str:
    if key in ("y", "v") or re.fullmatch(r"r\d+", key):
        return "output" if kind in ("forward", "backward") else "answer"
    if key == "dx":
        return "input gradient (dx)"
    if key.startswith("grad:"):
        return f"grads[{key[5:]!r}]"
    if key.startswith("has_"):
        return f"attribute `{key[4:]}`"
    if key.startswith("param:"):
        return f"parameter `{key[6:]}`"
    return key


def build_public_checks(a: Assignment, master: MasterNotebook) -> tuple[dict, dict[str, np.ndarray], dict[str, list[str]]]:
    """(metadata, arrays, {question: [check names]}) for the visible checks of ``a``."""
    env = _master_env(master.source)
    meta = {"assignment": a.id, "version": a.version, "checks": {}}
    npz: dict[str, np.ndarray] = {}
    by_question: dict[str, list[str]] = {}
    for i, spec in enumerate(c for c in a.checks if c.visible):
        q = master.question_of(spec.target) if spec.target else None
        if q is None:
            raise ReleaseError(f"visible check {spec.name!r}: its target {spec.target!r} is defined in no question "
                               f"of master.ipynb, so it cannot become a public test")
        kind = kind_of(spec)
        plan = kind.plan(spec, np.random.default_rng(check_seed(a.id, spec.name, PUBLIC_STUDENT, True)))
        values, error = public_checker.run_probe(env, plan.steps, plan.returns, plan.arrays)
        if error is not None:
            raise ReleaseError(f"visible check {spec.name!r}: the master solution raised {error}")
        arrays = []
        for j, arr in enumerate(plan.arrays):
            npz[f"c{i}_in{j}"] = np.ascontiguousarray(arr)
            arrays.append(f"c{i}_in{j}")
        case = plan.context.get("case")
        entry = {"kind": spec.kind, "question": q.name, "points": spec.points,
                 "case": case.describe() if hasattr(case, "describe") else f"`{spec.target}`",
                 "steps": plan.steps, "returns": plan.returns, "arrays": arrays, "expect": {}}
        rtol = public_checker.RTOL.get(getattr(case, "dtype", "float64"), 1e-6)
        if spec.kind in ("function", "value"):
            rtol, atol = float(spec.get("rtol", 1e-6)), float(spec.get("atol", 0.0))
        else:
            atol = 0.0
        if spec.kind == "gradient_consistency":
            ctx = plan.context
            npz[f"c{i}_g"] = np.asarray(case.grad_out, dtype=np.float64)
            fd = {"h": ctx["h"], "grad_out": f"c{i}_g", "dirs": [], "pdirs": []}
            for j, v in enumerate(ctx["dirs"]):
                npz[f"c{i}_d{j}"] = v
                fd["dirs"].append(f"c{i}_d{j}")
            for p, v in ctx["pdirs"]:
                npz[f"c{i}_p_{p}"] = v
                fd["pdirs"].append([p, f"c{i}_p_{p}"])
            entry["fd"] = fd
        calls = [call_text(spec.target, args, kwargs) for args, kwargs, _ in plan.context.get("cases", [])] \
            if spec.kind == "function" else []
        for key in plan.returns:
            if key not in values:
                raise ReleaseError(f"visible check {spec.name!r}: the master solution returned no {key!r}")
            value = values[key]
            if spec.kind == "shape" or key.startswith("param:"):
                entry["expect"][key] = {"mode": "shape", "value": list(np.shape(value)), "label": _label(spec.kind, key)}
            elif key.startswith("has_"):
                entry["expect"][key] = {"mode": "exact", "value": bool(value), "label": _label(spec.kind, key)}
            else:
                entry["expect"][key] = {"mode": "value", "value": _json_value(value, f"c{i}_out_{_safe(key)}", npz),
                                        "rtol": rtol, "atol": atol,
                                        "label": f"`{calls[int(key[1:])]}`" if calls else _label(spec.kind, key)}
        meta["checks"][spec.name] = entry
        by_question.setdefault(q.name, []).append(spec.name)
    return meta, npz, by_question


def _safe(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", key)


# ----------------------------------------------------------------------------- notebook

def _with_tests(master: MasterNotebook, by_question: dict[str, list[str]],
                points: dict[str, float]) -> nbformat.NotebookNode:
    """The master notebook with a generated TESTS block (one test per visible check) per question."""
    nb = nbformat.from_dict(json.loads(json.dumps(master.nb)))
    cells, current, qi = [], None, 0
    for cell in nb.cells:
        first = cell.source.strip().split("\n")[0] if cell.cell_type == "raw" and cell.source.strip() else ""
        if re.match(r"#\s*BEGIN\s+QUESTION", first, re.IGNORECASE):
            current, qi = master.questions[qi].name, qi + 1
        elif re.match(r"#\s*END\s+QUESTION", first, re.IGNORECASE) and current:
            names = by_question.get(current, [])
            if names:
                cells.append(nbformat.v4.new_raw_cell("# BEGIN TESTS"))
                for j, name in enumerate(names):
                    cells.append(nbformat.v4.new_code_cell(
                        f'""" # BEGIN TEST CONFIG\npoints: {points[name]:g}\n""" # END TEST CONFIG\n'
                        f"def test_{_safe(current)}_{j}(env):\n"
                        f"    import sys\n"
                        f"    if '' not in sys.path:  # the notebook's folder, as in a Jupyter kernel\n"
                        f"        sys.path.insert(0, '')\n"
                        f"    import convgrade_public\n"
                        f"    convgrade_public.run_check(env, {name!r})"))
                cells.append(nbformat.v4.new_raw_cell("# END TESTS"))
            current = None
        cells.append(cell)
    nb.cells = cells
    return nb


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
        raise ReleaseError(f"otter assign failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    return student


# ----------------------------------------------------------------------------- README

def _readme(a: Assignment, nb_name: str, questions: list[str], lang: str) -> str:
    forbidden = ", ".join(f"`{m}`" for m in a.forbidden_imports) or "—"
    due = a.due.isoformat(timespec="minutes") if a.due else None
    qs = ", ".join(f"`{q}`" for q in questions)
    if lang == "ru":
        lines = [f"# {a.title_ru}", "",
                 f"Задание `{a.id}`, {a.max_score:g} баллов" + (f", срок сдачи {due}." if due else "."), "",
                 "## Что в папке", "",
                 f"- `{nb_name}` — тетрадка с заданием: допишите код там, где стоит `...`;",
                 "- `tests/`, `convgrade_public.py`, `public_checks.*` — открытые проверки (не меняйте их).", "",
                 "## Как проверить себя", "",
                 f"1. В тетрадке после каждого вопроса ({qs}) есть ячейка `grader.check(\"...\")`: она запускает "
                 "открытые проверки этого вопроса на вашем коде (нужен пакет `otter-grader`).",
                 f"2. Подробный отзыв с вероятной причиной ошибки: `convgrade check {a.id} {nb_name}` "
                 "(код выхода 0, только если все открытые проверки пройдены).", "",
                 "Открытые проверки — лишь часть оценки: скрытые проверки запускает преподаватель на других "
                 "входных данных (свои для каждого студента), поэтому пишите общий код, а не подгоняйте ответ.", "",
                 "## Что сдавать", "",
                 f"Один файл — `{nb_name}` (или `.py` с тем же кодом). Ячейки, начинающиеся с "
                 "`# convgrade: skip`, не оцениваются; код на верхнем уровне выполняется при импорте, "
                 "поэтому демонстрации и графики держите в таких ячейках.",
                 f"Запрещённые импорты: {forbidden}."]
    else:
        lines = [f"# {a.title}", "",
                 f"Assignment `{a.id}`, {a.max_score:g} points" + (f", due {due}." if due else "."), "",
                 "## What is here", "",
                 f"- `{nb_name}`: the assignment notebook; write your code where it says `...`;",
                 "- `tests/`, `convgrade_public.py`, `public_checks.*`: the public checks (do not edit them).", "",
                 "## How to check your work", "",
                 f"1. After each question ({qs}) the notebook has a `grader.check(\"...\")` cell: it runs that "
                 "question's public checks on your code (needs the `otter-grader` package).",
                 f"2. Detailed feedback naming the likely mistake: `convgrade check {a.id} {nb_name}` "
                 "(exit code 0 only when every public check passes).", "",
                 "The public checks are only part of the grade: hidden checks run when your instructor grades, "
                 "on other inputs (different for every student), so write general code rather than fitting "
                 "the answers.", "",
                 "## What to submit", "",
                 f"One file: `{nb_name}` (or a `.py` with the same code). Cells that start with "
                 "`# convgrade: skip` are not graded; top-level code runs on import, so keep demos and plots "
                 "in such cells.",
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


def audit(a: Assignment, folder: Path) -> list[str]:
    """Leaks in a release folder: solution lines, hidden checks, reference code, mutants."""
    folder = Path(folder)
    master = parse(a.path / MASTER)
    starter = starter_source(master)
    checker = (Path(public_checker.__file__)).read_text(encoding="utf-8")
    allowed = {l.strip() for l in (starter + "\n" + checker).split("\n")}
    texts = {}
    problems = []
    for p in sorted(folder.rglob("*")):
        if not p.is_file():
            continue
        rel = p.relative_to(folder).as_posix()
        if p.name in ("checks.toml", "mutants.toml", MASTER, "assignment.toml") or "mutant" in p.name.lower():
            problems.append(f"{rel}: an instructor file")
        if p.suffix == ".npz":
            continue
        try:
            texts[rel] = p.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            problems.append(f"{rel}: an unexpected binary file")
    if problems:
        return problems

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
    meta, npz, by_question = build_public_checks(a, master)
    nb_name = notebook_name(a, master)
    with tempfile.TemporaryDirectory(prefix="convgrade-release-") as tmp:
        student = _otter_assign(_with_tests(master, by_question, {c.name: c.points for c in a.checks}), Path(tmp))
        out.mkdir(parents=True, exist_ok=True)
        nb = nbformat.read(str(student / MASTER), as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code" and f'otter.Notebook("{MASTER}")' in cell.source:
                cell.source = cell.source.replace(f'otter.Notebook("{MASTER}")', f'otter.Notebook("{nb_name}")')
        nbformat.write(nb, str(out / nb_name))
        if (student / "tests").is_dir():
            shutil.copytree(student / "tests", out / "tests")
    shutil.copyfile(public_checker.__file__, out / CHECKER_NAME)
    (out / public_checker.DATA_JSON).write_text(json.dumps(meta, indent=1, ensure_ascii=False), encoding="utf-8")
    np.savez_compressed(out / public_checker.DATA_NPZ, **npz)
    questions = [q.name for q in master.questions]
    (out / "README.md").write_text(_readme(a, nb_name, questions, "en"), encoding="utf-8")
    (out / "README.ru.md").write_text(_readme(a, nb_name, questions, "ru"), encoding="utf-8")
    for name in a.manifest.get("release", {}).get("files", []):
        src = (a.path / name).resolve()
        if not src.is_file() or a.path.resolve() not in src.parents:
            raise ReleaseError(f"[release] files: {name!r} is not a file inside {a.path}")
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, out / name)
    leaks = audit(a, out)
    if leaks:
        shutil.rmtree(out)
        raise ReleaseError("the release would leak (removed):\n" + "\n".join(leaks[:20]))
    return sorted(p for p in out.rglob("*") if p.is_file())
