"""Per-student feedback from one results.json dict (docs/ARCHITECTURE.md, "Checks and results").

``render_markdown(results, lang)`` and ``render_html(results, lang)`` show, in order: the title
(assignment, student), total score / max, the late penalty, notes from loading, a load error if
the submission never ran, the table of checks, then for each failed check its Markdown ``output``,
``extra_data.case`` (visible checks only), ``extra_data.diagnoses`` and a picture of
``extra_data.heatmap`` (|error| per channel) or ``extra_data.curve`` (training curve); a footer
names the isolation level.

Hidden checks (``grader.results.hidden_inputs``: ``extra_data.hidden_inputs``) show only what the grader already wrote into ``output``
and the diagnoses: never the case, the heatmap or the curve, which could leak hidden inputs.
The HTML page is self-contained (inline CSS and SVG, no script, no URL) and every string from
results.json is escaped.
"""
from __future__ import annotations

import json

import numpy as np

from grader.report._html import (esc, fmt_err, fmt_num, inline_markdown, markdown_to_html, page,
                                 svg_heatmap, svg_line_chart)
from grader.i18n import tr
from grader.report.questions import group_by_question
from grader.results import hidden_inputs, output_prefixes, summary_prefixes
from grader.inert import inert_markdown, md_text

SHADES = " ░▒▓█"
SERIES_COLORS = ["#4c78a8", "#f58518", "#54a24b", "#b279a2", "#e45756", "#72b7b2"]


# ----------------------------------------------------------------------------------------------
# Reading results.json defensively (it may come from an older or partial run)
# ----------------------------------------------------------------------------------------------
def _cg(results: dict) -> dict:
    cg = results.get("convgrade")
    return cg if isinstance(cg, dict) else {}


def assignment_title(results: dict) -> str:
    """The assignment's display name: ``convgrade.assignment`` is an id string or a dict with
    ``title``/``id``."""
    a = _cg(results).get("assignment")
    if isinstance(a, dict):
        return str(a.get("title") or a.get("id") or "")
    return "" if a is None else str(a)


def student_label(results: dict) -> str:
    cg = _cg(results)
    student, name = cg.get("student"), cg.get("name")
    if name and student and str(name) != str(student):
        return f"{name} ({student})"
    return str(name or student or "?")


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in ("reason", "message", "error"):
            if isinstance(value.get(key), str):
                return value[key]
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def load_error_text(results: dict) -> str:
    """The reason the submission could not be loaded or run, or ``""``."""
    return _as_text(_cg(results).get("load_error"))


def _notes(results: dict) -> list[str]:
    notes = _cg(results).get("notes") or []
    if isinstance(notes, str):
        notes = [notes]
    return [_as_text(n) for n in notes if n]


def tests_of(results: dict) -> list[dict]:
    tests = results.get("tests") or []
    return [t for t in tests if isinstance(t, dict)]


def test_status(test: dict) -> str:
    """``passed``/``failed``: the test's own status, else score ≥ max_score."""
    status = test.get("status")
    if status in ("passed", "failed"):
        return status
    try:
        return "passed" if float(test.get("score", 0)) >= float(test.get("max_score", 0)) else "failed"
    except (TypeError, ValueError):
        return "failed"


def max_score(results: dict) -> float:
    """Sum of ``max_score`` over the tests (Gradescope has no top-level maximum)."""
    total = 0.0
    for t in tests_of(results):
        try:
            total += float(t.get("max_score", 0) or 0)
        except (TypeError, ValueError):
            pass
    return total


def total_score(results: dict) -> float:
    score = results.get("score")
    if score is None:
        score = sum(float(t.get("score", 0) or 0) for t in tests_of(results))
    return float(score)


def _late(results: dict) -> dict | None:
    late = _cg(results).get("late")
    return late if isinstance(late, dict) else None


def _late_line(results: dict, s: dict) -> str:
    late = _late(results)
    if not late:
        return ""
    pct = fmt_num(100 * float(late.get("penalty_fraction", 0) or 0), 1)
    return s["late"].format(days=fmt_num(late.get("days_late")), pct=pct, raw=fmt_num(late.get("raw_score")))


