"""Static scan of a submission's source for forbidden imports (flagged in the feedback), and for
imports of packages the grading environment does not have (a note, in ``convgrade check``).

The worker refuses forbidden imports at run time; this scan also catches imports in code that
never runs during grading, spelled-out dynamic imports (``__import__("torch")``,
``importlib.import_module("scipy")``) and forbidden submodules reached as attributes of an
allowed module (``np.fft.fft`` when ``numpy.fft`` is forbidden: numpy imports it itself, so the
import blocker never sees it), and imports by a computed name (``__import__("to" + "rch")``,
``importlib.import_module(name)``), so a TA sees the attempt. Under bubblewrap the forbidden
packages are not even on the sandbox's filesystem (grader/sandbox/isolation.py).
"""
from __future__ import annotations

import ast
import sys
from dataclasses import dataclass

from .i18n import t

ALWAYS_FORBIDDEN = ("grader", "reference", "assignments")
# Calls that import a module named by their first argument; with a non-literal name the import
# itself is the finding (``__import__("to" + "rch")``), whatever the module turns out to be.
DYNAMIC_IMPORTS = ("__import__", "import_module")
COMPUTED = "<computed name>"


@dataclass
class Finding:
    module: str
    line: int
    how: str   # "import" | "from" | "dynamic" | "computed" | "attribute" | "not_installed"

    def message(self, locate=None) -> str:
        """The finding as a sentence for the feedback, in the current language."""
        where = locate(self.line) if locate else t("loading.where.line", line=self.line)
        if self.how == "computed":
            return t("loading.static.computed_import", where=where)
        if self.how == "not_installed":
            return t("loading.static.not_installed", module=self.module, where=where)
        key = "loading.static.uses" if self.how == "attribute" else "loading.static.imports"
        return t(key, module=self.module, where=where)


def _matches(name: str, forbidden) -> bool:
    return any(name == f or name.startswith(f + ".") for f in forbidden)


def _parsed(source: str):
    """The source's shared parse (``grader._threadsafe_ast.parsed``: the loader's, when it parsed
    the same text), or None when it does not parse."""
    from ._threadsafe_ast import parsed

    try:
        return parsed(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def scan_imports(source: str, forbidden) -> list[Finding]:
    forbidden = tuple(forbidden) + ALWAYS_FORBIDDEN
    tree = _parsed(source)
    if tree is None:
        return []
    found: list[Finding] = []
    nodes = tree.nodes
    aliases = _module_aliases(nodes)
    attribute, imp, imp_from, call = ast.Attribute, ast.Import, ast.ImportFrom, ast.Call
    for node in nodes:
        kind = type(node)           # a parsed tree holds exact node classes
        if kind is not attribute and kind is not imp and kind is not imp_from and kind is not call:
            continue
        if isinstance(node, ast.Attribute):
            # The shortest forbidden name the chain falls under; a bare top-level module is already
            # flagged at its import. Inner links of a chain give the same finding (deduplicated below).
            root, attrs = _chain(node)
            if root in aliases:
                dotted = ".".join([aliases[root]] + attrs)
                hit = min((f for f in forbidden if _matches(dotted, (f,))), key=len, default=None)
                if hit and "." in hit:
                    found.append(Finding(hit, node.lineno, "attribute"))
        if isinstance(node, ast.Import):
            found += [Finding(a.name, node.lineno, "import") for a in node.names if _matches(a.name, forbidden)]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            hit = next((n for n in names if _matches(n, forbidden)), None)
            if hit:
                found.append(Finding(hit, node.lineno, "from"))
        elif isinstance(node, ast.Call):
            func = node.func
            fname = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if isinstance(func, ast.Name) and func.id in aliases:   # from importlib import import_module as im
                fname = aliases[func.id].rsplit(".", 1)[-1]
            if fname not in DYNAMIC_IMPORTS:
                continue
            name = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "name"), None)
            if isinstance(name, ast.Constant) and isinstance(name.value, str):
                if _matches(name.value, forbidden):
                    found.append(Finding(name.value, node.lineno, "dynamic"))
            else:   # __import__("to" + "rch"): the scan cannot tell which module, so the attempt is the finding
                found.append(Finding(COMPUTED, node.lineno, "computed"))
    unique = {(f.line, f.module): f for f in found}
    return sorted(unique.values(), key=lambda f: (f.line, f.module))


