"""The class summary by question: for each notebook question, the class's mean share of its
points, its checks' pass rates (worst first, collapsed) and the most common diagnoses of its
checks (their messages, never the internal codes).

``render_questions_html(rows, by_name, lang)`` takes the rows of ``gradebook.collect`` and
``{check name: question}`` (``questions_by_name``; ``questions_for(out_dir)`` finds it for a
batch) and returns an HTML fragment (escaped, no script); ``gradebook.render_summary_html``
places it under the histogram, in place of the flat per-check table.
"""
from __future__ import annotations

from collections import Counter, OrderedDict

from grader.report._html import esc, fmt_num, inline_markdown
from grader.i18n import tr
from grader.report.questions import question_of_test


def questions_by_name(tests: list[dict], questions: dict[str, str] | None) -> dict[str, str]:
    """``{test name: question}`` from one results.json's tests (names and numbers) and
    ``question_map``'s ``{check number: question}``."""
    return {str(t.get("name", "?")): question_of_test(t, questions) for t in tests if isinstance(t, dict)}


def by_question(rows: list[dict], by_name: dict[str, str], top: int = 3) -> "OrderedDict[str, dict]":
    """``{question: {"got", "max", "checks": [(name, passed, graded)], "diagnoses": [(message,
    count)]}}`` over the rows that loaded, questions in the order their checks first appear."""
    out: OrderedDict[str, dict] = OrderedDict()
    passed, graded, msgs = Counter(), Counter(), {}
    for r in rows:
        if r.get("status") != "ok":
            continue
        for t in r.get("tests", []):
            q = by_name.get(t["name"], "")
            e = out.setdefault(q, {"got": 0.0, "max": 0.0, "names": [], "diag": Counter()})
            e["got"] += t["score"]
            e["max"] += t["max_score"]
            if t["name"] not in e["names"]:
                e["names"].append(t["name"])
            graded[t["name"]] += 1
            passed[t["name"]] += t["status"] == "passed"
        for d in r.get("diagnoses", []):
            q = by_name.get(d["check"], "")
            out.setdefault(q, {"got": 0.0, "max": 0.0, "names": [], "diag": Counter()})
            out[q]["diag"][d["code"]] += 1
            msgs.setdefault(d["code"], Counter())[d["message"]] += 1
    for e in out.values():
        e["checks"] = sorted(((n, passed[n], graded[n]) for n in e.pop("names")),
                             key=lambda c: (c[1] / c[2] if c[2] else 1.0, c[0]))
        e["diagnoses"] = [(msgs[c].most_common(1)[0][0], n) for c, n in e.pop("diag").most_common(top)]
    return out


def render_questions_html(rows: list[dict], by_name: dict[str, str], lang: str = "en") -> str:
    s = tr(lang)
    parts = [f"<h2>{esc(s['by_question'])}</h2>"]
    for q, e in by_question(rows, by_name).items():
        pct = fmt_num(100 * e["got"] / e["max"], 0) if e["max"] else "-"
        name = s["question"].format(q=q) if q else s["other_checks"]
        parts.append(f'<section class="check"><h3>{esc(name)} <span class="muted">'
                     f"{esc(s['question_mean'].format(pct=pct))}</span></h3>")
        if e["diagnoses"]:
            items = "".join(f"<li>{inline_markdown(m)} <span class=\"muted\">×{n}</span></li>" for m, n in e["diagnoses"])
            parts.append(f'<div class="diag"><strong>{esc(s["common_mistakes"])}:</strong><ul>{items}</ul></div>')
        rows_html = "".join(
            f"<tr><td>{esc(n)}</td><td class=\"num\">{p} / {g}</td></tr>" for n, p, g in e["checks"])
        parts.append(f"<details><summary>{esc(s['checks_in_question'].format(n=len(e['checks'])))}</summary>"
                     f"<table><thead><tr><th>{esc(s['check'])}</th><th>{esc(s['pass_rate'])}</th></tr></thead>"
                     f"<tbody>{rows_html}</tbody></table></details></section>")
    return "\n".join(parts)


def questions_for(out_dir) -> dict[str, str] | None:
    """``{test name: question}`` for the batch in ``out_dir``: the questions of the assignment its
    results name (found in the current course), matched on one results.json's tests. None when
    no results name an assignment that can be loaded."""
    import json
    from pathlib import Path

    from grader.assignment import AssignmentError, available, load
    from grader.report.questions import question_map

    for path in sorted(Path(out_dir).glob("*/results.json"))[:50]:
        try:
            res = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            continue
        cg = res.get("convgrade") if isinstance(res, dict) else None
        aid = cg.get("assignment") if isinstance(cg, dict) else None
        if isinstance(aid, str) and isinstance(res.get("tests"), list) and res["tests"] and aid in available():
            try:
                return questions_by_name(res["tests"], question_map(load(aid)))
            except AssignmentError:
                return None
    return None
