"""Turn an uploaded file (``.py``, ``.ipynb`` or ``.zip``) into one module source.

This runs in the trusted grader process on hostile input, so it only *reads*: bytes are
decoded, JSON is parsed, Python is parsed/compiled (``compile(..., "exec", dont_inherit=True)``
builds a code object and never runs it). Nothing from the submission is imported, executed or
unpickled, and every failure becomes a :class:`SubmissionError` whose ``reason`` is one short
sentence for the student.

Rules
-----
``.py``
    UTF-8 (a BOM is fine), not empty, no NUL bytes, must compile. ``get_ipython()`` statements
    left by ``jupyter nbconvert --to script`` are replaced by ``pass`` (noted), and so, in a file
    that does not compile as it is, are lines of IPython syntax (``!pip install ...``,
    ``%matplotlib inline``: a notebook downloaded as .py from Colab) when without them it does.
``.ipynb``
    nbformat >= 4, read as JSON with bounds (bounded nesting, at most ``MAX_CELLS`` cells,
    every source text). Only code cells are used, in order; outputs and
    execution counts are never looked at, and stored outputs do not count toward the size limit:
    a notebook file may be up to :func:`raw_cap` bytes as long as its cells' sources fit in
    ``max_bytes`` (a note says so); above that the reason says to clear the outputs. A cell whose first line is ``# convgrade: skip`` is
    skipped. A cell that starts with a cell magic (``%%time`` ...) is skipped whole. IPython line
    magics (``%...``), shell escapes (``!...``, ``x = !ls``), help (``x?``) and ``get_ipython()``
    statements are replaced by ``pass`` at their indentation so the line numbers in every cell
    stay the student's (a linear-time scanner, not IPython's transformer). otter's own statements
    (the init cell, ``grader.check(...)``, ``grader.export(...)`` ...: the exact rule is at
    :func:`_otter_statements`) are left out with one note. Each cell must compile on its own
    (that is how Jupyter runs it); one that does not is left out with a note naming the cell and
    the line in it, and the rest is graded (only when no cell compiles is the upload refused).
    Cells are numbered 1, 2, ... over *all* cells of the notebook, markdown included, i.e.
    "cell 4" is the fourth cell from the top.
``.zip``
    (Gradescope style) at most ``MAX_ZIP_MEMBERS`` entries; no absolute names, ``..``, symlinks,
    encrypted members, nested ``.zip`` or duplicate names; declared total size at most
    ``MAX_ZIP_TOTAL``; a member above ``ZIP_RATIO_FLOOR`` bytes may not compress more than
    ``MAX_ZIP_RATIO``:1; the chosen member is read with a hard cap, so a header that lies about
    the size is caught too. ``__MACOSX/``, ``.ipynb_checkpoints/`` and dotfiles are ignored;
    ``sitecustomize.py``, ``usercustomize.py``, ``conftest.py``, ``setup.py``, ``__init__.py``
    and ``__main__.py`` are never candidates. The submission is the first of
    ``preferred_names`` present, else the only ``.py``/``.ipynb`` candidate; other files are
    never loaded (a note lists them).
"""
from __future__ import annotations

import ast
import hashlib
import io
import json
import re
import stat
import sys
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from .i18n import current, t

__all__ = ["Submission", "SubmissionError", "LoadError", "load_submission", "load_bytes",
           "without_crashed_cell", "KINDS"]

KINDS = (".py", ".ipynb", ".zip")
MAX_ZIP_MEMBERS = 100
MAX_ZIP_TOTAL = 20 * 1000 * 1000          # declared uncompressed bytes, all members together
MAX_ZIP_RATIO = 100                       # uncompressed / compressed, per member
ZIP_RATIO_FLOOR = 1 << 20                 # members smaller than this skip the ratio test
# A notebook's stored outputs (plots!) are never graded, so they do not count toward ``max_bytes``:
# a notebook file may be up to ``raw_cap(max_bytes)`` bytes, outputs included, as long as its
# cells' sources (code and Markdown) fit in ``max_bytes``.
MAX_NOTEBOOK_BYTES = 32 << 20
NOTEBOOK_OUTPUT_FACTOR = 10
RESERVED_NAMES = frozenset({"sitecustomize.py", "usercustomize.py", "conftest.py", "setup.py",
                            "__init__.py", "__main__.py"})
IGNORED_DIRS = frozenset({"__MACOSX", ".ipynb_checkpoints", "__pycache__"})
SKIP_MARK = re.compile(r"#\s*convgrade\s*:\s*skip\b", re.IGNORECASE)
MAX_NOTES_LISTED = 8
# Parsing is serialized: CPython 3.11's ast module keeps recursion-depth state that is not
# thread-safe ("AST constructor recursion depth mismatch" under parallel grading), and
# warnings.catch_warnings() swaps process-wide state. Loading takes milliseconds.
from ._threadsafe_ast import AST_LOCK as PARSE_LOCK, parsed, walk  # noqa: E402


def raw_cap(max_bytes: int, name: str) -> int:
    """The most bytes the file ``name`` may have on disk: ``max_bytes``, and for a notebook
    (whose stored outputs do not count) up to ``NOTEBOOK_OUTPUT_FACTOR`` times that, at most
    ``MAX_NOTEBOOK_BYTES`` (never less than ``max_bytes``)."""
    if not str(name).lower().endswith(".ipynb"):
        return max_bytes
    return max(max_bytes, min(MAX_NOTEBOOK_BYTES, NOTEBOOK_OUTPUT_FACTOR * max_bytes))


