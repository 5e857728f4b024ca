"""Per-student feedback from one results.json dict (docs/ARCHITECTURE.md, "Checks and results").

``render_markdown(results, lang)`` and ``render_html(results, lang)`` show, in order: the title
(assignment, student), total score / max, the late penalty, notes from loading, a load error if
the submission never ran, the table of checks, then for each failed check its Markdown ``output``,
``extra_data.case`` (visible checks only), ``extra_data.diagnoses`` and a picture of
``extra_data.heatmap`` (|error| per channel) or ``extra_data.curve`` (training curve); a footer
names the isolation level.

Hidden checks (``visibility == "hidden"``) show only what the grader already wrote into ``output``
and the diagnoses: never the case, the heatmap or the curve, which could leak hidden inputs.
The HTML page is self-contained (inline CSS and SVG, no script, no URL) and every string from
results.json is escaped.
"""
from __future__ import annotations

import json

import numpy as np

from grader.report._html import (esc, fmt_err, fmt_num, inline_markdown, markdown_to_html, page,
                                 svg_heatmap, svg_line_chart)
from grader.report.i18n import tr
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
    if details:
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
    """Every row that is not ``visible`` (hidden, after_due_date) shows no case, heatmap or curve."""
    return test.get("visibility", "visible") != "visible"


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
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


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


def render_markdown(results: dict, lang: str = "en") -> str:
    """Feedback for one student as Markdown (see the module docstring for the content)."""
    s = tr(lang)
    if not isinstance(results, dict):
        raise ValueError(f"results: expected a dict, got {type(results).__name__}")
    title = assignment_title(results)
    # names, ids, notes and outputs carry student bytes: Markdown-escaped or made inert
    out = [f"# {inert_markdown(title) + ' — ' if title else ''}"
           f"{s['feedback_for'].format(student=md_text(student_label(results)))}", ""]
    out += [f"**{s['total']}: {fmt_num(total_score(results))} / {fmt_num(max_score(results))}**", ""]
    late = _late_line(results, s)
    if late:
        out += [f"> {late}", ""]
    err = load_error_text(results)
    if err:
        out += [f"## {s['load_error']}", "", "```", err.replace("```", "ˋˋˋ"), "```", ""]
    notes = _notes(results)
    if notes:
        out += [f"**{s['notes']}:**", ""] + [f"- {inert_markdown(n)}" for n in notes] + [""]
    if results.get("output"):
        out += [f"**{s['summary_output']}:**", "", inert_markdown(str(results["output"]).strip()), ""]

    tests = tests_of(results)
    out += [f"## {s['checks']}", ""]
    if tests:
        out += [f"| {s['check']} | {s['score']} | {s['status']} |", "|---|---:|---|"]
        for t in tests:
            st = s[test_status(t)] + (f" ({s['hidden']})" if _is_hidden(t) else "")
            out.append(f"| {_md_cell(t.get('name', '?'))} | {fmt_num(t.get('score'))} / "
                       f"{fmt_num(t.get('max_score'))} | {st} |")
        out.append("")
    else:
        out += [s["no_checks"], ""]

    failed = [t for t in tests if test_status(t) == "failed"]
    if failed:
        out += [f"## {s['failed_checks']}", ""]
    elif tests:
        out += [s["all_passed"], ""]
    for t in failed:
        out += [f"### {inert_markdown(t.get('name', '?'))} ({fmt_num(t.get('score'))} / {fmt_num(t.get('max_score'))})", ""]
        extra = _extra(t)
        if not _is_hidden(t) and extra.get("case"):
            out += [f"*{s['case']}:* {inert_markdown(extra['case'])}", ""]
        if t.get("output"):
            out += [inert_markdown(str(t["output"]).strip()), ""]
        diags = _diagnoses(t)
        if diags:
            out += [f"**{s['diagnoses']}:**", ""]
            out += [f"- **{inert_markdown(code)}**: {inert_markdown(msg)}" if code else f"- {inert_markdown(msg)}"
                    for code, msg in diags] + [""]
        if _is_hidden(t):
            continue
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
    out += ["---", f"*{_isolation_line(results, s)}*", ""]
    return "\n".join(out)


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


