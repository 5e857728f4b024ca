"""Static scan of a submission's source for forbidden imports (flagged in the feedback).

The worker refuses forbidden imports at run time; this scan also catches imports in code that
never runs during grading, spelled-out dynamic imports (``__import__("torch")``,
``importlib.import_module("scipy")``) and forbidden submodules reached as attributes of an
allowed module (``np.fft.fft`` when ``numpy.fft`` is forbidden: numpy imports it itself, so the
import blocker never sees it), so a TA sees the attempt.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

ALWAYS_FORBIDDEN = ("grader", "reference", "assignments")


@dataclass
class Finding:
    module: str
    line: int
    how: str   # "import" | "from" | "dynamic" | "attribute"

    def message(self, locate=None) -> str:
        where = locate(self.line) if locate else f"line {self.line}"
        verb = "uses" if self.how == "attribute" else "imports"
        return f"{verb} `{self.module}` ({where}), which this assignment does not allow"


def _matches(name: str, forbidden) -> bool:
    return any(name == f or name.startswith(f + ".") for f in forbidden)


def scan_imports(source: str, forbidden) -> list[Finding]:
    from .submission import PARSE_LOCK

    forbidden = tuple(forbidden) + ALWAYS_FORBIDDEN
    try:
        with PARSE_LOCK:
            tree = ast.parse(source)
    except SyntaxError:
        return []
    found: list[Finding] = []
    aliases = _module_aliases(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            # The shortest forbidden name the chain falls under; a bare top-level module is already
            # flagged at its import. Inner links of a chain give the same finding (deduplicated below).
            root, attrs = _chain(node)
            dotted = ".".join([aliases[root]] + attrs) if root in aliases else ""
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
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            fname = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if fname in ("__import__", "import_module") and _matches(node.args[0].value, forbidden):
                found.append(Finding(node.args[0].value, node.lineno, "dynamic"))
    unique = {(f.line, f.module): f for f in found}
    return sorted(unique.values(), key=lambda f: (f.line, f.module))


def _module_aliases(tree: ast.AST) -> dict[str, str]:
    """Names bound to modules by imports: ``import numpy as np`` -> ``{"np": "numpy"}``,
    ``import numpy.linalg`` -> ``{"numpy": "numpy"}``, ``from numpy import fft`` -> ``{"fft":
    "numpy.fft"}``."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
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


# Shortcuts in training assignments: trained weights loaded from files instead of trained.
_LOADERS = {("torch", "load"), ("np", "load"), ("numpy", "load"), ("torch", "jit"), ("hub", "load"),
            ("torch", "hub"), ("pickle", "load"), ("pickle", "loads"), ("joblib", "load")}


def scan_shortcuts(source: str, allow_weight_files: bool = False) -> list[tuple[int, str]]:
    """``[(line, message)]`` for code that loads trained weights instead of training them.

    Flags ``torch.load``, ``np.load``, ``torch.hub``/``hub.load``, ``torch.jit.load``,
    ``pickle.load(s)``, ``joblib.load``, ``load_state_dict_from_url`` and ``open(..., "rb")``.
    Nothing is flagged when the assignment allows weight files. (Files shipped next to the
    graded module in a zip never reach the sandbox: ``grader.submission`` keeps one file.)
    """
    if allow_weight_files:
        return []
    try:
        tree = ast.parse(source)   # thread-safe: see grader/_threadsafe_ast.py
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        root, attrs = _chain(node.func)
        parts = ([root] if root else []) + attrs
        dotted = ".".join(parts)
        pairs = set(zip(parts, parts[1:]))
        if pairs & _LOADERS or (parts and parts[-1] in ("load_state_dict_from_url", "load_url")):
            found.append((node.lineno, f"`{dotted}(...)` loads saved data (weights?) instead of training"))
        elif parts == ["open"]:
            mode = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "mode"),
                                                                 None)
            if isinstance(mode, ast.Constant) and isinstance(mode.value, str) and "b" in mode.value \
                    and "r" in mode.value:
                found.append((node.lineno, "`open(..., 'rb')` reads a binary file (saved weights?)"))
    return sorted(found)