def _isolation_line(results: dict, s: dict) -> str:
    iso = _cg(results).get("isolation") or {}
    if not isinstance(iso, dict):
        iso = {"level": iso}
    parts = [f"{s['isolation']}: {iso.get('level', '?')}"]
    details = iso.get("details")
    if isinstance(details, list):
        parts.append("; ".join(_as_text(d) for d in details if d))
    elif details:
        parts.append(_as_text(details))
    if results.get("execution_time") is not None:
        parts.append(s["time"].format(t=fmt_num(results["execution_time"])))
    version = _cg(results).get("version")
    if version:
        parts.append(f"convgrade {version}")
    return " · ".join(parts)


def _extra(test: dict) -> dict:
    extra = test.get("extra_data")
    return extra if isinstance(extra, dict) else {}


def _diagnoses(test: dict) -> list[tuple[str, str]]:
    out = []
    for d in _extra(test).get("diagnoses") or []:
        if isinstance(d, dict):
            out.append((str(d.get("code", "")), _as_text(d.get("message", ""))))
        elif d:
            out.append(("", _as_text(d)))
    return out


def _is_hidden(test: dict) -> bool:
    """Judged on inputs the student never sees (``grader.results.hidden_inputs``), or not a
    ``visible`` row at all (after_due_date): such a row shows no case, heatmap or curve."""
    return hidden_inputs(test) or test.get("visibility", "visible") != "visible"


def _channels(heatmap: dict) -> list[np.ndarray]:
    """The 2-D |error| maps of a heatmap entry; malformed channels are skipped."""
    chans = []
    for ch in heatmap.get("channels") or []:
        try:
            a = np.asarray(ch, dtype=np.float64)
        except (TypeError, ValueError):
            continue
        if a.ndim == 2 and a.size:
            chans.append(np.abs(a))
    return chans


def _channel_max(chans: list[np.ndarray]) -> float:
    finite = [c[np.isfinite(c)] for c in chans]
    vals = np.concatenate([f for f in finite if f.size] or [np.zeros(1)])
    return float(vals.max())


# ----------------------------------------------------------------------------------------------
# Markdown
# ----------------------------------------------------------------------------------------------
def _md_cell(text) -> str:
    return inert_markdown(str(text)).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def text_heatmap(channel, vmax: float) -> list[str]:
    """Unicode shading of one |error| map ``(H, W)`` -> H lines of 2·W characters.

    A cell is ``' '`` when its error is 0, otherwise one of ``░▒▓█`` for (0, ¼], (¼, ½], (½, ¾],
    (¾, 1] of ``vmax``; ``!`` when not finite. Each cell is two characters wide so the block keeps
    roughly the map's aspect ratio in a monospace font.
    """
    a = np.abs(np.asarray(channel, dtype=np.float64))
    if a.ndim != 2:
        raise ValueError(f"channel: expected a 2-D map, got shape {a.shape}")
    finite = np.isfinite(a)
    frac = np.where(finite, np.where(finite, a, 0.0) / vmax if vmax > 0 else 0.0, 0.0)
    idx = np.where(frac <= 0, 0, np.clip(np.ceil(frac * 4), 1, 4)).astype(int)
    chars = np.array(list(SHADES))[idx]
    chars = np.where(finite, chars, "!")
    chars = np.repeat(chars, 2, axis=1)
    return ["│" + "".join(row) + "│" for row in chars]


def _curve_summary(curve: dict, s: dict) -> list[str]:
    x = list(curve.get("x") or [])
    lines = []
    for name, ys in (curve.get("series") or {}).items():
        try:
            y = np.asarray(ys, dtype=np.float64)
        except (TypeError, ValueError):
            continue
        if y.ndim != 1 or y.size == 0:
            continue
        xs = x if len(x) == y.size else list(range(y.size))
        fin = np.isfinite(y)
        if fin.any():
            yf = np.where(fin, y, np.nan)
            imin, imax = int(np.nanargmin(yf)), int(np.nanargmax(yf))
            first = int(np.argmax(fin))
            last = int(len(y) - 1 - np.argmax(fin[::-1]))
            lines.append(s["curve_series"].format(
                name=name, first=fmt_err(y[first]), last=fmt_err(y[last]), n=int(y.size),
                min=fmt_err(y[imin]), xmin=fmt_num(xs[imin], 3), max=fmt_err(y[imax]),
                xmax=fmt_num(xs[imax], 3)))
        if not fin.all():
            lines.append(s["curve_nonfinite"].format(name=name, x=fmt_num(xs[int(np.argmin(fin))], 3)))
    return lines


