"""Class-level outputs of a batch: gradebook CSV (Canvas, Moodle, plain) and the summary page.

``collect(OUT)`` reads ``OUT/<student>/results.json`` (docs/ARCHITECTURE.md) into flat rows, one
per student folder; a folder whose results.json is missing or unreadable still gets a row with
``status == "unreadable"`` and the reason, so nothing is lost.

Row keys: ``student``, ``name``, ``assignment`` (title), ``assignment_id``, ``status`` (``ok`` |
``load_error`` | ``unreadable`` | ``missing``: a roster student with no folder, see
``add_missing``), ``reason``, ``score``, ``max_score``, ``late`` (the ``convgrade.late`` dict or
None), ``execution_time``, ``isolation`` (level string), ``tests`` (list of ``{name, status,
score, max_score, visibility}``), ``diagnoses`` (list of ``{check, code, message}``).
"""
from __future__ import annotations

import csv
import json
import re
import tomllib
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from grader.report._html import esc, fmt_num, page, svg_histogram
from grader.report.feedback import (assignment_title, load_error_text, max_score, test_status,
                                    tests_of, total_score)
from grader.i18n import tr
from grader.roster import read_roster as read_roster_rows, roster_by_folder

FORMATS = ("canvas", "moodle", "plain")
MISSING = ("zero", "blank")
CANVAS_ID_COLUMNS = ("canvas_id", "sis_id", "login_id")      # Canvas matches a row by any of these
MOODLE_ID_COLUMNS = ("id_number", "email")                   # Moodle: "Identify user by" one of these
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


class GradebookError(ValueError):
    """The gradebook cannot be written for import; ``students`` lists the rows at fault."""

    def __init__(self, message: str, students: list[str] | None = None):
        super().__init__(message)
        self.students = list(students or [])


def safe_cell(value) -> str:
    """A CSV cell that no spreadsheet runs as a formula: text starting with ``= + - @``, a tab
    or a carriage return gets a leading ``'`` (OWASP's CSV-injection advice); plain numbers
    (``-1.5``) stay as they are. Every CSV convgrade writes goes through this."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def write_rows(path, rows: list[list]) -> Path:
    """Write ``rows`` as a UTF-8 CSV with every cell through ``safe_cell``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        for row in rows:
            w.writerow([safe_cell(c) for c in row])
    return path


def validate_canvas_id(value) -> str:
    """A Canvas assignment id (the number in ``/courses/C/assignments/ID``) as a string; a
    GradebookError for anything else (Canvas would make a new column of ``Title (abc)``)."""
    text = str(value).strip()
    if isinstance(value, bool) or not re.fullmatch(r"[0-9]{1,18}", text):
        raise GradebookError(f"canvas_assignment_id: must be the numeric id from the Canvas assignment's "
                             f"URL (.../assignments/12345), got {str(value)[:40]!r}")
    return text


def course_canvas_id(assignment_id: str, start=None) -> str | None:
    """The Canvas assignment id of ``assignment_id`` from the course's ``convgrade.toml``::

        [lms.canvas.assignments]
        a2_convolution = 48213

    through ``grader.course`` (``--course``, ``$CONVGRADE_COURSE``, the nearest convgrade.toml)
    when it is there, else the nearest ``convgrade.toml`` at or above ``start`` (default: the
    working folder). None when the course names none. The one place the gradebook reads it."""
    try:
        from grader.course import current_course
    except ImportError:
        current_course = None
    if current_course is not None:
        value = current_course(start).lms_id("canvas", assignment_id)
        return None if value in (None, "") else str(value)
    here = Path(start or Path.cwd()).resolve()
    path = next((p / "convgrade.toml" for p in (here, *here.parents) if (p / "convgrade.toml").is_file()), None)
    if path is None:
        return None
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise GradebookError(f"{path}: unreadable course file ({exc})") from None
    table = ((doc.get("lms") or {}).get("canvas") or {}).get("assignments") or {}
    value = table.get(assignment_id) if isinstance(table, dict) else None
    return None if value in (None, "") else str(value)


