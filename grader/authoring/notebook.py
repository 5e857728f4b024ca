"""The master notebook (otter-grader assign format, v1) and the two sources derived from it.

Format (what otter assign reads)::

    raw   "# ASSIGNMENT CONFIG" + YAML       (otter's config: name, init_cell, ...)
    raw   "# BEGIN QUESTION" + YAML (name: conv2d, points: ...)
      markdown                               the question text
      raw "# BEGIN SOLUTION"                 cells graded as the student's answer
        code  ... "# BEGIN SOLUTION" / "# END SOLUTION" lines or "x = 1  # SOLUTION" inside
      raw "# END SOLUTION"
      raw "# BEGIN TESTS" ... "# END TESTS"  (optional; public tests are generated at release)
    raw   "# END QUESTION"

* the **master solution** (what validation grades and mutants edit) is every code cell outside
  config/test blocks, in order, with otter's marker lines removed (``# BEGIN/END SOLUTION``,
  ``# BEGIN/END PROMPT`` with the prompt lines between them, ``# SOLUTION`` line suffixes
  stripped, ``# SEED``/``# IGNORE`` lines dropped); cells starting with ``# convgrade: skip`` are
  left out, as they are in students' notebooks;
* the **starter** is what otter assign gives students: each solution code cell passed through
  otter's own ``replace_solutions``.
"""
from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml


from ..submission import PARSE_LOCK, is_otter_cell   # one rule for otter's cells: the loader's

MASTER = "master.ipynb"
SKIP_MARK = re.compile(r"^\s*#\s*convgrade\s*:\s*skip\b", re.IGNORECASE)
_BLOCK = re.compile(r"^\s*#\s*(BEGIN|END)\s+(QUESTION|SOLUTION|TESTS|PROMPT)\b", re.IGNORECASE)
_CONFIG = re.compile(r"^\s*#\s*ASSIGNMENT\s+CONFIG\b", re.IGNORECASE)
_SOLUTION_SUFFIX = re.compile(r"\s*#\s?SOLUTION\s*$")


class MasterError(ValueError):
    """The master notebook is malformed (an instructor's error)."""


@dataclass
class Question:
    name: str
    config: dict
    cells: list[str] = field(default_factory=list)          # master code (markers removed)
    solution_cells: list[str] = field(default_factory=list)  # raw source of solution-block code cells

    def defined_names(self) -> set[str]:
        """Top-level names (functions, classes, variables) the question's code defines."""
        names = set()
        for src in self.cells:
            try:
                with PARSE_LOCK:
                    tree = ast.parse(src)
            except SyntaxError:
                continue
            names |= top_level_names(tree)
        return names


def top_level_names(tree: ast.Module) -> set[str]:
    """Names a module's top level defines: functions, classes and plainly assigned variables."""
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


@dataclass
class MasterNotebook:
    path: Path
    nb: nbformat.NotebookNode
    config: dict
    questions: list[Question]
    code_cells: list[str]                   # master code cells, markers removed, in order

    @property
    def source(self) -> str:
        return "\n\n".join(c.rstrip("\n") for c in self.code_cells if c.strip()) + "\n"

    def question_of(self, target: str) -> Question | None:
        """The question whose code defines ``target`` (a check's target: class, function, variable)."""
        head = target.split(".")[0]
        for q in self.questions:
            if head in q.defined_names():
                return q
        return None


def _lines(cell) -> list[str]:
    return cell.source.split("\n") if isinstance(cell.source, str) else "".join(cell.source).split("\n")


def _first_line(cell) -> str:
    for line in _lines(cell):
        if line.strip():
            return line
    return ""


def strip_markers(source: str) -> str:
    """Master code of one cell: otter's markers removed, prompt blocks dropped, solutions kept."""
    out, in_prompt = [], False
    for line in source.split("\n"):
        s = line.strip()
        if re.match(r"#\s*BEGIN\s+PROMPT\b", s):
            in_prompt = True
            continue
        if re.match(r"#\s*END\s+PROMPT\b", s):
            in_prompt = False
            continue
        if in_prompt:
            continue
        if re.match(r"#\s*(BEGIN|END)\s+SOLUTION\b", s) or s.endswith("# SEED") or s.endswith("# IGNORE"):
            continue
        line = re.sub(r"\s*#\s?SOLUTION NO PROMPT\s*$", "", line)
        out.append(_SOLUTION_SUFFIX.sub("", line))
    if in_prompt:
        raise MasterError("a # BEGIN PROMPT block has no # END PROMPT")
    return "\n".join(out)