class SubmissionError(Exception):
    """The upload cannot be graded; ``reason`` is one short sentence for the student."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


LoadError = SubmissionError   # the name used in docs/ARCHITECTURE.md


@dataclass
class Submission:
    source: str
    kind: str
    filename: str
    sha256: str
    notes: list[str] = field(default_factory=list)
    cells: list[tuple[int, int, int]] = field(default_factory=list)   # (cell, first, last line)
    broken_cells: list[tuple[int, str]] = field(default_factory=list)  # (cell, why left out)
    # (cell, line in it, "Type: message") of each top-level crash left out (without_crashed_cell)
    crashed_cells: list[tuple[int, int, str]] = field(default_factory=list)
    retry_budget_s: float | None = None     # import seconds the remaining retries may still use

    def locate(self, line: int) -> str:
        """Source line -> ``"line 12"`` (``.py``) or ``"cell 4, line 2"`` (notebook), in the
        current language."""
        for number, first, last in self.cells:
            if first <= line <= last:
                return t("loading.where.cell", cell=number, line=line - first + 1)
        return t("loading.where.line", line=line)

    def line_text(self, line: int, limit: int = 100) -> str:
        """The text of source line ``line`` (stripped, at most ``limit`` characters), or ''."""
        if not isinstance(line, int) or line < 1:
            return ""
        start = 0
        for _ in range(line - 1):
            start = self.source.find("\n", start) + 1
            if start == 0:
                return ""
        end = self.source.find("\n", start)
        text = self.source[start:end if end >= 0 else len(self.source)].strip()
        return text if len(text) <= limit else text[:limit - 3] + "..."

    def frame(self, line: int, func: str | None = None) -> str:
        """``cell 4, line 2 in forward: `y = x @ w```: where a traceback frame is, in the
        student's terms, with the line's text from this (trusted) source."""
        where = self.locate(line)
        if func and func != "<module>":
            where = t("loading.where.in_func", where=where, func=func)
        text = self.line_text(line)
        return f"{where}: {_code_span(text)}" if text else where

    def traceback(self, frames, limit: int = 4) -> str:
        """Frames ``[(line, func), ...]`` outermost first (as the worker reports them) -> the
        innermost first, each outer one "called from ...": ``cell 4, line 34 in forward:
        `...`; called from cell 5, line 2: `...```."""
        frames = [(line, func) for line, func in frames][::-1]
        parts = [self.frame(line, func) for line, func in frames[:limit]]
        text = parts[0] if parts else ""
        for part in parts[1:]:
            text += t("loading.where.called_from", where=part)
        if len(frames) > limit:
            text += t("loading.where.more_calls", n=len(frames) - limit)
        return text


# --------------------------------------------------------------------------------------------
# a notebook cell whose top level crashed on import

MAX_CRASH_RETRIES = 2       # cells left out after a top-level crash, per submission


def without_crashed_cell(sub: Submission, error: dict | None, import_s: float = 0.0,
                         import_timeout_s: float | None = None) -> Submission | None:
    """The fallback after the module's import raised in a notebook cell's top-level code: the
    submission with the statement that raised and the rest of that cell replaced by ``pass`` (what
    Jupyter's "Run All" would have run of that cell; every line number stays), with a note; or
    None when that is not safe or not possible.

    ``error``: the worker's import error (``{"type", "message", "frames": [[line, func], ...]}``,
    outermost frame first). Only for notebooks; only when the outermost frame is the module's own
    top level (a frame list cut to the innermost ones is not trusted); at most
    ``MAX_CRASH_RETRIES`` cells per submission; never the same line twice. ``import_s``: how long
    the failed import took; with ``import_timeout_s`` every retry together stays within one import
    deadline (None: no time bound). The caller starts a fresh sandbox worker for the fallback."""
    if not sub.cells or not isinstance(error, dict) or len(sub.crashed_cells) >= MAX_CRASH_RETRIES:
        return None
    budget = sub.retry_budget_s if sub.retry_budget_s is not None else import_timeout_s
    if budget is not None:
        budget -= max(0.0, float(import_s or 0.0))
        if budget <= 0:
            return None
    frames = error.get("frames") or []
    if not frames or not isinstance(frames[0], (list, tuple)) or len(frames[0]) != 2:
        return None
    line, func = frames[0]
    if func != "<module>" or not isinstance(line, int) or isinstance(line, bool):
        return None
    span = next(((n, a, b) for n, a, b in sub.cells if a <= line <= b), None)
    if span is None:
        return None
    number, first, last = span
    in_cell = line - first + 1
    if any(c == number and ln == in_cell for c, ln, _ in sub.crashed_cells):
        return None
    lines = sub.source.split("\n")
    code = lines[first - 1:last]
    with PARSE_LOCK:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse("\n".join(code))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
    starts = [_statement_start(node) for node in tree.body]
    at = next((i for i, node in enumerate(tree.body) if starts[i][0] <= in_cell <= node.end_lineno), None)
    if at is None:
        return None
    start, col = starts[at]
    head = code[start - 1].encode("utf-8")[:col].decode("utf-8", "replace")   # ``a = 1; `` before it
    kept = code[:start - 1] + [head + "pass"] + [""] * (len(code) - start)
    source = "\n".join(lines[:first - 1] + kept + lines[last:])
    from .checks.base import error_message     # the one reading of a worker's message (first and last line)

    what = f"{_short(str(error.get('type') or 'Exception'), 60)}: {error_message(error.get('message') or '', 120)}"
    what = what.rstrip(": ").replace("`", "'")
    note = t("loading.cell_crashed", cell=number, line=in_cell, error=what,
             where=sub.traceback([f for f in frames if isinstance(f, (list, tuple)) and len(f) == 2]))
    return replace(sub, source=source, notes=list(sub.notes) + [note],
                   crashed_cells=list(sub.crashed_cells) + [(number, in_cell, what)],
                   retry_budget_s=budget)


def _statement_start(node: ast.stmt) -> tuple[int, int]:
    """(line, UTF-8 column) where a top-level statement's text starts: its first decorator's
    ``@`` for a decorated def or class."""
    decorators = getattr(node, "decorator_list", None) or []
    if decorators:
        first = min(decorators, key=lambda d: (d.lineno, d.col_offset))
        return first.lineno, max(0, first.col_offset - 1)
    return node.lineno, node.col_offset


def _code_span(text: str) -> str:
    """Markdown inline code of one line of text (a backtick inside gets a longer fence)."""
    text = " ".join(text.split())
    if "`" not in text:
        return f"`{text}`"
    return f"`` {text} ``" if "``" not in text else "`" + text.replace("`", "'") + "`"


# --------------------------------------------------------------------------------------------
# entry points


def load_submission(path, *, max_bytes: int = 5 << 20, allowed=KINDS,
                    preferred_names=()) -> Submission:
    """Read the uploaded file at ``path`` (at most ``max_bytes``) and load it; see the module doc."""
    path = Path(path)
    allowed = _check_allowed(allowed)
    _check_extension(path.name, allowed)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise SubmissionError(t("loading.not_a_file", name=path.name))
        cap = raw_cap(max_bytes, path.name)
        if size > cap:
            raise SubmissionError(_too_big(path.name, size, max_bytes))
        with open(path, "rb") as handle:
            data = handle.read(cap + 1)
    except OSError as exc:
        raise SubmissionError(t("loading.unreadable", name=path.name, error=exc.strerror or exc)) from None
    return load_bytes(data, path.name, max_bytes=max_bytes, allowed=allowed,
                      preferred_names=preferred_names)


def load_bytes(data: bytes, filename: str, *, max_bytes: int = 5 << 20, allowed=KINDS,
               preferred_names=()) -> Submission:
    """Load an upload given as bytes; ``filename`` decides the kind by its extension."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValueError(f"data must be bytes, got {type(data).__name__}")
    if not isinstance(max_bytes, int) or max_bytes <= 0:
        raise ValueError(f"max_bytes must be a positive int, got {max_bytes!r}")
    if isinstance(preferred_names, str):
        preferred_names = (preferred_names,)
    data = bytes(data)
    allowed = _check_allowed(allowed)
    name = PurePosixPath(str(filename).replace("\\", "/")).name or "submission"
    ext = _check_extension(name, allowed)
    if len(data) > raw_cap(max_bytes, name):
        raise SubmissionError(_too_big(name, len(data), max_bytes))
    digest = hashlib.sha256(data).hexdigest()
    with PARSE_LOCK:
        return _load_locked(data, name, ext, digest, allowed, preferred_names, max_bytes)


