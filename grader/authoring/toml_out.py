"""Write TOML (the subset ``assignment.toml`` and ``checks.toml`` use), for the public files of a release.

The release writes its public manifest and its visible checks from parsed data, never by copying
text: comments of the instructor's files (which may mention hidden checks or mutants) stay home.
``dumps(doc)`` handles str, bool, int, float (nan/inf included), datetimes and dates, lists,
top-level tables (``[name]``) and arrays of tables (``[[name]]``); anything nested deeper is
written inline (``budget_s = { cpu = 20 }``, ``steps = [{ let = "m", ... }]``). ``tomllib.loads(dumps(doc)) == doc`` for every such ``doc``.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import re

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k: str) -> str:
    if not isinstance(k, str):
        raise TypeError(f"TOML keys are strings, got {type(k).__name__}")
    return k if _BARE.match(k) else json.dumps(k, ensure_ascii=False)


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)   # a JSON string is a TOML basic string
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }" if v else "{}"
    raise TypeError(f"cannot write a {type(v).__name__} as TOML")


def _is_table_array(v) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def _table(doc: dict, out: list[str], top: bool) -> None:
    """Key/value lines of one table; at the top level, sub-tables become ``[name]`` and arrays of
    tables ``[[name]]`` (one level: below that, everything is inline, as the checks are written)."""
    nested = (lambda v: isinstance(v, dict) or _is_table_array(v)) if top else (lambda v: False)
    for k, v in doc.items():
        if not nested(v):
            out.append(f"{_key(k)} = {_value(v)}")
    for k, v in doc.items():
        if isinstance(v, dict) and top:
            out += ["", f"[{_key(k)}]"]
            _table(v, out, False)
        elif _is_table_array(v) and top:
            for item in v:
                out += ["", f"[[{_key(k)}]]"]
                _table(item, out, False)


def dumps(doc: dict, header: str = "") -> str:
    """``doc`` as TOML text, after ``header`` (comment lines, written as given)."""
    out: list[str] = [line for line in header.rstrip("\n").split("\n")] if header else []
    _table(doc, out, True)
    return "\n".join(out).lstrip("\n") + "\n"