def add_missing(rows: list[dict], roster: dict | None, missing: str = "zero", lang: str = "en") -> list[dict]:
    """``rows`` plus one row per roster student without a folder in OUT (status ``missing``,
    score 0 or blank by ``missing``), so every roster student is in the gradebook and the
    summary. Rows already present are kept as they are."""
    if missing not in MISSING:
        raise ValueError(f"missing: expected one of {MISSING}, got {missing!r}")
    if not roster:
        return list(rows)
    have = {r["student"] for r in rows}
    title = next((r["assignment"] for r in rows if r.get("assignment")), "")
    aid = next((r.get("assignment_id") for r in rows if r.get("assignment_id")), "")
    points = _points_possible(rows)
    out = list(rows)
    for folder in sorted(set(roster) - have):
        out.append({"student": folder, "name": roster[folder].get("name", ""), "assignment": title,
                    "assignment_id": aid, "status": "missing", "reason": tr(lang)["no_submission"],
                    "score": 0.0 if missing == "zero" else None, "max_score": points or None, "late": None,
                    "execution_time": None, "isolation": "", "tests": [], "diagnoses": []})
    return out


def _row_from_results(student: str, res: dict) -> dict:
    cg = res.get("convgrade") if isinstance(res.get("convgrade"), dict) else {}
    iso = cg.get("isolation")
    level = iso.get("level") if isinstance(iso, dict) else iso
    err = load_error_text(res)
    tests, diags = [], []
    for t in tests_of(res):
        tests.append({"name": str(t.get("name", "?")), "status": test_status(t),
                      "score": float(t.get("score", 0) or 0), "max_score": float(t.get("max_score", 0) or 0),
                      "visibility": t.get("visibility", "visible")})
        extra = t.get("extra_data") if isinstance(t.get("extra_data"), dict) else {}
        for d in extra.get("diagnoses") or []:
            if isinstance(d, dict) and d.get("code"):
                diags.append({"check": str(t.get("name", "?")), "code": str(d["code"]),
                              "message": str(d.get("message", ""))})
    try:
        exec_time = float(res["execution_time"]) if res.get("execution_time") is not None else None
    except (TypeError, ValueError):
        exec_time = None
    return {"student": student, "name": cg.get("name") or "",
            "assignment": assignment_title(res), "assignment_id": str(cg.get("assignment") or ""),
            "status": "load_error" if err else "ok",
            "reason": err, "score": total_score(res), "max_score": max_score(res),
            "late": cg.get("late") if isinstance(cg.get("late"), dict) else None,
            "execution_time": exec_time, "isolation": str(level) if level else "",
            "tests": tests, "diagnoses": diags, "lms": _lms_ids(cg.get("lms"))}


def _lms_ids(value) -> dict[str, str]:
    """The LMS ids grade-batch read from a Canvas download's names (``convgrade.lms``): numeric
    ids only, whatever else a results.json holds."""
    if not isinstance(value, dict):
        return {}
    return {k: str(v) for k, v in value.items() if k in ("canvas_id",) and isinstance(v, (str, int))
            and not isinstance(v, bool) and re.fullmatch(r"\d{1,15}", str(v))}


def _unreadable(student: str, reason: str) -> dict:
    return {"student": student, "name": "", "assignment": "", "assignment_id": "", "status": "unreadable",
            "reason": reason,
            "score": None, "max_score": None, "late": None, "execution_time": None, "isolation": "",
            "tests": [], "diagnoses": []}


def collect(out_dir) -> list[dict]:
    """One row per student folder of ``out_dir`` (sorted by folder name); see the module docstring.

    Folders whose name starts with ``.`` or ``_`` are skipped (scratch space of the batch runner).
    """
    out = Path(out_dir)
    if not out.is_dir():
        raise ValueError(f"out_dir: {str(out)!r} is not a directory")
    rows = []
    for d in sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        f = d / "results.json"
        if not f.is_file():
            rows.append(_unreadable(d.name, "no results.json"))
            continue
        try:
            res = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            rows.append(_unreadable(d.name, f"results.json unreadable: {type(e).__name__}: {e}"))
            continue
        if not isinstance(res, dict):
            rows.append(_unreadable(d.name, "results.json is not a JSON object"))
            continue
        try:
            rows.append(_row_from_results(d.name, res))
        except (TypeError, ValueError, AttributeError) as e:
            rows.append(_unreadable(d.name, f"results.json malformed: {type(e).__name__}: {e}"))
    return rows


def read_roster(path) -> dict[str, dict]:
    """A roster CSV (see ``grader.roster``) -> ``{folder name in OUT: {column: value}}``, the
    folder name being the student id made filesystem-safe as ``grade-batch`` makes it
    (``grader.roster.safe_id``). Optional columns used by ``write_csv``: ``name``, ``email``,
    ``id_number``, ``sis_id``, ``login_id``, ``canvas_id``, ``section``. Raises
    ``grader.roster.RosterError`` (a ValueError naming ``path``)."""
    return roster_by_folder(read_roster_rows(path), path)