def _load_locked(data: bytes, name: str, ext: str, digest: str, allowed, preferred_names,
                 max_bytes: int) -> Submission:
    try:
        if ext == ".zip":
            member, content, notes = _open_zip(data, allowed, preferred_names, max_bytes)
            inner = PurePosixPath(member).suffix.lower()
            source, inner_notes, cells, broken = _load_code(content, member, inner, max_bytes)
            return Submission(source, "zip", member, digest, notes + inner_notes, cells, broken)
        source, notes, cells, broken = _load_code(data, name, ext, max_bytes)
        return Submission(source, ext[1:], name, digest, notes, cells, broken)
    except SubmissionError:
        raise
    except (RecursionError, MemoryError):
        raise SubmissionError(t("loading.too_deep", name=name)) from None
    except Exception as exc:   # a parser choked on something odd: still a reason, not a traceback
        raise SubmissionError(t("loading.unreadable", name=name,
                                error=f"{type(exc).__name__}: {_short(str(exc))}")) from None


def _check_allowed(allowed) -> tuple[str, ...]:
    if isinstance(allowed, str):
        allowed = (allowed,)
    allowed = tuple(str(a).lower() if str(a).startswith(".") else "." + str(a).lower()
                    for a in allowed)
    if not allowed or any(a not in KINDS for a in allowed):
        raise ValueError(f"allowed must be a non-empty subset of {KINDS}, got {allowed!r}")
    return allowed


def _check_extension(name: str, allowed: tuple[str, ...]) -> str:
    ext = PurePosixPath(name).suffix.lower()
    if ext not in allowed:
        raise SubmissionError(t("loading.wrong_type", name=name, kinds=_either(allowed)))
    return ext


def _load_code(data: bytes, name: str, ext: str, max_bytes: int):
    if ext == ".py":
        return _load_py(data, name)
    return _load_ipynb(data, name, max_bytes)


# --------------------------------------------------------------------------------------------
# .py


def _decode(data: bytes, name: str) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise SubmissionError(t("loading.not_utf8", name=name, byte=f"{data[exc.start]:02x}",
                                line=line)) from None
    if "\x00" in text:
        raise SubmissionError(t("loading.nul_bytes", name=name))
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _load_py(data: bytes, name: str):
    text = _decode(data, name)
    if not text.strip():
        raise SubmissionError(t("loading.empty", name=name))
    lines = text.split("\n")
    notes: list[str] = []
    try:
        tree = _parse(text, name, _line)
    except SubmissionError as original:
        # a notebook saved as .py with its IPython lines kept (Colab's "Download .py": `!pip
        # install ...`, `%matplotlib inline`): those lines become pass, as in a notebook's cells
        stripped, found = _strip_ipython(lines)
        if not found:
            raise
        try:
            tree = _parse("\n".join(stripped), name, _line)
        except SubmissionError:
            raise original from None
        lines, text = stripped, "\n".join(stripped)
        for kind in ("magic", "shell", "help"):
            at = [line for line, k in found if k == kind]
            if at:
                notes.append(t("loading.get_ipython_py", count=count(len(at), kind), where=_lines(at)))
    # a notebook exported to .py keeps otter's lines
    otter = _otter_statements([tree])[0] if _mentions(text, _OTTER_WORDS) else []
    dropped = []
    if otter or _mentions(text, ("get_ipython",)):
        lines, dropped = _drop_get_ipython(lines, tree, also=otter)
    if otter:
        where = [node.lineno for node in otter]
        notes.append(t("loading.otter_py", shapes=", ".join(dict.fromkeys(_otter_shape(n) for n in otter)),
                       where=_lines(where)))
    if dropped:
        where = [line for line, _ in dropped]
        notes.append(t("loading.get_ipython_py", count=count(len(dropped), "get_ipython"),
                       where=_lines(where)))
    source = "\n".join(lines)
    notes += _compile(source, name, _line)
    if not (tree.body if source == text else _has_code(source)):
        raise SubmissionError(t("loading.no_code", name=name))
    return source, notes, [], []


def _parse(text: str, name: str, where) -> ast.Module:
    """The module's tree (shared with the static scans of the same source: never changed)."""
    try:
        return parsed(text, filename=name).tree
    except SyntaxError as exc:
        raise SubmissionError(_syntax_reason(exc, name, where)) from None
    except ValueError as exc:
        raise SubmissionError(t("loading.cannot_parse", name=name, error=_short(str(exc)))) from None