# ----------------------------------------------------------------------------- not installed

# exception names whose handler makes an import inside the ``try`` optional
_IMPORT_GUARDS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})


def installed_modules(forbidden=()) -> list[str]:
    """Top-level import names of the third-party packages installed in this Python environment,
    minus the forbidden ones and the grader's own: what a submission can import where the assignment
    is released (``[imports] installed`` of the release's assignment.toml, read by
    :func:`scan_not_installed`)."""
    from importlib import metadata

    blocked = tuple(forbidden) + ALWAYS_FORBIDDEN
    tops = metadata.packages_distributions()
    # a forbidden package's distribution takes its other top-level names along (torch: functorch)
    gone = {d for name, dists in tops.items() if _matches(name, blocked) for d in dists}
    return sorted(name for name, dists in tops.items()
                  if name.isidentifier() and not name.startswith("_") and not _matches(name, blocked)
                  and not gone.intersection(dists))


def _guards_imports(handler: ast.ExceptHandler) -> bool:
    kinds = handler.type
    if kinds is None:
        return True
    names = kinds.elts if isinstance(kinds, ast.Tuple) else [kinds]
    return any((n.id if isinstance(n, ast.Name) else n.attr if isinstance(n, ast.Attribute) else "") in _IMPORT_GUARDS
               for n in names)


def scan_not_installed(source: str, installed, forbidden=()) -> list[Finding]:
    """Imports of a top-level module that is neither the standard library nor ``installed`` (nor
    forbidden: :func:`scan_imports` reports those): they work on the student's machine and fail
    where the assignment is graded. An import inside a ``try`` that catches ``ImportError`` (or
    wider) is optional and not reported. One finding per module, at its first import."""
    tree = _parsed(source)
    if tree is None:
        return []
    known = set(installed) | set(sys.stdlib_module_names) | {"__future__"}
    blocked = tuple(forbidden) + ALWAYS_FORBIDDEN
    found: dict[str, Finding] = {}
    todo = [(tree.tree, False)]
    while todo:                                  # iterative: no depth limit
        node, guarded = todo.pop()
        if isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            catches = guarded or any(_guards_imports(h) for h in node.handlers)
            todo += [(c, catches) for c in node.body]
            todo += [(c, guarded) for c in [*node.handlers, *node.orelse, *node.finalbody]]
            continue
        names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                 [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else [])
        for name in names:
            top = name.split(".")[0]
            if not guarded and top not in known and not _matches(name, blocked):
                if top not in found or node.lineno < found[top].line:
                    found[top] = Finding(top, node.lineno, "not_installed")
        todo += [(c, guarded) for c in ast.iter_child_nodes(node)]
    return sorted(found.values(), key=lambda f: (f.line, f.module))


