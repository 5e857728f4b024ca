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
    left by ``jupyter nbconvert --to script`` are replaced by ``pass`` (noted).
``.ipynb``
    nbformat >= 4. Only code cells are used, in order; outputs, execution counts and metadata are
    never looked at. A cell whose first line is ``# convgrade: skip`` is skipped. A cell that
    starts with a cell magic (``%%time`` ...) is skipped whole. IPython line magics (``%...``),
    shell escapes (``!...``, ``x = !ls``), help (``x?``) and ``get_ipython()`` statements are
    replaced by ``pass`` at their indentation so the line numbers in every cell stay the
    student's. Each cell must compile on its own (that is how Jupyter runs it); the error names
    the cell and the line in it. Cells are numbered 1, 2, ... over *all* cells of the notebook,
    markdown included, i.e. "cell 4" is the fourth cell from the top.
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
import difflib
import hashlib
import io
import json
import re
import stat
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

__all__ = ["Submission", "SubmissionError", "LoadError", "load_submission", "load_bytes",
           "KINDS"]

KINDS = (".py", ".ipynb", ".zip")
MAX_ZIP_MEMBERS = 100
MAX_ZIP_TOTAL = 20 * 1000 * 1000          # declared uncompressed bytes, all members together
MAX_ZIP_RATIO = 100                       # uncompressed / compressed, per member
ZIP_RATIO_FLOOR = 1 << 20                 # members smaller than this skip the ratio test
RESERVED_NAMES = frozenset({"sitecustomize.py", "usercustomize.py", "conftest.py", "setup.py",
                            "__init__.py", "__main__.py"})
IGNORED_DIRS = frozenset({"__MACOSX", ".ipynb_checkpoints", "__pycache__"})
SKIP_MARK = re.compile(r"#\s*convgrade\s*:\s*skip\b", re.IGNORECASE)
MAX_NOTES_LISTED = 8
# Parsing is serialized: CPython 3.11's ast module keeps recursion-depth state that is not
# thread-safe ("AST constructor recursion depth mismatch" under parallel grading), and
# warnings.catch_warnings() swaps process-wide state. Loading takes milliseconds.
from ._threadsafe_ast import AST_LOCK as PARSE_LOCK  # noqa: E402


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
    cells: list[tuple[int, int, int]] = field(default_factory=list)

    def locate(self, line: int) -> str:
        """Source line -> ``"line 12"`` (``.py``) or ``"cell 4, line 2"`` (notebook)."""
        for number, first, last in self.cells:
            if first <= line <= last:
                return f"cell {number}, line {line - first + 1}"
        return f"line {line}"


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
            raise SubmissionError(f"{path.name} is not a regular file.")
        if size > max_bytes:
            raise SubmissionError(_too_big(path.name, size, max_bytes))
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise SubmissionError(f"{path.name} could not be read ({exc.strerror or exc}).") from None
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
    if len(data) > max_bytes:
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
            source, inner_notes, cells = _load_code(content, member, inner)
            return Submission(source, "zip", member, digest, notes + inner_notes, cells)
        source, notes, cells = _load_code(data, name, ext)
        return Submission(source, ext[1:], name, digest, notes, cells)
    except SubmissionError:
        raise
    except (RecursionError, MemoryError):
        raise SubmissionError(f"{name} is too deeply nested or too large to read.") from None
    except Exception as exc:   # a parser choked on something odd: still a reason, not a traceback
        raise SubmissionError(
            f"{name} could not be read ({type(exc).__name__}: {_short(str(exc))}).") from None


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
        raise SubmissionError(f"{name} has the wrong type: upload a {_either(allowed)} file.")
    return ext


def _load_code(data: bytes, name: str, ext: str):
    if ext == ".py":
        return _load_py(data, name)
    return _load_ipynb(data, name)


# --------------------------------------------------------------------------------------------
# .py


def _decode(data: bytes, name: str) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise SubmissionError(
            f"{name} is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
            "save it with UTF-8 encoding.") from None
    if "\x00" in text:
        raise SubmissionError(f"{name} contains NUL bytes; it looks like a binary file, not code.")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _load_py(data: bytes, name: str):
    text = _decode(data, name)
    if not text.strip():
        raise SubmissionError(f"{name} is empty.")
    lines = text.split("\n")
    tree = _parse(text, name, lambda line: f"line {line}")
    notes: list[str] = []
    lines, dropped = _drop_get_ipython(lines, tree)
    if dropped:
        where = [line for line, _ in dropped]
        notes.append(f"replaced {_count(len(dropped), 'get_ipython() statement')} by pass "
                     f"(line{'s' if len(where) > 1 else ''} {_listing(where)}).")
    source = "\n".join(lines)
    notes += _compile(source, name, lambda line: f"line {line}")
    if not _has_code(source):
        raise SubmissionError(f"{name} contains no code, only comments.")
    return source, notes, []