def _compile(source: str, name: str, where) -> list[str]:
    """Compile (never run) the whole source; return SyntaxWarnings as notes."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            compile(source, name, "exec", dont_inherit=True)
        except SyntaxError as exc:
            raise SubmissionError(_syntax_reason(exc, name, where)) from None
        except ValueError as exc:
            raise SubmissionError(t("loading.cannot_compile", name=name, error=_short(str(exc)))) from None
    notes = []
    for w in caught:
        # invalid escapes are a DeprecationWarning up to 3.11, a SyntaxWarning from 3.12
        if (issubclass(w.category, (SyntaxWarning, DeprecationWarning))
                and len(notes) < MAX_NOTES_LISTED):
            notes.append(t("loading.warning", where=where(w.lineno), message=_short(str(w.message))))
    return notes


def _syntax_reason(exc: SyntaxError, name: str, where) -> str:
    key = "loading.indentation_error" if isinstance(exc, IndentationError) else "loading.syntax_error"
    message = _short(exc.msg or "invalid syntax")
    if exc.lineno:
        return t(key, name=name, where=where(exc.lineno), message=message)
    return t(key + ".nowhere", name=name, message=message)


def _has_code(source: str) -> bool:
    return bool(parsed(source).tree.body)


# Words without which a source cannot hold what a tree walk looks for (an identifier is compared
# after NFKC normalization, as Python does: ``ｏｔｔｅｒ`` is the name ``otter``).
_OTTER_WORDS = ("otter", "grader")


def _mentions(text: str, words) -> bool:
    """Whether any of ``words`` occurs in ``text`` or in its NFKC normalization: False proves
    that no identifier of the parsed text is one of them (nor contains one)."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return any(word in text for word in words)


# --------------------------------------------------------------------------------------------
# get_ipython() statements and IPython syntax


def _calls_get_ipython(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
               and n.func.id == "get_ipython" for n in walk(node))


def _ipython_kind(node: ast.stmt) -> str:
    """'magic', 'shell', 'help' or 'call' from the transformed statement."""
    for n in walk(node):
        if (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                and isinstance(n.func.value, ast.Call)
                and isinstance(n.func.value.func, ast.Name)
                and n.func.value.func.id == "get_ipython"):
            if n.func.attr in ("system", "getoutput"):
                return "shell"
            if n.func.attr in ("run_line_magic", "run_cell_magic"):
                first = n.args[0] if n.args else None
                if isinstance(first, ast.Constant) and str(first.value).startswith("pinfo"):
                    return "help"
                return "magic"
    return "call"


def _replace_with_pass(lines: list[str], nodes: list[ast.stmt]) -> list[str]:
    """Replace each statement's text by ``pass``, keeping every other position: the extra
    lines of a multi-line statement become blank, ``a = 1; <stmt>`` becomes ``a = 1; pass``."""
    encoded = [line.encode("utf-8") for line in lines]      # ast offsets are UTF-8 bytes
    for node in sorted(nodes, key=lambda n: (n.lineno, n.col_offset), reverse=True):
        first, last = node.lineno - 1, node.end_lineno - 1
        head = encoded[first][:node.col_offset]
        tail = encoded[last][node.end_col_offset:]
        encoded[first] = head + b"pass" + tail
        for i in range(first + 1, last + 1):
            encoded[i] = b""
    return [line.decode("utf-8") for line in encoded]


def _drop_get_ipython(lines: list[str], tree: ast.Module, also=()):
    """Replace every simple statement that calls ``get_ipython()`` (and those in ``also``, top
    level statements of the same tree) by ``pass``.

    Returns the new lines and ``[(line, kind), ...]`` sorted by line, kind one of ``magic``,
    ``shell``, ``help``, ``call``.
    """
    targets = [node for node in walk(tree)
               if isinstance(node, ast.stmt) and not hasattr(node, "body")
               and _calls_get_ipython(node)]
    dropped = sorted((node.lineno, _ipython_kind(node)) for node in targets)
    return _replace_with_pass(lines, targets + [n for n in also if n not in targets]), dropped


# IPython syntax, stripped line by line in linear time. IPython's own transformer is not used: its
# help-line regex backtracks superlinearly on a crafted line, and lining its output up with the
# input needed a diff (quadratic on repeated lines). This scanner knows which lines start a
# statement (not inside a string, a bracket or a backslash continuation) and replaces a magic,
# shell or help line there by ``pass`` at its indentation; its own ``\`` continuations go blank.

_SCAN_CODE = re.compile(r"""[#'"\\()\[\]{}]""")
_SCAN_STRING = {"'": re.compile(r"[\\']"), '"': re.compile(r'[\\"]')}
_HELP_TARGET = re.compile(r"[\w.*\[\]-]+")          # one character class: linear, no backtracking


def _scan(line: str, string: str | None, depth: int) -> tuple[str | None, int, bool]:
    """Lexical state after ``line``: (open string's delimiter or None, bracket depth,
    backslash continuation). Every step moves forward, so the work is linear in the line."""
    pos, n = 0, len(line)
    while pos < n:
        if string is not None:
            m = _SCAN_STRING[string[0]].search(line, pos)
            if m is None:
                if len(string) == 1:            # unterminated: Python reports it; go on as code
                    string = None
                return string, depth, False
            if m.group() == "\\":
                if m.end() == n:                # a backslash-newline continues the string
                    return string, depth, False
                pos = m.end() + 1
            elif len(string) == 1:
                string, pos = None, m.end()
            elif line.startswith(string, m.start()):
                string, pos = None, m.start() + 3
            else:
                pos = m.end()
            continue
        m = _SCAN_CODE.search(line, pos)
        if m is None:
            break
        ch, pos = m.group(), m.end()
        if ch == "#":
            break
        if ch in "'\"":
            string = ch * 3 if line.startswith(ch * 3, m.start()) else ch
            pos = m.start() + len(string)
        elif ch == "\\":
            if pos == n:
                return None, depth, True
        elif ch in "([{":
            depth += 1
        else:
            depth = max(0, depth - 1)
    return string, depth, False


def _assign_targets(text: str) -> bool:
    """``a``, ``a.b``, ``a, b``: plain assignment targets (for ``x = !ls`` / ``x = %who_ls``)."""
    parts = [p.strip() for p in text.split(",")]
    return all(p and all(q.isidentifier() for q in p.split(".")) for p in parts)