def render_html(results: dict, lang: str = "en") -> str:
    """Feedback for one student as one self-contained HTML page (inline CSS and SVG, no script,
    no external URL; everything from ``results`` escaped)."""
    s = tr(lang)
    if not isinstance(results, dict):
        raise ValueError(f"results: expected a dict, got {type(results).__name__}")
    title = assignment_title(results)
    who = student_label(results)
    heading = f"{title + ' — ' if title else ''}{s['feedback_for'].format(student=who)}"
    b = [f"<h1>{esc(heading)}</h1>",
         f'<div class="score">{esc(s["total"])}: {esc(fmt_num(total_score(results)))} / '
         f'{esc(fmt_num(max_score(results)))}</div>']
    late = _late_line(results, s)
    if late:
        b.append(f'<div class="late">{esc(late)}</div>')
    err = load_error_text(results)
    if err:
        b.append(f'<div class="error"><strong>{esc(s["load_error"])}</strong><pre><code>{esc(err)}'
                 f"</code></pre></div>")
    notes = _notes(results)
    if notes:
        b.append(f"<p><strong>{esc(s['notes'])}:</strong></p><ul>"
                 + "".join(f"<li>{inline_markdown(n)}</li>" for n in notes) + "</ul>")
    if results.get("output"):
        b.append(f"<p><strong>{esc(s['summary_output'])}:</strong></p>{markdown_to_html(str(results['output']))}")

    tests = tests_of(results)
    b.append(f"<h2>{esc(s['checks'])}</h2>")
    if tests:
        rows = []
        for t in tests:
            st = test_status(t)
            hid = f' <span class="muted">({esc(s["hidden"])})</span>' if _is_hidden(t) else ""
            rows.append(f"<tr><td>{esc(t.get('name', '?'))}</td><td class=\"num\">{esc(fmt_num(t.get('score')))}"
                        f" / {esc(fmt_num(t.get('max_score')))}</td><td><span class=\"{st}\">{esc(s[st])}</span>"
                        f"{hid}</td></tr>")
        b.append(f"<table><thead><tr><th>{esc(s['check'])}</th><th>{esc(s['score'])}</th>"
                 f"<th>{esc(s['status'])}</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")
    else:
        b.append(f"<p>{esc(s['no_checks'])}</p>")

    failed = [t for t in tests if test_status(t) == "failed"]
    if failed:
        b.append(f"<h2>{esc(s['failed_checks'])}</h2>")
    elif tests:
        b.append(f'<p class="passed">{esc(s["all_passed"])}</p>')
    for i, t in enumerate(failed):
        extra = _extra(t)
        sec = [f"<h3>{esc(t.get('name', '?'))} <span class=\"muted\">({esc(fmt_num(t.get('score')))} / "
               f"{esc(fmt_num(t.get('max_score')))})</span></h3>"]
        if not _is_hidden(t) and extra.get("case"):
            sec.append(f"<p><em>{esc(s['case'])}:</em> {esc(extra['case'])}</p>")
        if t.get("output"):
            sec.append(markdown_to_html(str(t["output"])))
        for code, msg in _diagnoses(t):
            label = f"<strong>{esc(code)}</strong>: " if code else ""
            sec.append(f'<div class="diag">{esc(s["diagnoses"])}: {label}{esc(msg)}</div>')
        if not _is_hidden(t):
            if isinstance(extra.get("heatmap"), dict):
                sec.append(_html_heatmap(extra["heatmap"], s, f"t{i}"))
            if isinstance(extra.get("curve"), dict):
                sec.append(_html_curve(extra["curve"], s))
        b.append(f'<section class="check">{"".join(sec)}</section>')
    b.append(f'<footer class="muted">{esc(_isolation_line(results, s))}</footer>')
    return page(heading, "\n".join(b), lang)


__all__ = ["render_markdown", "render_html", "text_heatmap", "assignment_title", "student_label",
           "load_error_text", "tests_of", "test_status", "max_score", "total_score"]