# ----------------------------------------------------------------------------------------------
# What each section shows (shared by Markdown and HTML so both keep the same order)
# ----------------------------------------------------------------------------------------------
_CASE_PREFIXES = output_prefixes("grading.case_prefix")            # "Case:", "Случай:"
_DIAG_PREFIXES = output_prefixes("grading.likely_mistake_prefix")  # "**Likely mistake:**", ...


def _after(p: str, prefixes: tuple[str, ...]) -> str | None:
    """``p`` without the first of ``prefixes`` it starts with; None when it starts with none."""
    return next((p[len(x):].strip() for x in prefixes if p.startswith(x)), None)


def _split_output(test: dict) -> tuple[str, str, list[str]]:
    """``(case, body, diagnoses)`` of a failed test, each said once.

    The checks write the case as a ``Case: ...`` paragraph and each diagnosis as a
    ``**Likely mistake:** ...`` paragraph of ``output``; the diagnoses are also in
    ``extra_data.diagnoses``. The case comes from ``extra_data.case`` (visible checks only) or the
    output's ``Case:`` paragraph; the diagnoses from ``extra_data`` (their messages, never their
    internal codes) or, failing that, the output's paragraphs; the body is the rest of the output.
    """
    diags = [msg for _code, msg in _diagnoses(test) if msg]
    case = "" if _is_hidden(test) else _as_text(_extra(test).get("case"))
    body, from_output = [], []
    for para in str(test.get("output") or "").strip().split("\n\n"):
        p = para.strip()
        if not p:
            continue
        if (rest := _after(p, _CASE_PREFIXES)) is not None:
            if not case:
                case = rest
            continue
        if (rest := _after(p, _DIAG_PREFIXES)) is not None:
            from_output.append(rest)
            continue
        if any(m.strip() and m.strip() in p for m in diags):
            continue
        body.append(para)
    return case, "\n\n".join(body), diags or from_output


def _summary_paragraphs(results: dict) -> list[str]:
    """Paragraphs of the top-level ``output`` that the page does not already show (its title and
    score line, the late penalty, the load error and the notes are shown once, from the
    ``convgrade`` block)."""
    known = {load_error_text(results).strip()} | {n.strip() for n in _notes(results)}
    out = []
    paras = [p.strip() for p in str(results.get("output") or "").split("\n\n") if p.strip()]
    for i, p in enumerate(paras):
        if (i == 0 and " — " in p) or p in known or p.startswith(summary_prefixes()):
            continue
        out.append(p)
    return out


def _findings(results: dict) -> list[str]:
    found = _cg(results).get("static_findings") or []
    if isinstance(found, str):
        found = [found]
    return [_as_text(f) for f in found if f]


def _grouped(results: dict, questions: dict[str, str] | None):
    """``(failed groups, passed groups)``: each a list of ``(question, tests)``; questions with a
    failure keep the notebook's order, their passed tests go to the passed groups."""
    groups = group_by_question(tests_of(results), questions)
    failed = [(q, [t for t in ts if test_status(t) == "failed"]) for q, ts in groups.items()]
    passed = [(q, [t for t in ts if test_status(t) == "passed"]) for q, ts in groups.items()]
    return [g for g in failed if g[1]], [g for g in passed if g[1]], groups


def _points(tests: list[dict]) -> tuple[float, float]:
    got = total = 0.0
    for t in tests:
        try:
            got += float(t.get("score", 0) or 0)
            total += float(t.get("max_score", 0) or 0)
        except (TypeError, ValueError):
            pass
    return got, total


def _question_title(q: str, tests: list[dict], s: dict) -> str:
    """The question's heading with its points over all its checks (passed ones included)."""
    got, total = _points(tests)
    name = s["question"].format(q=md_text(q)) if q else s["other_checks"]
    return f"{name} ({fmt_num(got)} / {fmt_num(total)})"


def _passed_count(results: dict, s: dict) -> str:
    tests = tests_of(results)
    return s["checks_passed"].format(n=sum(test_status(t) == "passed" for t in tests), total=len(tests))