def _ipython_line_kind(line: str) -> str | None:
    """'magic', 'shell' or 'help' for a line of IPython syntax at a statement start, else None.
    Valid Python never starts with ``%``, ``!`` or ``?`` nor ends in ``?`` outside a comment."""
    s = line.strip()
    if not s:
        return None
    if s[0] == "%":
        return "magic"
    if s[0] == "!":
        return "shell"
    if s[0] == "?":
        return "help"
    if s[-1] == "?":
        target = s.rstrip("?").lstrip("%")
        if len(s) - len(s.rstrip("?")) <= 2 and target and _HELP_TARGET.fullmatch(target):
            return "help"
    eq = s.find("=")
    if 0 < eq < len(s) - 1 and s[eq - 1] not in "=!<>+-*/%&|^@:~":
        rhs = s[eq + 1:].lstrip()
        if rhs[:1] in ("!", "%") and _assign_targets(s[:eq]):
            return "shell" if rhs[0] == "!" else "magic"
    return None


def _strip_ipython(lines: list[str]) -> tuple[list[str], list[tuple[int, str]]]:
    """IPython syntax at statement starts -> ``pass`` (same line count); returns the new lines
    and ``[(line number from 1, kind), ...]``."""
    out = list(lines)
    found: list[tuple[int, str]] = []
    string, depth, cont, magic_cont = None, 0, False, False
    for i, line in enumerate(lines):
        if magic_cont:                          # a continuation line of a magic / shell command
            out[i] = ""
            magic_cont = line.rstrip().endswith("\\")
            continue
        if string is None and depth == 0 and not cont:
            kind = _ipython_line_kind(line)
            if kind:
                out[i] = line[:len(line) - len(line.lstrip())] + "pass"
                found.append((i + 1, kind))
                magic_cont = line.rstrip().endswith("\\")
                continue
        string, depth, cont = _scan(line, string, depth)
    return out, found


# --------------------------------------------------------------------------------------------
# otter's own statements
#
# ``otter assign`` (otter-grader 7) writes into every student notebook an init cell
# ``# Initialize Otter / import otter / grader = otter.Notebook("x.ipynb")``, a
# ``grader.check("q1")`` cell after each question, and optionally ``grader.check_all()``, an
# export cell (``grader.export(...)``), plugin calls (``grader.run_plugin(...)``,
# ``grader.add_plugin_files(...)``) and ``%pip install otter-grader`` (a magic, dropped anyway).
# They belong to the notebook, not to the student, and fail in the sandbox (no notebook file, no
# tests folder). The rule, by statement shape only (cell metadata is not trusted either way:
# front-ends drop it, copied cells lose it, and a student can set it):
#
# * only *top-level* statements of a code cell count, never anything inside a def, class, loop,
#   ``if``, ``with`` or ``try``; every argument must be a literal;
# * ``NAME = otter.Notebook(...)`` is otter's (it binds an otter name, normally ``grader``);
# * ``import otter`` is otter's unless code that stays uses the name ``otter``;
# * ``NAME.check(...)``, ``.check_all()``, ``.export(...)``, ``.to_pdf(...)``, ``.run_plugin(...)``,
#   ``.add_plugin_files(...)`` as a bare expression statement is otter's when NAME is an otter name
#   or ``grader``, and nothing else at module level binds NAME (a student's own ``grader = ...``,
#   ``def grader``, ``import x as grader``, ``for grader in ...`` or ``global grader`` keeps every
#   such statement: then they are the student's);
# * a statement that is otter's becomes ``pass`` (line numbers stay the student's); a cell left
#   with nothing but otter's statements and comments is left out whole.

OTTER_METHODS = frozenset({"check", "check_all", "export", "to_pdf", "run_plugin", "add_plugin_files"})


def _literal(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return all(_literal(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and _literal(k) and _literal(v) for k, v in zip(node.keys, node.values))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return isinstance(node.operand, ast.Constant)
    return False


def _literal_call(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and all(_literal(a) for a in node.args)
            and all(k.arg is not None and _literal(k.value) for k in node.keywords))


def _otter_init(stmt: ast.stmt) -> str | None:
    """``NAME = otter.Notebook(<literals>)`` -> NAME."""
    if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name) and _literal_call(stmt.value)):
        f = stmt.value.func
        if (isinstance(f, ast.Attribute) and f.attr == "Notebook"
                and isinstance(f.value, ast.Name) and f.value.id == "otter"):
            return stmt.targets[0].id
    return None


def _import_otter(stmt: ast.stmt) -> bool:
    return (isinstance(stmt, ast.Import) and len(stmt.names) == 1
            and stmt.names[0].name == "otter" and stmt.names[0].asname is None)


def _otter_call(stmt: ast.stmt) -> str | None:
    """``NAME.check(<literals>)`` and the other otter methods as a statement -> NAME."""
    if isinstance(stmt, ast.Expr) and _literal_call(stmt.value):
        f = stmt.value.func
        if isinstance(f, ast.Attribute) and f.attr in OTTER_METHODS and isinstance(f.value, ast.Name):
            return f.value.id
    return None


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _module_bindings(tree: ast.Module, skip: set[int]) -> set[str]:
    """Names bound at module level by the statements of ``tree`` (``id()`` in ``skip`` excluded),
    plus every ``global`` name declared anywhere."""
    names: set[str] = set()
    todo: list[ast.AST] = [s for s in tree.body if id(s) not in skip]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Global):
            names.update(node.names)
        if isinstance(node, _SCOPES):
            if not isinstance(node, ast.Lambda):
                names.add(node.name)
            todo += [n for n in ast.walk(node) if isinstance(n, ast.Global)]
            continue
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
        todo.extend(ast.iter_child_nodes(node))
    return names


def _uses(tree: ast.Module, name: str, skip: set[int]) -> bool:
    todo: list[ast.AST] = [s for s in tree.body if id(s) not in skip]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Name) and node.id == name:
            return True
        todo.extend(ast.iter_child_nodes(node))
    return False


