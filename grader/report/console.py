"""What ``convgrade check`` prints, in the student's language (strings from ``i18n``).

``check_report(results, lang, verbose)`` returns the lines: load error, notes, flagged findings,
one PASS/FAIL line per check (with its feedback when failed, or always when ``verbose``) and the
closing count. Colour is added by the caller (click.style on the marks).
"""
from __future__ import annotations

from grader.inert import terminal_text
from grader.i18n import tr


def check_report(results: dict, lang: str = "en", verbose: bool = False, style=None) -> list[str]:
    """Lines for the terminal; ``style(text, ok)`` colours a PASS/FAIL mark (default: none)."""
    s = tr(lang)
    style = style or (lambda text, ok: text)
    cg = results.get("convgrade") or {}
    out = []
    if cg.get("load_error"):
        out.append(terminal_text(str(cg["load_error"])))
    # student bytes (names, messages, stdout) never reach the terminal with control characters
    out += [f"{s['cli_note']}: {terminal_text(n)}" for n in cg.get("notes", [])]
    out += [f"{s['cli_flagged']}: {terminal_text(f)}" for f in cg.get("static_findings", [])]
    tests = results.get("tests") or []
    for t in tests:
        ok = t.get("status") == "passed"
        mark = style(s["cli_pass"] if ok else s["cli_fail"], ok)
        out.append(f"{mark} {terminal_text(t.get('name', '?'))}  ({t.get('score', 0):g}/{t.get('max_score', 0):g})")
        if not ok or verbose:
            out += [f"     {line}" for line in terminal_text(str(t.get("output") or "")).splitlines()]
    passed = sum(t.get("status") == "passed" for t in tests)
    out += ["", s["cli_summary"].format(n=passed, total=len(tests))]
    return out
