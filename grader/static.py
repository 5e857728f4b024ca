"""Static scan of a submission's source for forbidden imports (flagged in the feedback).

The worker refuses forbidden imports at run time; this scan also catches imports in code that
never runs during grading and spelled-out dynamic imports (``__import__("torch")``,
``importlib.import_module("scipy")``), so a TA sees the attempt.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

ALWAYS_FORBIDDEN = ("grader", "reference", "assignments")


@dataclass
class Finding:
    module: str
    line: int
    how: str   # "import" | "from" | "dynamic"

    def message(self, locate=None) -> str:
        where = locate(self.line) if locate else f"line {self.line}"
        return f"imports `{self.module}` ({where}), which this assignment does not allow"


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
    for node in ast.walk(tree):
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
    return sorted(found, key=lambda f: f.line)