def _otter_statements(trees: list[ast.Module]) -> list[list[ast.stmt]]:
    """Per tree, the top-level statements that are otter's (the rule above)."""
    inits = [[s for s in t.body if _otter_init(s)] for t in trees]
    otter_names = {_otter_init(s) for group in inits for s in group} | {"grader"}
    init_ids = {id(s) for group in inits for s in group}
    bound = set().union(*(_module_bindings(t, init_ids) for t in trees)) if trees else set()
    calls = [[s for s in t.body if _otter_call(s) in otter_names and _otter_call(s) not in bound]
             for t in trees]
    dropped = init_ids | {id(s) for group in calls for s in group}
    imports = [[s for s in t.body if _import_otter(s)] for t in trees]
    dropped_imports = {id(s) for group in imports for s in group}
    if any(_uses(t, "otter", dropped | dropped_imports) for t in trees):
        imports = [[] for _ in trees]
    return [sorted(a + b + c, key=lambda s: s.lineno) for a, b, c in zip(inits, calls, imports)]


def is_otter_cell(source: str) -> bool:
    """Whether a code cell holds otter's statements only (by the rule above, applied to the cell
    alone): the cells ``otter assign`` writes into a student notebook."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    return bool(tree.body) and len(_otter_statements([tree])[0]) == len(tree.body)


def _otter_shape(stmt: ast.stmt) -> str:
    if _import_otter(stmt):
        return "import otter"
    name = _otter_init(stmt)
    if name:
        return f"{name} = otter.Notebook(...)"
    return f"{_otter_call(stmt)}.{stmt.value.func.attr}(...)"


# --------------------------------------------------------------------------------------------
# .ipynb

MAX_CELLS = 5000                 # cells of one notebook
MAX_JSON_DEPTH = 100             # JSON nesting the pre-scan allows (real notebooks: under 20)
_JSON_STOP = re.compile(r'[\[\]{}"\\]')


def json_depth_ok(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text nests at most ``limit`` deep (strings skipped); linear, no recursion."""
    depth, in_string, pos = 0, False, 0
    for m in _JSON_STOP.finditer(text):
        if m.start() < pos:                     # the character after a backslash: escaped
            continue
        ch = m.group()
        if in_string:
            if ch == "\\":
                pos = m.end() + 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def read_notebook_cells(text: str, name: str) -> list[dict]:
    """The cells of a notebook given as text, read with bounds: ``[{"number", "cell_type",
    "source" (one str), "metadata" (dict)}, ...]`` numbered from 1 over all cells. Raises
    :class:`SubmissionError` with a reason for anything that is not a readable nbformat 4 notebook
    (JSON nesting too deep, over ``MAX_CELLS`` cells, a source that is not text)."""
    if not text.strip():
        raise SubmissionError(t("loading.empty", name=name))
    # json's C decoder checks the interpreter's recursion limit on every nesting level, which at
    # the default (1000) keeps the C stack safe; only where a process raised it is the (slower,
    # linear) pre-scan needed to keep deep JSON away from the C stack.
    deep = t("loading.json_too_deep", name=name, limit=MAX_JSON_DEPTH)
    if sys.getrecursionlimit() > 10_000 and not json_depth_ok(text):
        raise SubmissionError(deep)
    try:
        raw = json.loads(text)
    except RecursionError:
        raise SubmissionError(deep) from None
    except json.JSONDecodeError as exc:
        raise SubmissionError(t("loading.bad_json", name=name, line=exc.lineno, column=exc.colno,
                                error=exc.msg)) from None
    if not isinstance(raw, dict) or "cells" not in raw and "worksheets" not in raw:
        raise SubmissionError(t("loading.not_notebook", name=name))
    major = raw.get("nbformat")
    if not isinstance(major, int) or isinstance(major, bool):
        raise SubmissionError(t("loading.no_nbformat", name=name))
    if major < 4:
        raise SubmissionError(t("loading.old_nbformat", name=name, major=major))
    if major > 4:
        raise SubmissionError(t("loading.new_nbformat", name=name, major=major))
    cells = raw.get("cells")
    if not isinstance(cells, list):
        raise SubmissionError(t("loading.cells_not_list", name=name))
    if len(cells) > MAX_CELLS:
        raise SubmissionError(t("loading.too_many_cells", name=name, n=len(cells), limit=MAX_CELLS))
    out = []
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict):
            raise SubmissionError(t("loading.cell_not_dict", name=name, cell=number))
        source = cell.get("source", "")
        if isinstance(source, list):
            bad = next((i for i, s in enumerate(source, 1) if not isinstance(s, str)), None)
            if bad is not None:
                raise SubmissionError(t("loading.cell_piece", name=name, cell=number, piece=bad,
                                        type=_json_type(source[bad - 1])))
            source = "".join(source)
        if not isinstance(source, str):
            raise SubmissionError(t("loading.cell_source", name=name, cell=number, type=_json_type(source)))
        metadata = cell.get("metadata")
        out.append({"number": number, "cell_type": cell.get("cell_type"), "source": source,
                    "metadata": metadata if isinstance(metadata, dict) else {}})
    return out


def _json_type(value) -> str:
    kind = {bool: "bool", int: "number", float: "number", dict: "object", list: "list",
            type(None): "null"}.get(type(value), "other")
    return t(f"loading.json.{kind}")