def parse(path: str | Path) -> MasterNotebook:
    """Read a master notebook and check its block structure."""
    path = Path(path)
    if path.is_dir():
        path = path / MASTER
    if not path.is_file():
        raise MasterError(f"no master notebook at {path}")
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as exc:
        raise MasterError(f"{path}: not a readable notebook: {exc}") from None
    config: dict = {}
    questions: list[Question] = []
    code_cells: list[str] = []
    stack: list[str] = []
    for i, cell in enumerate(nb.cells, 1):
        first = _first_line(cell)
        if cell.cell_type == "raw" and _CONFIG.match(first):
            config = yaml.safe_load("\n".join(_lines(cell)[1:])) or {}
            continue
        m = _BLOCK.match(first) if cell.cell_type in ("raw", "markdown") else None
        if m and cell.cell_type == "raw":
            what, block = m.group(1).upper(), m.group(2).upper()
            if what == "BEGIN":
                if block == "QUESTION":
                    if stack:
                        raise MasterError(f"{path.name} cell {i}: BEGIN QUESTION inside a {stack[-1]} block")
                    qconf = yaml.safe_load("\n".join(_lines(cell)[1:])) or {}
                    if not isinstance(qconf, dict) or not qconf.get("name"):
                        raise MasterError(f"{path.name} cell {i}: a question needs 'name:' in its config")
                    questions.append(Question(str(qconf["name"]), qconf))
                elif not stack:
                    raise MasterError(f"{path.name} cell {i}: BEGIN {block} outside a question")
                stack.append(block)
            else:
                if not stack or stack[-1] != block:
                    raise MasterError(f"{path.name} cell {i}: END {block} without a matching BEGIN")
                stack.pop()
            continue
        if cell.cell_type != "code" or "TESTS" in stack:
            continue
        src = "\n".join(_lines(cell))
        if SKIP_MARK.match(_first_line(cell)):
            continue
        code = strip_markers(src)
        code_cells.append(code)
        if stack:
            questions[-1].cells.append(code)
            if "SOLUTION" in stack:
                questions[-1].solution_cells.append(src)
    if stack:
        raise MasterError(f"{path.name}: {stack[-1]} block is never ended")
    names = [q.name for q in questions]
    if len(set(names)) != len(names):
        raise MasterError(f"{path.name}: duplicate question names in {names}")
    return MasterNotebook(path, nb, config, questions, code_cells)


def master_source(assignment) -> str:
    """The master solution source of an assignment (an ``Assignment``, a folder or an id)."""
    from ..assignment import resolve

    folder = assignment.path if hasattr(assignment, "path") else resolve(assignment)
    return parse(Path(folder) / MASTER).source


def starter_source(master: MasterNotebook) -> str:
    """The student's starting code: solution cells stripped as otter assign strips them
    (:func:`strip_solutions`)."""
    out = []
    for cell, stack in _kept_code_cells(master):
        if SKIP_MARK.match(_first_line(cell)):
            continue
        src = "\n".join(_lines(cell))
        if "SOLUTION" in stack:
            src = "\n".join(strip_solutions(src.split("\n")))
        out.append(src.rstrip("\n"))
    return "\n\n".join(c for c in out if c.strip()) + "\n"


# otter assign's rules for the lines of a Python solution cell (otter.assign.solutions), written
# out here: importing otter takes seconds, a third of a numpy assignment's validation. The test
# tests/authoring/test_starter.py keeps them equal to otter's on every bundled master and on edge cases.
_BEGIN_SOLUTION = re.compile(r"(\s*)# BEGIN SOLUTION( NO PROMPT)?")
_DROPPED_SUFFIXES = ("# SOLUTION NO PROMPT", "# BEGIN PROMPT", "# END PROMPT", "# SEED")
_SOLUTION_ASSIGNMENT = re.compile(r"(\s*(?:[\w.]+(?=[^\w.])(?:\[['\"]?.*['\"]?\])*(?:,\s*)?)+\s*=).* ?# ?SOLUTION")
_SOLUTION_LINE = re.compile(r"(\s*).* ?# ?SOLUTION")