def render_markdown(results: dict, lang: str = "en", questions: dict[str, str] | None = None) -> str:
    """Feedback for one student as Markdown, in the order of the HTML page: score summary, failed
    checks grouped by question, then the passed checks (``questions``: ``question_map``)."""
    s = tr(lang)
    if not isinstance(results, dict):
        raise ValueError(f"results: expected a dict, got {type(results).__name__}")
    title = assignment_title(results)
    # names, ids, notes and outputs carry student bytes: Markdown-escaped or made inert
    out = [f"# {inert_markdown(title) + ' — ' if title else ''}"
           f"{s['feedback_for'].format(student=md_text(student_label(results)))}", ""]
    tests = tests_of(results)
    out += [f"**{s['total']}: {fmt_num(total_score(results))} / {fmt_num(max_score(results))}**"
            + (f" · {_passed_count(results, s)}" if tests else ""), ""]
    late = _late_line(results, s)
    if late:
        out += [f"> {late}", ""]
    err = load_error_text(results)
    if err:
        out += [f"## {s['load_error']}", "", "```", err.replace("```", "ˋˋˋ"), "```", ""]
    notes = _notes(results)
    if notes:
        out += [f"**{s['notes']}:**", ""] + [f"- {inert_markdown(n)}" for n in notes] + [""]
    found = _findings(results)
    if found:
        out += [f"**{s['flagged']}:**", ""] + [f"- {inert_markdown(f)}" for f in found] + [""]
    extra_summary = _summary_paragraphs(results)
    if extra_summary:
        out += [f"**{s['summary_output']}:**", ""] + [inert_markdown(p) for p in extra_summary] + [""]

    failed_groups, passed_groups, all_groups = _grouped(results, questions)
    if not tests:
        out += [s["no_checks"], ""]
    elif failed_groups:
        out += [f"## {s['failed_checks']}", ""]
    else:
        out += [s["all_passed"], ""]
    for q, group in failed_groups:
        if q or len(failed_groups) > 1:
            out += [f"### {_question_title(q, all_groups[q], s)}", ""]
        for t in group:
            out += _md_failure(t, s)
    if passed_groups:
        out += [f"## {s['passed_checks']}", "", f"| {s['check']} | {s['score']} | {s['status']} |", "|---|---:|---|"]
        for q, group in passed_groups:
            for t in group:
                name = f"{q}: {t.get('name', '?')}" if q else t.get("name", "?")
                hid = f" ({s['hidden']})" if _is_hidden(t) else ""
                out.append(f"| {_md_cell(name)} | {fmt_num(t.get('score'))} / {fmt_num(t.get('max_score'))} "
                           f"| {s['passed']}{hid} |")
        out.append("")
    out += ["---", f"*{_isolation_line(results, s)}*", ""]
    return "\n".join(out)


def _md_failure(t: dict, s: dict) -> list[str]:
    out = [f"#### {inert_markdown(t.get('name', '?'))} ({fmt_num(t.get('score'))} / {fmt_num(t.get('max_score'))})"
           + (f" — {s['hidden']}" if _is_hidden(t) else ""), ""]
    case, body, diags = _split_output(t)
    if case:
        out += [f"*{s['case']}:* {inert_markdown(case)}", ""]
    if body:
        out += [inert_markdown(body.strip()), ""]
    for msg in diags:
        out += [f"> **{s['diagnoses']}:** {inert_markdown(msg)}", ""]
    if _is_hidden(t):
        return out
    extra = _extra(t)
    heat = extra.get("heatmap")
    if isinstance(heat, dict):
        chans = _channels(heat)
        if chans:
            vmax = _channel_max(chans)
            block = [str(heat.get("title") or ""), s["heatmap_legend"].format(vmax=fmt_err(vmax))]
            for c, ch in enumerate(chans):
                block += ["", s["heatmap_channel"].format(c=c)] + text_heatmap(ch, vmax)
            out += ["```text"] + block + ["```", ""]
    curve = extra.get("curve")
    if isinstance(curve, dict):
        lines = _curve_summary(curve, s)
        if lines:
            out += [f"**{s['curve']}:**", ""] + [f"- {line}" for line in lines] + [""]
    return out