def _points_possible(rows: list[dict]) -> float:
    """The assignment's maximum: the most common positive ``max_score`` of the rows."""
    maxes = Counter(r["max_score"] for r in rows if r.get("max_score"))
    return maxes.most_common(1)[0][0] if maxes else 0.0


def _score_cell(row: dict) -> str:
    return "" if row.get("score") is None else fmt_num(row["score"])


def _ids_or_refuse(rows: list[dict], roster: dict, columns: tuple[str, ...], lms: str) -> None:
    lacking = [r["student"] for r in rows if not any(roster.get(r["student"], {}).get(c) or (r.get("lms") or {}).get(c)
                                                     for c in columns)]
    if lacking:
        shown = ", ".join(lacking[:20]) + (f" and {len(lacking) - 20} more" if len(lacking) > 20 else "")
        raise GradebookError(
            f"{lms} needs a real id for every row and {len(lacking)} student(s) have none in the roster "
            f"(columns {', '.join(columns)}): {shown}. Add them to the roster (or remove their folders); "
            f"an id made up here would make {lms} reject the import or create unknown users.", lacking)


def write_csv(rows: list[dict], path, fmt: str = "canvas", *, roster: dict | None = None,
              title: str | None = None, canvas_assignment_id: str | int | None = None,
              missing: str = "zero", new_canvas_column: bool = False) -> Path:
    """Write a gradebook CSV (UTF-8) for import into an LMS and return its path.

    Every roster student gets a row (``add_missing``: no submission → 0, or blank with
    ``missing="blank"``). Every cell goes through ``safe_cell`` (no formulas).

    ``fmt="canvas"`` (Canvas Gradebook → Import): header ``Student, ID, SIS User ID, SIS Login ID,
    Section, <title> (<canvas_assignment_id>)``, then a ``Points Possible`` row carrying the
    maximum, then one row per student. Canvas fills the existing assignment whose id is in the
    parentheses, so the id is required (numeric, ``canvas_assignment_id``) unless
    ``new_canvas_column`` asks Canvas to create a new assignment titled ``<title>``. Canvas
    matches a student by ``ID`` (Canvas user id), ``SIS User ID`` or ``SIS Login ID``: they come
    from the roster (``canvas_id``, ``sis_id``, ``login_id``), the ``ID`` else from the Canvas
    download the submission was graded from (``convgrade.lms``, read by grade-batch from Canvas's
    own file names); a row with none of them is a GradebookError listing the students. ``Student`` is the display name. No other column is
    written (Canvas would make a new assignment of it; the late penalty is in the score).

    ``fmt="moodle"`` (Grades → Import → CSV file): ``ID number, Email address, Full name, <title>,
    Late penalty (%), Feedback``. In Moodle map ``ID number`` (or ``Email address``) under
    *Identify user by*, the ``<title>`` column to the grade item and, optionally, ``Feedback`` to
    its feedback. Moodle aborts the whole import on an unknown user, so the ids come from the
    roster only (``id_number``, ``email``) and a row with neither is a GradebookError listing them.

    ``fmt="plain"``: ``student, name, score, max_score, days_late, penalty_fraction, raw_score,
    status, reason`` — everything, for spreadsheets and scripts (no roster needed).

    Rows whose results.json was unreadable get an empty score (an LMS import then leaves the
    grade untouched) and, in Moodle/plain, the reason.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt: expected one of {FORMATS}, got {fmt!r}")
    roster = roster or {}
    rows = add_missing(rows, roster, missing)
    title = title or next((r["assignment"] for r in rows if r.get("assignment")), "") or "Assignment"
    points = _points_possible(rows)
    table: list[list] = []
    if fmt == "canvas":
        if canvas_assignment_id not in (None, ""):
            col = f"{title} ({validate_canvas_id(canvas_assignment_id)})"
        elif new_canvas_column:
            col = title
        else:
            raise GradebookError("canvas_assignment_id: Canvas fills an existing assignment only when its numeric id "
                                 "is in the column title; give --canvas-assignment-id (the number in the "
                                 "assignment's URL), put it in convgrade.toml under [lms.canvas.assignments], or ask "
                                 "for a new Canvas assignment with --new-canvas-column")
        _ids_or_refuse(rows, roster, CANVAS_ID_COLUMNS, "Canvas")
        table.append(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", col])
        table.append(["Points Possible", "", "", "", "", fmt_num(points)])
        for r in rows:
            info = roster.get(r["student"], {})
            canvas_id = info.get("canvas_id") or (r.get("lms") or {}).get("canvas_id", "")
            table.append([info.get("name") or r.get("name") or r["student"], canvas_id,
                          info.get("sis_id", ""), info.get("login_id", ""), info.get("section", ""), _score_cell(r)])
    elif fmt == "moodle":
        _ids_or_refuse(rows, roster, MOODLE_ID_COLUMNS, "Moodle")
        table.append(["ID number", "Email address", "Full name", title, "Late penalty (%)", "Feedback"])
        for r in rows:
            info = roster.get(r["student"], {})
            late = r.get("late") or {}
            pct = fmt_num(100 * float(late.get("penalty_fraction", 0) or 0), 1) if late else ""
            fb = (f"late {fmt_num(late.get('days_late'))} day(s), -{pct}% "
                  f"(raw {fmt_num(late.get('raw_score'))})" if late else "")
            if r["status"] != "ok":
                fb = "; ".join(x for x in (fb, r.get("reason", "")) if x)
            table.append([info.get("id_number", ""), info.get("email", ""),
                          info.get("name") or r.get("name") or r["student"], _score_cell(r), pct, fb])
    else:
        table.append(["student", "name", "score", "max_score", "days_late", "penalty_fraction",
                      "raw_score", "status", "reason"])
        for r in rows:
            info = roster.get(r["student"], {})
            late = r.get("late") or {}
            table.append([info.get("student") or r["student"], info.get("name") or r.get("name", ""), _score_cell(r),
                          "" if r.get("max_score") is None else fmt_num(r["max_score"]),
                          *(fmt_num(late[key], 4) if late.get(key) is not None else ""
                            for key in ("days_late", "penalty_fraction", "raw_score")),
                          r["status"], r.get("reason", "")])
    return write_rows(path, table)


# ----------------------------------------------------------------------------------------------
# Summary page
# ----------------------------------------------------------------------------------------------
def pass_rates(rows: list[dict]) -> list[tuple[str, int, int, float]]:
    """``[(check, n_passed, n_graded, rate)]`` over rows that loaded, worst rate first."""
    passed, total = Counter(), Counter()
    for r in rows:
        if r["status"] != "ok":
            continue
        for t in r["tests"]:
            total[t["name"]] += 1
            passed[t["name"]] += t["status"] == "passed"
    return sorted(((n, passed[n], total[n], passed[n] / total[n]) for n in total),
                  key=lambda x: (x[3], x[0]))


def frequent_diagnoses(rows: list[dict], top: int = 15) -> list[tuple[str, str, int]]:
    """``[(code, most common message, count)]``, most frequent code first."""
    counts, messages = Counter(), defaultdict(Counter)
    for r in rows:
        for d in r["diagnoses"]:
            counts[d["code"]] += 1
            messages[d["code"]][d["message"]] += 1
    return [(code, messages[code].most_common(1)[0][0], n) for code, n in counts.most_common(top)]


def score_histogram(rows: list[dict], bins: int = 10) -> np.ndarray:
    """Counts of score / max in ``bins`` equal bins over [0, 100] %, ``(bins,)``; rows without a
    positive maximum are left out."""
    pct = np.array([100.0 * r["score"] / r["max_score"] for r in rows
                    if r.get("score") is not None and r.get("max_score") and r.get("status") != "missing"],
                   dtype=np.float64)
    counts, _ = np.histogram(np.clip(pct, 0, 100), bins=bins, range=(0.0, 100.0))
    return counts


def _pair_fields(p) -> tuple[str, str, float, list]:
    if isinstance(p, dict):
        return str(p["a"]), str(p["b"]), float(p["score"]), list(p.get("regions") or [])
    return str(p.a), str(p.b), float(p.score), list(p.regions or [])


def _table(head: list[str], body: list[list[str]], num_cols=()) -> str:
    th = "".join(f"<th>{esc(h)}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f'<td class="num">{c}</td>' if i in num_cols else f"<td>{c}</td>"
                                   for i, c in enumerate(row)) + "</tr>" for row in body)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


def render_summary_html(rows: list[dict], similarity_pairs=None, lang: str = "en",
                        questions: dict[str, str] | None = None) -> str:
    """The class summary as one self-contained HTML page: score histogram (SVG), then by
    question (``questions``: ``{test name: question}``, see ``summary.questions_for``) the class
    mean, the most common diagnoses and the pass rate of each check — or, without questions, the
    pass rate per check (worst first) — then the most frequent diagnoses overall, slowest submissions, crashed or unreadable ones
    with their reason, isolation levels used and, when given, the similar pairs
    (``similarity.Pair`` objects or dicts with ``a``, ``b``, ``score``, ``regions``)."""
    s = tr(lang)
    assignment = Counter(r["assignment"] for r in rows if r.get("assignment")).most_common(1)
    heading = s["summary_title"].format(assignment=assignment[0][0] if assignment else "")
    b = [f"<h1>{esc(heading)}</h1>"]
    missing = [r for r in rows if r["status"] == "missing"]
    rows = [r for r in rows if r["status"] != "missing"]
    graded = [r for r in rows if r.get("score") is not None and r.get("max_score")]
    pct = np.array([100.0 * r["score"] / r["max_score"] for r in graded])
    stats = f"{s['submissions']}: {len(rows)} · {s['graded']}: {len(graded)}"
    if missing:
        stats += f" · {s['missing_count']}: {len(missing)}"
    if pct.size:
        stats += f" · {s['mean']}: {fmt_num(pct.mean(), 1)}% · {s['median']}: {fmt_num(np.median(pct), 1)}%"
    b.append(f'<p class="score">{esc(stats)}</p>')
    labels = [f"{int(e)}" for e in np.linspace(0, 100, 11)]
    b.append(svg_histogram(score_histogram(rows), labels, s["histogram"], width=640, height=220))

    if questions:
        from grader.report.summary import render_questions_html
        b.append(render_questions_html(rows, questions, lang))
    else:
        b.append(f"<h2>{esc(s['pass_rates'])}</h2>")
        rates = pass_rates(rows)
        body = [[esc(n), f'<span class="bar" style="width:{int(round(120 * rate))}px"></span> '
                 f"{esc(fmt_num(100 * rate, 1))}%", esc(f"{p} / {t}")] for n, p, t, rate in rates]
        b.append(_table([s["check"], s["pass_rate"], s["attempts"]], body, num_cols=(2,))
                 if body else f"<p>{esc(s['none'])}</p>")

    b.append(f"<h2>{esc(s['frequent_diagnoses'])}</h2>")
    diags = frequent_diagnoses(rows)
    b.append(_table([s["code"], s["message"], s["count"]],
                    [[f"<code>{esc(c)}</code>", esc(m), str(n)] for c, m, n in diags], num_cols=(2,))
             if diags else f"<p>{esc(s['none'])}</p>")

    b.append(f"<h2>{esc(s['slowest'])}</h2>")
    timed = sorted((r for r in rows if r.get("execution_time") is not None),
                   key=lambda r: -r["execution_time"])[:10]
    b.append(_table([s["student"], s["exec_time"]],
                    [[esc(r["student"]), esc(fmt_num(r["execution_time"], 1))] for r in timed], num_cols=(1,))
             if timed else f"<p>{esc(s['none'])}</p>")

    b.append(f"<h2>{esc(s['broken'])}</h2>")
    broken = [r for r in rows if r["status"] != "ok"]
    b.append(_table([s["student"], s["status"], s["reason"]],
                    [[esc(r["student"]), esc(r["status"]), f"<code>{esc(r['reason'])}</code>"] for r in broken])
             if broken else f"<p>{esc(s['none'])}</p>")

    if missing:
        b.append(f"<h2>{esc(s['missing'])}</h2>")
        b.append(_table([s["student"], s["status"], s["reason"]],
                        [[esc(r["student"]), esc(r["status"]), esc(r["reason"])] for r in missing]))

    b.append(f"<h2>{esc(s['isolation_levels'])}</h2>")
    levels = Counter(r["isolation"] or "?" for r in rows if r["status"] != "unreadable")
    b.append(_table([s["level"], s["count"]], [[esc(k), str(v)] for k, v in levels.most_common()], num_cols=(1,))
             if levels else f"<p>{esc(s['none'])}</p>")

    if similarity_pairs is not None:
        b.append(f"<h2>{esc(s['similarity'])}</h2>")
        body = []
        for p in similarity_pairs:
            a, bb, score, regions = _pair_fields(p)
            reg = "; ".join(f"{ra[0]}–{ra[1]} ↔ {rb[0]}–{rb[1]}" for ra, rb in regions[:6])
            if len(regions) > 6:
                reg += f"; … (+{len(regions) - 6})"
            body.append([esc(a), esc(bb), esc(fmt_num(100 * score, 1)) + "%", esc(reg)])
        b.append(_table(["A", "B", s["similarity_score"], s["regions"]], body, num_cols=(2,))
                 if body else f"<p>{esc(s['none'])}</p>")
    return page(heading, "\n".join(b), lang)