def strip_solutions(lines: list[str]) -> list[str]:
    """A solution cell's lines as students get them: a ``# BEGIN SOLUTION`` ... ``# END SOLUTION``
    block becomes ``...`` (nothing with ``NO PROMPT``), ``x = f(y)  # SOLUTION`` becomes
    ``x = ...``, any other ``# SOLUTION`` line ``...``; lines ending in ``# SOLUTION NO PROMPT``,
    ``# BEGIN PROMPT``, ``# END PROMPT`` or ``# SEED`` are dropped. ValueError on unbalanced blocks."""
    out: list[str] = []
    inside = False
    for line in lines:
        end = line.rstrip()
        if end.endswith(_DROPPED_SUFFIXES):
            continue
        if end.endswith("# END SOLUTION"):
            if not inside:
                raise ValueError(f"END SOLUTION without BEGIN SOLUTION: {line.strip()!r}")
            inside = False
            continue
        if inside:
            continue
        begin = _BEGIN_SOLUTION.match(line)
        if begin:
            inside = True
            if begin.group(2):
                continue
            line = begin.group(1) + "..."
        for pattern, tail in ((_SOLUTION_ASSIGNMENT, " ..."), (_SOLUTION_LINE, "...")):
            m = pattern.match(line)
            if m:
                line = m.group(1) + tail
                break
        out.append(line)
    if inside:
        raise ValueError("BEGIN SOLUTION without END SOLUTION")
    return out


def _kept_code_cells(master: MasterNotebook):
    """(code cell, open BEGIN/END blocks) of every master code cell outside a TESTS block, in
    order: the cells otter assign keeps for students (config and block marker cells skipped)."""
    stack: list[str] = []
    for cell in master.nb.cells:
        first = _first_line(cell)
        if cell.cell_type == "raw" and _CONFIG.match(first):
            continue
        m = _BLOCK.match(first) if cell.cell_type == "raw" else None
        if m:
            if m.group(1).upper() == "BEGIN":
                stack.append(m.group(2).upper())
            else:
                stack.pop()
            continue
        if cell.cell_type == "code" and "TESTS" not in stack:
            yield cell, tuple(stack)


# ----------------------------------------------------------------------------- released notebooks

def _master_code_cells(master: MasterNotebook) -> list[tuple[str, bool]]:
    """(raw source, is a solution cell) of every master code cell otter assign keeps, in order."""
    out = []
    for cell, stack in _kept_code_cells(master):
        src = "\n".join(_lines(cell))
        out.append((src, "SOLUTION" in stack or bool(_SOLUTION_SUFFIX.search(src))))
    return out


def fill_released(released: nbformat.NotebookNode, master: MasterNotebook) -> nbformat.NotebookNode:
    """A copy of a released (student) notebook with the master's solution code pasted into its
    solution places, as a student who solved everything would hand it in: otter's cells and every
    other cell untouched. Released code cells (otter's left aside) pair one to one, in order, with
    the master's code cells; a solution cell's ``...`` starter becomes the master code."""
    nb = nbformat.from_dict(json.loads(json.dumps(released)))
    mine = [c for c in nb.cells if c.cell_type == "code" and not is_otter_cell(c.source)]
    theirs = _master_code_cells(master)
    if len(mine) != len(theirs):
        raise MasterError(f"the released notebook has {len(mine)} code cells besides otter's, the master "
                          f"{len(theirs)}: they do not pair up")
    for cell, (src, solution) in zip(mine, theirs):
        if solution:
            cell.source = strip_markers(src)
    return nb


def edit_cells(nb: nbformat.NotebookNode, replace: list[tuple[str, str]], what: str = "edit") -> nbformat.NotebookNode:
    """A copy of ``nb`` with each ``(old, new)`` applied to the one code cell holding ``old``
    (a mutant's edits, on a notebook instead of the master source)."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    for i, (old, new) in enumerate(replace, 1):
        hits = [c for c in nb.cells if c.cell_type == "code" and c.source.count(old)]
        if len(hits) != 1 or hits[0].source.count(old) != 1:
            raise MasterError(f"{what}: replacement #{i}: text {old[:60]!r} is not in exactly one place of one cell")
        hits[0].source = hits[0].source.replace(old, new)
    return nb