def _module_aliases(nodes) -> dict[str, str]:
    """Names bound to modules by imports: ``import numpy as np`` -> ``{"np": "numpy"}``,
    ``import numpy.linalg`` -> ``{"numpy": "numpy"}``, ``from numpy import fft`` -> ``{"fft":
    "numpy.fft"}``. ``nodes``: a tree, or its nodes in ``ast.walk`` order."""
    from ._threadsafe_ast import walk

    aliases: dict[str, str] = {}
    for node in walk(nodes) if isinstance(nodes, ast.AST) else nodes:
        if type(node) is not ast.Import and type(node) is not ast.ImportFrom:
            continue
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    aliases[a.asname] = a.name
                else:
                    top = a.name.split(".")[0]
                    aliases[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    return aliases


def _chain(node: ast.expr) -> tuple[str | None, list[str]]:
    """``np.fft.fft`` -> ``("np", ["fft", "fft"])``; the root is None when the chain does not
    start at a plain name (``f().load``)."""
    attrs = []
    while isinstance(node, ast.Attribute):
        attrs.append(node.attr)
        node = node.value
    return (node.id if isinstance(node, ast.Name) else None), attrs[::-1]


# Shortcuts in training assignments: trained weights loaded from files, or carried in the source,
# instead of trained. Names are resolved through the module's imports (``import torch as t``,
# ``from torch import load``, ``getattr(t, "load")``), so an alias is the same finding.
LOADERS = ("torch.load", "torch.jit.load", "torch.hub", "torch.utils.model_zoo", "torch.serialization",
           "torch.package", "numpy.load", "numpy.fromfile", "numpy.memmap", "pickle.load", "pickle.loads",
           "pickle.Unpickler", "joblib.load", "dill.load", "dill.loads", "cloudpickle.load", "cloudpickle.loads",
           "marshal.load", "marshal.loads", "safetensors", "shelve.open")
LOADER_NAMES = ("load_state_dict_from_url", "load_url")
# Modules whose attributes reached by a computed name (``getattr(t, "lo" + "ad")``) are flagged.
SENSITIVE_MODULES = ("torch", "numpy", "pickle", "joblib", "dill", "cloudpickle", "marshal", "importlib",
                     "builtins", "io", "os", "pathlib", "base64", "codecs", "zlib", "lzma", "bz2", "gzip")
DEFAULT_ALIASES = {"np": "numpy"}
MAX_LITERAL = 4096         # characters (or numbers x 8) of one literal before it is reported as embedded data
MAX_BLOB_TOTAL = 8192      # characters of base64/hex-looking literals in the whole module
_BLOB_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-\\x")


def _resolve(node: ast.expr, aliases: dict[str, str]) -> str:
    """The dotted name an expression stands for through the imports (``t.load`` -> ``torch.load``,
    ``getattr(t, "load")`` -> ``torch.load``); "" when it is not a plain name chain."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" \
            and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str):
        base = _resolve(node.args[0], aliases)
        return f"{base}.{node.args[1].value}" if base else ""
    root, attrs = _chain(node)
    if root is None:
        if isinstance(node, ast.Attribute):   # getattr(t, "jit").load
            inner = node
            tail = []
            while isinstance(inner, ast.Attribute):
                tail.append(inner.attr)
                inner = inner.value
            base = _resolve(inner, aliases)
            return ".".join([base] + tail[::-1]) if base else ""
        return ""
    base = aliases.get(root, DEFAULT_ALIASES.get(root, root))
    return ".".join([base] + attrs)


def _is_loader(dotted: str) -> bool:
    return bool(dotted) and (_matches(dotted, LOADERS) or dotted.rsplit(".", 1)[-1] in LOADER_NAMES)


def _docstrings(nodes) -> set[int]:
    ids = set()
    for node in nodes:
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def _payload(node: ast.expr) -> int:
    """Characters of data a literal carries: strings and bytes by length, numbers as 8 each
    (containers, ``+`` chains and unary signs summed; iterative, so no depth can crash it)."""
    total, todo = 0, [node]
    while todo:
        n = todo.pop()
        if isinstance(n, ast.Constant):
            v = n.value
            if isinstance(v, (str, bytes)):
                total += len(v)
            elif isinstance(v, (int, float, complex)) and not isinstance(v, bool):
                total += 8
        elif isinstance(n, (ast.List, ast.Tuple, ast.Set)):
            todo.extend(n.elts)
        elif isinstance(n, ast.Dict):
            todo.extend(k for k in n.keys if k is not None)
            todo.extend(n.values)
        elif isinstance(n, ast.BinOp) and isinstance(n.op, ast.Add):
            todo += [n.left, n.right]
        elif isinstance(n, ast.UnaryOp):
            todo.append(n.operand)
    return total


def _looks_like_blob(value) -> bool:
    if isinstance(value, bytes):
        return len(value) >= 64
    return isinstance(value, str) and len(value) >= 64 and " " not in value and set(value) <= _BLOB_CHARS


def scan_shortcuts(source: str, allow_weight_files: bool = False) -> list[tuple[int, str]]:
    """``[(line, message)]`` for code that loads trained weights instead of training them.

    Flags every reference to a loader (:data:`LOADERS`: ``torch.load``, ``np.load``,
    ``torch.hub``, ``torch.jit.load``, ``pickle.load(s)``, ``joblib.load``, ...,
    ``load_state_dict_from_url``) however it is spelled: through an alias, a from-import or
    ``getattr`` with a literal name; ``getattr`` with a computed name on torch, numpy, pickle & co.;
    ``open(..., "rb")`` (or a computed mode); and data embedded in the source: one literal of
    more than :data:`MAX_LITERAL` characters (numbers count 8), or more than
    :data:`MAX_BLOB_TOTAL` characters of base64/hex-looking strings and bytes in all. Nothing is
    flagged when the assignment allows weight files. (At run time the sandbox holds no file the
    grader did not put there: ``grader.submission`` keeps one source file and bubblewrap shows only
    the Python environment, with forbidden packages and dataset folders masked.)
    """
    if allow_weight_files:
        return []
    tree = _parsed(source)
    if tree is None:
        return []
    nodes = tree.nodes
    aliases = _module_aliases(nodes)
    docs = _docstrings(nodes)
    inner = set()     # sub-expressions of a reported chain or literal (reported once, at the outermost)
    for node in nodes:
        if isinstance(node, ast.Attribute):
            inner.add(id(node.value))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr":
            inner.update(id(a) for a in node.args)
        elif isinstance(node, (ast.List, ast.Tuple, ast.Set, ast.Dict, ast.BinOp, ast.UnaryOp)):
            inner.update(id(c) for c in ast.iter_child_nodes(node))
    found: dict[int, str] = {}
    blob_total, blob_line = 0, None

    def add(line, message):
        found.setdefault(line, message)

    for node in nodes:
        line = getattr(node, "lineno", 0)
        if isinstance(node, (ast.Attribute, ast.Name)) and id(node) not in inner and isinstance(node.ctx, ast.Load):
            dotted = _resolve(node, aliases)
            if _is_loader(dotted):
                add(line, t("loading.static.loads_saved", name=dotted))
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "getattr" and len(node.args) >= 2:
                base = _resolve(node.args[0], aliases)
                name = node.args[1]
                if isinstance(name, ast.Constant) and isinstance(name.value, str):
                    if _is_loader(f"{base}.{name.value}") and id(node) not in inner:
                        add(line, t("loading.static.loads_saved_getattr", name=f"{base}.{name.value}"))
                elif base and _matches(base, SENSITIVE_MODULES):
                    add(line, t("loading.static.getattr_computed", base=base))
            elif isinstance(func, ast.Name) and func.id == "open":
                mode = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "mode"),
                                                                     None)
                if isinstance(mode, ast.Constant) and isinstance(mode.value, str):
                    if "b" in mode.value and "r" in mode.value:
                        add(line, t("loading.static.open_rb"))
                elif mode is not None:
                    add(line, t("loading.static.open_computed"))
        if isinstance(node, (ast.Constant, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.BinOp, ast.UnaryOp)) \
                and id(node) not in inner and id(node) not in docs:
            size = _payload(node)
            if size > MAX_LITERAL:
                add(line, t("loading.static.big_literal", size=f"{size:,}"))
        if isinstance(node, ast.Constant) and id(node) not in docs and _looks_like_blob(node.value):
            blob_total += len(node.value)
            blob_line = blob_line or line
    if blob_total > MAX_BLOB_TOTAL and blob_line is not None:
        add(blob_line, t("loading.static.encoded_blob", size=f"{blob_total:,}"))
    return sorted(found.items())