def _parse(text: str, name: str, where) -> ast.Module:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text, filename=name)
    except SyntaxError as exc:
        raise SubmissionError(_syntax_reason(exc, name, where)) from None
    except ValueError as exc:
        raise SubmissionError(f"{name} cannot be parsed ({_short(str(exc))}).") from None


def _compile(source: str, name: str, where) -> list[str]:
    """Compile (never run) the whole source; return SyntaxWarnings as notes."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            compile(source, name, "exec", dont_inherit=True)
        except SyntaxError as exc:
            raise SubmissionError(_syntax_reason(exc, name, where)) from None
        except ValueError as exc:
            raise SubmissionError(f"{name} cannot be compiled ({_short(str(exc))}).") from None
    notes = []
    for w in caught:
        # invalid escapes are a DeprecationWarning up to 3.11, a SyntaxWarning from 3.12
        if (issubclass(w.category, (SyntaxWarning, DeprecationWarning))
                and len(notes) < MAX_NOTES_LISTED):
            notes.append(f"warning at {where(w.lineno)}: {_short(str(w.message))}")
    return notes


def _syntax_reason(exc: SyntaxError, name: str, where) -> str:
    kind = "indentation error" if isinstance(exc, IndentationError) else "syntax error"
    message = _short(exc.msg or "invalid syntax")
    if exc.lineno:
        return f"{name}: {kind} at {where(exc.lineno)}: {message}."
    return f"{name}: {kind}: {message}."


def _has_code(source: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bool(ast.parse(source).body)


# --------------------------------------------------------------------------------------------
# get_ipython() statements and IPython syntax


def _calls_get_ipython(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
               and n.func.id == "get_ipython" for n in ast.walk(node))


def _ipython_kind(node: ast.stmt) -> str:
    """'magic', 'shell', 'help' or 'call' from the transformed statement."""
    for n in ast.walk(node):
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


def _drop_get_ipython(lines: list[str], tree: ast.Module):
    """Replace every simple statement that calls ``get_ipython()`` by ``pass``.

    Returns the new lines and ``[(line, kind), ...]`` sorted by line, kind one of ``magic``,
    ``shell``, ``help``, ``call``.
    """
    targets = [node for node in ast.walk(tree)
               if isinstance(node, ast.stmt) and not hasattr(node, "body")
               and _calls_get_ipython(node)]
    dropped = sorted((node.lineno, _ipython_kind(node)) for node in targets)
    return _replace_with_pass(lines, targets), dropped


def _ipython_transform(lines: list[str]) -> list[str]:
    """IPython's own cell transform (magics, ``!``, ``?``, prompts), kept line for line.

    ``TransformerManager`` is purely lexical (tokenize), it runs nothing. It may merge
    backslash-continued magic lines; a diff against the original puts the surviving lines back
    at their original numbers and pads the merged block with blank lines.
    """
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:                          # IPython is a dependency of ipykernel
        return _naive_transform(lines)
    try:
        out = TransformerManager().transform_cell("\n".join(lines) + "\n")
    except Exception:
        return list(lines)
    new = out.split("\n")
    if new and new[-1] == "":
        new.pop()
    result: list[str] = []
    matcher = difflib.SequenceMatcher(None, lines, new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            result += lines[i1:i2]
        else:
            block = new[j1:j2]
            result += block[:i2 - i1] if len(block) >= i2 - i1 else block + [""] * (
                i2 - i1 - len(block))
            if len(block) > i2 - i1:             # never seen: keep everything, mapping drifts
                result += block[i2 - i1:]
    return result


_MAGIC_LINE = re.compile(r"^(\s*)(%|!|\?)")
_NAIVE_CALL = {"%": "run_line_magic('', '')", "!": "system('')", "?": "run_line_magic('pinfo', '')"}


def _naive_transform(lines: list[str]) -> list[str]:
    """Line-based fallback: a line starting with ``%``, ``!`` or ``?`` becomes the matching
    ``get_ipython()`` call (dropped later like IPython's own); its ``\\`` continuations blank."""
    out = []
    continued = False
    for line in lines:
        m = _MAGIC_LINE.match(line)
        if continued:
            out.append("")
        elif m:
            out.append(m.group(1) + "get_ipython()." + _NAIVE_CALL[m.group(2)])
        else:
            out.append(line)
            continue
        continued = line.rstrip().endswith("\\")
    return out


# --------------------------------------------------------------------------------------------
# .ipynb


def _load_ipynb(data: bytes, name: str):
    import nbformat

    text = _decode(data, name)
    if not text.strip():
        raise SubmissionError(f"{name} is empty.")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SubmissionError(
            f"{name} is not a valid notebook: invalid JSON at line {exc.lineno}, "
            f"column {exc.colno} ({exc.msg}).") from None
    if not isinstance(raw, dict) or "cells" not in raw and "worksheets" not in raw:
        raise SubmissionError(f"{name} is JSON but not a Jupyter notebook (no cells).")
    major = raw.get("nbformat")
    if not isinstance(major, int) or isinstance(major, bool):
        raise SubmissionError(f"{name} is not a Jupyter notebook (no nbformat version).")
    if major < 4:
        raise SubmissionError(
            f"{name} uses the old notebook format {major}; open and save it in a current "
            "Jupyter (format 4).")
    if major > 4:
        raise SubmissionError(f"{name} uses notebook format {major}, which is not supported.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
    except Exception as exc:
        raise SubmissionError(f"{name} is not a valid notebook ({_short(str(exc))}).") from None
    cells = nb.get("cells")
    if not isinstance(cells, list):
        raise SubmissionError(f"{name} is not a valid notebook: 'cells' is not a list.")

    parts: list[str] = []
    spans: list[tuple[int, int, int]] = []
    skipped, cell_magic, future = [], [], []
    dropped: dict[str, list[int]] = {}
    line = 0
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(s, str) for s in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise SubmissionError(f"{name}: cell {number} has a malformed source.")
        if "\x00" in source:
            raise SubmissionError(f"{name}: cell {number} contains NUL bytes.")
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
        code, kinds, future_names = _cell_code(lines, name, number)
        if future_names:
            future.append((number, future_names))
        for kind in kinds:
            dropped.setdefault(kind, []).append(number)
        parts.append(f"# %% cell {number}")
        parts += code
        parts.append("")
        spans.append((number, line + 2, line + 1 + len(code)))
        line += len(code) + 2

    notes: list[str] = []
    for number, magic in cell_magic:
        notes.append(f"skipped cell {number}: it starts with the cell magic {magic}, so none of "
                     "it was graded (remove the magic line if the code is needed).")
    if skipped:
        notes.append(f"skipped {_count(len(skipped), 'cell')} marked '# convgrade: skip' "
                     f"({_cells(skipped)}).")
    labels = {"magic": "IPython magic line", "shell": "shell command (!)",
              "help": "help request (?)", "call": "get_ipython() statement"}
    for kind in ("magic", "shell", "help", "call"):
        if kind in dropped:
            notes.append(f"dropped {_count(len(dropped[kind]), labels[kind])} "
                         f"({_cells(sorted(set(dropped[kind])))}).")
    if not spans:
        raise SubmissionError(f"{name} has no code to grade (no non-empty code cells).")
    if future:
        names = list(dict.fromkeys(n for _, cell_names in future for n in cell_names))
        parts[0] = f"from __future__ import {', '.join(names)}  {parts[0]}"
        notes.append(f"moved 'from __future__ import {', '.join(names)}' "
                     f"({_cells([number for number, _ in future])}) to the top of the module.")
    source = "\n".join(parts)
    sub = Submission("", "", name, "", cells=spans)
    notes += _compile(source, name, sub.locate)
    if not _has_code(source):
        raise SubmissionError(f"{name} contains no code, only comments.")
    return source, notes, spans


def _cell_code(lines: list[str], name: str, number: int):
    """One code cell -> (line-preserving Python lines, kinds of IPython statements dropped)."""
    lead = 0
    while not lines[lead].strip():
        lead += 1
    body = _ipython_transform(lines[lead:])
    code = lines[:lead] + body
    where = lambda line: f"cell {number}, line {line}"
    try:
        tree = _parse("\n".join(code), name, where)
    except SubmissionError:
        # IPython leaves a cell with an unclosed bracket untouched; with the magic lines
        # removed naively either the cell parses or the error names the real mistake.
        code = lines[:lead] + _naive_transform(lines[lead:])
        tree = _parse("\n".join(code), name, where)
    new, dropped = _drop_get_ipython(code, tree)
    tree = _parse("\n".join(new), name, where)
    # Jupyter compiles each cell alone, so 'from __future__ import ...' may open any cell; in
    # one module it must come first: the caller moves it to the first line.
    future = [node for node in tree.body
              if isinstance(node, ast.ImportFrom) and node.module == "__future__"]
    names = [alias.name for node in future for alias in node.names]
    if future:
        new = _replace_with_pass(new, future)
    return new, [kind for _, kind in dropped], names


# --------------------------------------------------------------------------------------------
# .zip


def _open_zip(data: bytes, allowed, preferred_names, max_bytes):
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError,
            NotImplementedError, IndexError, KeyError, OverflowError) as exc:
        raise SubmissionError(f"the upload is not a readable zip file ({_short(str(exc))}).") \
            from None
    if len(infos) > MAX_ZIP_MEMBERS:
        raise SubmissionError(f"the zip holds {len(infos)} entries; at most {MAX_ZIP_MEMBERS} "
                              "are accepted (upload only your submission file).")
    total = 0
    seen = set()
    candidates, ignored = [], []
    inner = tuple(a for a in allowed if a != ".zip") or (".py", ".ipynb")
    for info in infos:
        name = info.filename.replace("\\", "/")
        path = PurePosixPath(name)
        if (name.startswith("/") or re.match(r"^[A-Za-z]:", name)
                or any(part == ".." for part in path.parts)):
            raise SubmissionError(f"the zip contains an unsafe path {name!r} (absolute or with "
                                  "'..'); zip the files without their folders' parents.")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise SubmissionError(f"the zip contains a symbolic link {name!r}; links are not "
                                  "accepted.")
        if info.flag_bits & 0x1:
            raise SubmissionError(f"the zip member {name!r} is encrypted; upload a zip without "
                                  "a password.")
        if name.rstrip("/") in seen:
            raise SubmissionError(f"the zip contains {name!r} twice.")
        seen.add(name.rstrip("/"))
        if info.file_size < 0 or info.compress_size < 0:
            raise SubmissionError(f"the zip member {name!r} has a corrupt header.")
        total += info.file_size
        if total > MAX_ZIP_TOTAL:
            raise SubmissionError(f"the zip unpacks to more than {MAX_ZIP_TOTAL // 10**6} MB; "
                                  "upload only your submission file.")
        if (info.file_size > ZIP_RATIO_FLOOR
                and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1)):
            raise SubmissionError(f"the zip member {name!r} is compressed more than "
                                  f"{MAX_ZIP_RATIO}:1, which looks like a zip bomb.")
        if info.is_dir():
            continue
        if path.suffix.lower() == ".zip":
            raise SubmissionError(f"the zip contains another zip ({name!r}); upload a single "
                                  "zip with your file in it.")
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
        notes.append(f"used {chosen.filename} from the zip; ignored {_count(len(ignored), 'other file')}"
                     f" ({_names(sorted(ignored))}).")
    if chosen.file_size > max_bytes:
        raise SubmissionError(_too_big(chosen.filename, chosen.file_size, max_bytes))
    return chosen.filename, _read_member(archive, chosen, max_bytes), notes