# ----------------------------------------------------------------------------------------------
# HTML
# ----------------------------------------------------------------------------------------------
def _html_heatmap(heat: dict, s: dict, uid: str) -> str:
    """One SVG per channel; all channels share one colour scale (the largest finite error of the
    check) so a hot channel stands out from a cold one."""
    chans = _channels(heat)
    if not chans:
        return ""
    vmax = _channel_max(chans)
    legend = s["max_error"].format(vmax=fmt_err(vmax))
    figs = [svg_heatmap(ch, s["heatmap_channel"].format(c=c), legend, f"{uid}c{c}", vmax=vmax)
            for c, ch in enumerate(chans)]
    title = f"<h4>{esc(heat.get('title'))}</h4>" if heat.get("title") else ""
    return f'{title}<div class="figs">{"".join(figs)}</div>'


def _html_curve(curve: dict, s: dict) -> str:
    series = curve.get("series") or {}
    x = list(curve.get("x") or [])
    figs = []
    for i, (name, ys) in enumerate(series.items()):
        try:
            y = np.asarray(ys, dtype=np.float64)
        except (TypeError, ValueError):
            continue
        if y.ndim != 1 or y.size == 0:
            continue
        xs = x if len(x) == y.size else list(range(y.size))
        try:
            figs.append(svg_line_chart(xs, y, str(name), SERIES_COLORS[i % len(SERIES_COLORS)]))
        except (TypeError, ValueError):
            continue
    if not figs:
        return ""
    summary = "".join(f"<li>{esc(line)}</li>" for line in _curve_summary(curve, s))
    return (f"<h4>{esc(s['curve'])}</h4><div class=\"figs\">{''.join(figs)}</div>"
            f"<ul class=\"muted\">{summary}</ul>")


def render_html(results: dict, lang: str = "en", questions: dict[str, str] | None = None) -> str:
    """Feedback for one student as one self-contained HTML page (inline CSS, SVG and ``<details>``,
    no script, no external URL; everything from ``results`` escaped).

    Order: the score summary (score, late penalty, load error, notes: each once), the failed
    checks grouped by question (``questions``: ``{check number: question}`` from
    ``question_map``; without it one group), each with its case, what was expected and got, the
    likely cause once and the heatmap or curve; then the passed checks, collapsed."""
    s = tr(lang)
    if not isinstance(results, dict):
        raise ValueError(f"results: expected a dict, got {type(results).__name__}")
    title = assignment_title(results)
    who = student_label(results)
    heading = f"{title + ' — ' if title else ''}{s['feedback_for'].format(student=who)}"
    tests = tests_of(results)
    failed_groups, passed_groups, all_groups = _grouped(results, questions)
    summary = [f'<div class="score">{esc(s["total"])}: {esc(fmt_num(total_score(results)))} / '
               f'{esc(fmt_num(max_score(results)))}</div>']
    if tests:
        summary.append(f'<div class="muted">{esc(_passed_count(results, s))}</div>')
    if failed_groups and any(q for q, _ in failed_groups):
        items = "".join(f'<li><a href="#q{n}">{esc(_question_title(q, all_groups[q], s))}</a></li>'
                        for n, (q, g) in enumerate(failed_groups))
        summary.append(f'<div class="todo">{esc(s["to_fix"])}:<ul>{items}</ul></div>')
    b = [f"<h1>{esc(heading)}</h1>", f'<section class="summary">{"".join(summary)}</section>']
    late = _late_line(results, s)
    if late:
        b.append(f'<div class="late">{esc(late)}</div>')
    err = load_error_text(results)
    if err:
        b.append(f'<div class="error"><strong>{esc(s["load_error"])}</strong><pre><code>{esc(err)}'
                 f"</code></pre></div>")
    notes = _notes(results)
    if notes:
        b.append(f'<div class="notes"><strong>{esc(s["notes"])}:</strong><ul>'
                 + "".join(f"<li>{inline_markdown(n)}</li>" for n in notes) + "</ul></div>")
    found = _findings(results)
    if found:
        b.append(f'<div class="notes"><strong>{esc(s["flagged"])}:</strong><ul>'
                 + "".join(f"<li>{inline_markdown(f)}</li>" for f in found) + "</ul></div>")
    extra_summary = _summary_paragraphs(results)
    if extra_summary:
        b.append(f"<p><strong>{esc(s['summary_output'])}:</strong></p>"
                 + markdown_to_html("\n\n".join(extra_summary)))

    if not tests:
        b.append(f"<p>{esc(s['no_checks'])}</p>")
    elif failed_groups:
        b.append(f'<h2 class="failed-h">{esc(s["failed_checks"])}</h2>')
    else:
        b.append(f'<p class="passed">{esc(s["all_passed"])}</p>')
    uid = 0
    for n, (q, group) in enumerate(failed_groups):
        sec = []
        if q or len(failed_groups) > 1:
            sec.append(f'<h3 id="q{n}">{esc(_question_title(q, all_groups[q], s))}</h3>')
        for t in group:
            sec.append(_html_failure(t, s, f"t{uid}"))
            uid += 1
        b.append(f'<section class="question">{"".join(sec)}</section>')
    if passed_groups:
        n_passed = sum(len(g) for _, g in passed_groups)
        rows = []
        for q, group in passed_groups:
            if q:
                rows.append(f'<tr><th colspan="2">{esc(_question_title(q, all_groups[q], s))}</th></tr>')
            for t in group:
                hid = f' <span class="muted">({esc(s["hidden"])})</span>' if _is_hidden(t) else ""
                rows.append(f"<tr><td>{esc(t.get('name', '?'))}{hid}</td><td class=\"num\">"
                            f"{esc(fmt_num(t.get('score')))} / {esc(fmt_num(t.get('max_score')))}</td></tr>")
        b.append(f'<details class="passed-list"><summary>{esc(s["passed_checks"])} ({n_passed})</summary>'
                 f"<table><thead><tr><th>{esc(s['check'])}</th><th>{esc(s['score'])}</th></tr></thead>"
                 f"<tbody>{''.join(rows)}</tbody></table></details>")
    b.append(_html_footer(results, s))
    return page(heading, "\n".join(b), lang)