def _load_ipynb(data: bytes, name: str, max_bytes: int):
    cells = read_notebook_cells(_decode(data, name), name)
    size_notes = []
    if len(data) > max_bytes:                   # over the limit only with its stored outputs?
        code = sum(len(cell["source"].encode("utf-8", "replace")) for cell in cells)
        if code > max_bytes:
            raise SubmissionError(t("loading.code_too_big", name=name, size=_mb(code), limit=_mb(max_bytes)))
        size_notes.append(t("loading.outputs_not_counted", name=name, size=_mb(len(data)), limit=_mb(max_bytes)))
    prepared: list[tuple[int, list[str], ast.Module | None]] = []    # (cell, lines, tree)
    skipped, cell_magic, future, broken = [], [], [], []
    # otter's statements are looked for only where they can be (and then in every cell's tree)
    otter_words = _mentions("\n".join(c["source"] for c in cells if c["cell_type"] == "code"), _OTTER_WORDS)
    dropped: dict[str, list[int]] = {}
    for cell in cells:
        number, source = cell["number"], cell["source"]
        if cell["cell_type"] != "code":
            continue
        if "\x00" in source:
            raise SubmissionError(t("loading.cell_nul", name=name, cell=number))
        lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        while lines and not lines[-1].strip():
            lines.pop()
        if not any(l.strip() for l in lines):
            continue
        first = next(l for l in lines if l.strip()).strip()
        if SKIP_MARK.match(first):
            skipped.append(number)
            continue
        if first.startswith("%%"):
            cell_magic.append((number, first.split()[0]))
            continue
        try:
            code, tree, kinds, future_names = _cell_code(lines, name, number, need_tree=otter_words)
        except SubmissionError as exc:
            broken.append((number, exc.reason))
            continue
        if future_names:
            future.append((number, future_names))
        for kind in kinds:
            dropped.setdefault(kind, []).append(number)
        prepared.append((number, code, tree))

    otter = _otter_statements([tree for _, _, tree in prepared]) if otter_words else [[] for _ in prepared]
    parts: list[str] = []
    spans: list[tuple[int, int, int]] = []
    otter_cells, otter_shapes = [], []
    line = 0
    for (number, code, tree), mine in zip(prepared, otter):
        if mine:
            otter_cells.append(number)
            otter_shapes += [_otter_shape(s) for s in mine]
            if len(mine) == len(tree.body):
                continue                        # nothing but otter's statements and comments
            code = _replace_with_pass(code, mine)
        parts.append(f"# %% cell {number}")
        parts += code
        parts.append("")
        spans.append((number, line + 2, line + 1 + len(code)))
        line += len(code) + 2

    notes: list[str] = size_notes
    if otter_cells:
        shapes = ", ".join(dict.fromkeys(otter_shapes))
        notes.append(t("loading.otter_ipynb", shapes=shapes, where=_cells(otter_cells)))
    for number, reason in broken:
        notes.append(left_out_note(reason))
    for number, magic in cell_magic:
        notes.append(t("loading.cell_magic", cell=number, magic=magic))
    if skipped:
        notes.append(t("loading.skip_marked", count=count(len(skipped), "cell"), where=_cells(skipped)))
    for kind in ("magic", "shell", "help", "call"):
        if kind in dropped:
            notes.append(t("loading.dropped", count=count(len(dropped[kind]), kind),
                           where=_cells(sorted(set(dropped[kind])))))
    if not spans:
        if broken:
            raise SubmissionError(f"{name}: {broken[0][1]}" if len(broken) == 1 else
                                  t("loading.no_cell_compiles", name=name, reason=broken[0][1]))
        raise SubmissionError(t("loading.no_code_cells", name=name))
    if future:
        names = list(dict.fromkeys(n for _, cell_names in future for n in cell_names))
        parts[0] = f"from __future__ import {', '.join(names)}  {parts[0]}"
        notes.append(t("loading.future_moved", names=", ".join(names),
                       where=_cells([number for number, _ in future])))
    source = "\n".join(parts)
    sub = Submission("", "", name, "", cells=spans)
    notes += _compile(source, name, sub.locate)
    if not _has_code(source):
        raise SubmissionError(t("loading.no_code", name=name))
    return source, notes, spans, broken


def _cell_code(lines: list[str], name: str, number: int, need_tree: bool = True):
    """One code cell -> (line-preserving Python lines, their AST, kinds of IPython statements
    dropped, ``from __future__`` names). A cell that does not compile on its own (as Jupyter
    runs it) raises :class:`SubmissionError` whose reason names the cell and the line in it.

    Without ``need_tree`` the AST is None when no tree is needed: a cell that mentions neither
    ``get_ipython`` nor ``__future__`` is only compiled (its source as it is)."""
    code, found = _strip_ipython(lines)
    where = _line
    text = "\n".join(code)
    if not need_tree and not _mentions(text, ("get_ipython", "__future__")):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                compile(text, name, "exec", dont_inherit=True)
            return code, None, [kind for _, kind in found], []
        except Exception:   # the reason comes from the full path below, as it always did
            pass
    tree = _cell_parse(text, number, where)
    new, dropped = _drop_get_ipython(code, tree) if _mentions(text, ("get_ipython",)) else (code, [])
    if dropped:
        tree = _cell_parse("\n".join(new), number, where)
    # Jupyter compiles each cell alone, so 'from __future__ import ...' may open any cell; in
    # one module it must come first: the caller moves it to the first line.
    future = [node for node in tree.body
              if isinstance(node, ast.ImportFrom) and node.module == "__future__"]
    names = [alias.name for node in future for alias in node.names]
    if future:
        new = _replace_with_pass(new, future)
        tree = _cell_parse("\n".join(new), number, where)
    try:                                        # compile-time errors: 'return' outside function ...
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(tree, name, "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise SubmissionError(_cell_syntax_reason(exc, number)) from None
    except (ValueError, TypeError) as exc:
        raise SubmissionError(t("loading.cell_cannot_compile", cell=number, error=_short(str(exc)))) from None
    kinds = [kind for _, kind in found] + [kind for _, kind in dropped]
    return new, tree, kinds, names


def _cell_parse(text: str, number: int, where) -> ast.Module:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text)
    except SyntaxError as exc:
        raise SubmissionError(_cell_syntax_reason(exc, number)) from None
    except ValueError as exc:
        raise SubmissionError(t("loading.cell_cannot_parse", cell=number, error=_short(str(exc)))) from None


def _cell_syntax_reason(exc: SyntaxError, number: int) -> str:
    key = "loading.cell_indentation_error" if isinstance(exc, IndentationError) else "loading.cell_syntax_error"
    message = _short(exc.msg or "invalid syntax")
    if exc.lineno:
        return t(key, cell=number, line=exc.lineno, message=message)
    return t(key + ".nowhere", cell=number, message=message)


# --------------------------------------------------------------------------------------------
# .zip