def _choose(candidates, preferred_names, inner):
    by_base: dict[str, list] = {}
    for info in candidates:
        by_base.setdefault(PurePosixPath(info.filename).name.lower(), []).append(info)
    for preferred in preferred_names:
        found = by_base.get(PurePosixPath(str(preferred)).name.lower(), [])
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise SubmissionError(f"the zip contains {len(found)} files named {preferred!r} "
                                  f"({_names([i.filename for i in found])}); keep only one.")
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise SubmissionError(f"the zip contains no {_either(inner)} file to grade.")
    hint = f" or name it {_either(tuple(preferred_names))}" if preferred_names else ""
    raise SubmissionError(
        f"the zip contains several files that could be the submission "
        f"({_names(sorted(i.filename for i in candidates))}); upload only one{hint}.")


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
        raise SubmissionError(f"the zip member {info.filename!r} is damaged or its header "
                              f"lies about its size ({_short(str(exc))}).") from None
    data = b"".join(chunks)
    if len(data) != info.file_size:
        raise SubmissionError(f"the zip member {info.filename!r} is damaged: its header says "
                              f"{info.file_size} bytes, it holds a different amount.")
    return data


# --------------------------------------------------------------------------------------------
# wording


def _too_big(name: str, size: int, limit: int) -> str:
    return f"{name} is {_mb(size)}; the limit is {_mb(limit)}."


def _mb(n: int) -> str:
    return f"{n / (1 << 20):.1f} MB" if n >= 1 << 20 else f"{n / 1024:.0f} KB"


def _either(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _count(n: int, noun: str) -> str:
    if n == 1:
        return f"1 {noun}"
    plural = noun.replace("line", "lines").replace("statement", "statements") \
        .replace("command", "commands").replace("request", "requests") \
        .replace("cell", "cells").replace("file", "files")
    return f"{n} {plural}"


def _cells(numbers) -> str:
    numbers = list(numbers)
    return ("cell " if len(numbers) == 1 else "cells ") + _listing(numbers)


def _listing(values) -> str:
    values = [str(v) for v in values]
    extra = len(values) - MAX_NOTES_LISTED
    return ", ".join(values[:MAX_NOTES_LISTED]) + (f" and {extra} more" if extra > 0 else "")


def _names(names) -> str:
    return _listing(names)


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."