def _html_failure(t: dict, s: dict, uid: str) -> str:
    hid = f' <span class="muted">({esc(s["hidden"])})</span>' if _is_hidden(t) else ""
    sec = [f"<h4>{esc(t.get('name', '?'))} <span class=\"muted\">({esc(fmt_num(t.get('score')))} / "
           f"{esc(fmt_num(t.get('max_score')))})</span>{hid}</h4>"]
    case, body, diags = _split_output(t)
    if case:
        sec.append(f'<p class="case"><em>{esc(s["case"])}:</em> {inline_markdown(case)}</p>')
    if body:
        sec.append(markdown_to_html(body))
    for msg in diags:
        sec.append(f'<div class="diag"><strong>{esc(s["diagnoses"])}:</strong> {inline_markdown(msg)}</div>')
    if not _is_hidden(t):
        extra = _extra(t)
        if isinstance(extra.get("heatmap"), dict):
            sec.append(_html_heatmap(extra["heatmap"], s, uid))
        if isinstance(extra.get("curve"), dict):
            sec.append(_html_curve(extra["curve"], s))
    return f'<section class="check">{"".join(sec)}</section>'


def _html_footer(results: dict, s: dict) -> str:
    """The isolation level, time and version on one line; the sandbox details, a list of
    sentences, in a collapsed list under it (never a printed Python list)."""
    iso = _cg(results).get("isolation") or {}
    if not isinstance(iso, dict):
        iso = {"level": iso}
    parts = [f"{s['isolation']}: {_as_text(iso.get('level', '?'))}"]
    if results.get("execution_time") is not None:
        parts.append(s["time"].format(t=fmt_num(results["execution_time"])))
    version = _cg(results).get("version")
    if version:
        parts.append(f"convgrade {_as_text(version)}")
    details = iso.get("details")
    if isinstance(details, str):
        details = [details]
    items = "".join(f"<li>{esc(_as_text(d))}</li>" for d in details or [] if d)
    line = esc(" · ".join(parts))
    if items:
        return f'<footer class="muted"><details><summary>{line}</summary><ul>{items}</ul></details></footer>'
    return f'<footer class="muted">{line}</footer>'


__all__ = ["render_markdown", "render_html", "text_heatmap", "assignment_title", "student_label",
           "load_error_text", "tests_of", "test_status", "max_score", "total_score"]