def _open_zip(data: bytes, allowed, preferred_names, max_bytes):
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError,
            NotImplementedError, IndexError, KeyError, OverflowError) as exc:
        raise SubmissionError(t("loading.zip_unreadable", error=_short(str(exc)))) from None
    if len(infos) > MAX_ZIP_MEMBERS:
        raise SubmissionError(t("loading.zip_too_many", n=len(infos), limit=MAX_ZIP_MEMBERS))
    total = 0
    seen = set()
    candidates, ignored = [], []
    inner = tuple(a for a in allowed if a != ".zip") or (".py", ".ipynb")
    for info in infos:
        name = info.filename.replace("\\", "/")
        path = PurePosixPath(name)
        if (name.startswith("/") or re.match(r"^[A-Za-z]:", name)
                or any(part == ".." for part in path.parts)):
            raise SubmissionError(t("loading.zip_unsafe_path", member=repr(name)))
        if stat.S_ISLNK(info.external_attr >> 16):
            raise SubmissionError(t("loading.zip_symlink", member=repr(name)))
        if info.flag_bits & 0x1:
            raise SubmissionError(t("loading.zip_encrypted", member=repr(name)))
        if name.rstrip("/") in seen:
            raise SubmissionError(t("loading.zip_twice", member=repr(name)))
        seen.add(name.rstrip("/"))
        if info.file_size < 0 or info.compress_size < 0:
            raise SubmissionError(t("loading.zip_corrupt_header", member=repr(name)))
        total += info.file_size
        if total > MAX_ZIP_TOTAL:
            raise SubmissionError(t("loading.zip_too_large", limit=MAX_ZIP_TOTAL // 10**6))
        if (info.file_size > ZIP_RATIO_FLOOR
                and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1)):
            raise SubmissionError(t("loading.zip_bomb", member=repr(name), ratio=MAX_ZIP_RATIO))
        if info.is_dir():
            continue
        if path.suffix.lower() == ".zip":
            raise SubmissionError(t("loading.zip_nested", member=repr(name)))
        if (any(part in IGNORED_DIRS or part.startswith(".") for part in path.parts)):
            continue
        if path.suffix.lower() in inner and path.name.lower() not in RESERVED_NAMES:
            candidates.append(info)
        else:
            ignored.append(name)

    chosen = _choose(candidates, preferred_names, inner)
    ignored += [info.filename for info in candidates if info is not chosen]
    notes = []
    if ignored:
        notes.append(t("loading.zip_used", member=chosen.filename, count=count(len(ignored), "other_file"),
                       names=_names(sorted(ignored))))
    cap = raw_cap(max_bytes, chosen.filename)
    if chosen.file_size > cap:
        raise SubmissionError(_too_big(chosen.filename, chosen.file_size, max_bytes))
    return chosen.filename, _read_member(archive, chosen, cap), notes


def _choose(candidates, preferred_names, inner):
    by_base: dict[str, list] = {}
    for info in candidates:
        by_base.setdefault(PurePosixPath(info.filename).name.lower(), []).append(info)
    for preferred in preferred_names:
        found = by_base.get(PurePosixPath(str(preferred)).name.lower(), [])
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise SubmissionError(t("loading.zip_same_name", n=len(found), preferred=repr(preferred),
                                    names=_names([i.filename for i in found])))
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise SubmissionError(t("loading.zip_no_candidate", kinds=_either(inner)))
    hint = t("loading.zip_several.hint", names=_either(tuple(preferred_names))) if preferred_names else ""
    raise SubmissionError(t("loading.zip_several", names=_names(sorted(i.filename for i in candidates)),
                            hint=hint))


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, max_bytes: int) -> bytes:
    """Read one member, never more than its declared size + 1 (and never above the cap)."""
    cap = min(info.file_size, max_bytes) + 1
    chunks, got = [], 0
    try:
        with archive.open(info) as handle:
            while got < cap:
                chunk = handle.read(min(1 << 16, cap - got))
                if not chunk:
                    break
                chunks.append(chunk)
                got += len(chunk)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError,
            RuntimeError) as exc:
        raise SubmissionError(t("loading.zip_damaged", member=repr(info.filename),
                                error=_short(str(exc)))) from None
    data = b"".join(chunks)
    if len(data) != info.file_size:
        raise SubmissionError(t("loading.zip_size_mismatch", member=repr(info.filename), size=info.file_size))
    return data


# --------------------------------------------------------------------------------------------
# wording


def _too_big(name: str, size: int, limit: int) -> str:
    text = t("loading.too_big", name=name, size=_mb(size), limit=_mb(limit))
    if name.lower().endswith(".ipynb"):     # stored outputs (plots!) are most of a big notebook
        text += " " + t("loading.too_big.outputs")
    return text


def _mb(n: int) -> str:
    if n >= 1 << 20:
        return t("loading.size_mb", n=f"{n / (1 << 20):.1f}")
    return t("loading.size_kb", n=f"{n / 1024:.0f}")


def _either(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else t("loading.or", first=", ".join(items[:-1]), last=items[-1])


def _plural_form(n: int, forms: list[str]) -> str:
    """The form of a counted noun for ``n`` in the current language: English one|other, Russian
    one|few|many (1 ячейка, 2 ячейки, 5 ячеек, 11 ячеек, 21 ячейка)."""
    if current() == "ru" and len(forms) >= 3:
        if n % 10 == 1 and n % 100 != 11:
            return forms[0]
        if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
            return forms[1]
        return forms[2]
    return forms[0] if n == 1 else forms[-1]


def count(n: int, noun: str) -> str:
    """``"3 cells"`` / ``"3 ячейки"``: ``n`` and the noun ``loading.noun.<noun>`` in the form for
    ``n`` in the current language."""
    return f"{n} {_plural_form(n, t(f'loading.noun.{noun}').split('|'))}"


def _numbered(key: str, numbers) -> str:
    """``"cell 3"`` / ``"cells 3, 4"`` (``key`` one of ``loading.cells``, ``loading.lines``)."""
    numbers = list(numbers)
    single, several = t(key, list=_listing(numbers)).split("|")
    return single if len(numbers) == 1 else several


def _cells(numbers) -> str:
    return _numbered("loading.cells", numbers)


def _lines(numbers) -> str:
    return _numbered("loading.lines", numbers)


def _line(line: int) -> str:
    return t("loading.where.line", line=line)


def left_out_note(reason: str) -> str:
    """The note for a cell that was left out: its reason (one sentence) and what that means."""
    return t("loading.cell_left_out", reason=reason[:-1] if reason.endswith(".") else reason)


def _listing(values) -> str:
    values = [str(v) for v in values]
    extra = len(values) - MAX_NOTES_LISTED
    text = ", ".join(values[:MAX_NOTES_LISTED])
    return t("loading.and_more", list=text, n=extra) if extra > 0 else text


def _names(names) -> str:
    return _listing(names)


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."
