"""Gradescope's ``results.json``: score, execution_time, output, tests[] — plus a ``convgrade``
block with the assignment version, the submission hash, the isolation level and the limits."""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import tempfile
from pathlib import Path

from grader.inert import inert_markdown

# A check's visibility is about its *inputs*: a ``hidden`` check draws per-student inputs the
# student never sees, but its row, verdict and diagnosis are shown (Gradescope's "hidden" would
# hide the row and the total). So on Gradescope a hidden check is a ``visible`` row, marked
# ``extra_data.hidden_inputs = true`` and without the extra data that describes its case;
# ``after_due_date`` rows appear after the due date.
GRADESCOPE_VISIBILITY = {"visible": "visible", "hidden": "visible", "after_due_date": "after_due_date"}
HIDDEN_CASE_EXTRA = ("case", "heatmap")      # the curve is the student's own training history


def hidden_inputs(test: dict) -> bool:
    """True when a results.json test row was judged on inputs the student must not see (its case,
    heatmap and curve are never shown). Rows written before the Gradescope mapping changed say
    ``visibility: "hidden"``; newer rows carry ``extra_data.hidden_inputs: true``."""
    extra = test.get("extra_data") if isinstance(test.get("extra_data"), dict) else {}
    return test.get("visibility") == "hidden" or extra.get("hidden_inputs") is True


def build_results(assignment, checks_parts, meta: dict, seconds: float,
                  submitted_at: dt.datetime | None = None) -> dict:
    tests = []
    raw = 0.0
    for spec, parts in checks_parts:
        for k, part in enumerate(parts):
            raw += part.score
            extra = dict(part.extra)
            failed = bool(extra.pop("failed", False)) or part.score < part.max_score - 1e-9
            if not spec.visible:
                extra["hidden_inputs"] = True
                for key in HIDDEN_CASE_EXTRA:
                    extra.pop(key, None)
            tests.append({
                "name": part.name,
                "number": spec.number if len(parts) == 1 else f"{spec.number}.{k + 1}",
                "score": round(part.score, 6),
                "max_score": round(part.max_score, 6),
                "status": "failed" if failed else "passed",
                "visibility": GRADESCOPE_VISIBILITY[spec.visibility],
                "output": part.output,
                "output_format": "md",
                "tags": list(spec.tags) + [spec.kind],
                "extra_data": extra,
            })
    max_score = round(sum(t["max_score"] for t in tests), 6)
    days, fraction = assignment.late.penalty(submitted_at, assignment.due)
    score = raw * (1.0 - fraction)
    meta = dict(meta)
    if submitted_at is not None:
        meta["submitted_at"] = submitted_at.isoformat()
    if fraction > 0:
        meta["late"] = {"days_late": round(days, 3), "penalty_fraction": fraction, "raw_score": round(raw, 6)}
    if "isolation" not in meta:
        from grader.i18n import t

        meta["isolation"] = {"level": "none", "details": [t("grading.not_run_isolation")]}
    return sanitize_results({
        "score": round(score, 6),
        "max_score": max_score,
        "execution_time": round(seconds, 3),
        "output": summary_text(assignment, raw, score, max_score, meta),
        "output_format": "md",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "convgrade": meta,
    })


def summary_text(assignment, raw: float, score: float, max_score: float, meta: dict) -> str:
    """The top-level ``output``: title and score, the late penalty, the load error, the notes and
    the static findings, in the current language (``grader.i18n``; the title is the assignment's
    ``title_ru`` in Russian when it has one)."""
    from grader.i18n import localized, t

    title = localized(assignment, "title") or getattr(assignment, "title", "") or getattr(assignment, "id", "")
    lines = [f"**{title}** — {round(score, 2):g} / {max_score:g}"]
    if meta.get("late"):
        late = meta["late"]
        lines.append(t("grading.summary_late", days=f"{late['days_late']:.2f}", pct=f"{late['penalty_fraction']:.0%}",
                       raw=f"{round(raw, 2):g}"))
    if meta.get("load_error"):
        lines.append(meta["load_error"])
    for note in meta.get("notes", []):
        lines.append(t("grading.summary_note", note=note))
    for finding in meta.get("static_findings", []):
        lines.append(t("grading.summary_flagged", finding=finding))
    return "\n\n".join(lines)


def output_prefixes(key: str) -> tuple[str, ...]:
    """The paragraph prefix ``key`` of the catalogue (``grading.case_prefix``,
    ``grading.likely_mistake_prefix``) in every language: how a reader of any results.json finds
    the case and diagnosis paragraphs the checks wrote."""
    from grader.i18n import LANGS, tr

    return tuple(dict.fromkeys(tr(lang)[key] for lang in LANGS))


def summary_prefixes() -> tuple[str, ...]:
    """How :func:`summary_text`'s own paragraphs start (late penalty, notes, findings) in every
    language: the report shows those from the ``convgrade`` block instead."""
    from grader.i18n import LANGS, tr

    keys = ("grading.summary_late", "grading.summary_note", "grading.summary_flagged")
    return tuple(dict.fromkeys(tr(lang)[k].split("{")[0] for lang in LANGS for k in keys))


def _umask() -> int:
    """The process umask, read without changing it (``os.umask`` sets it, which races with other
    threads creating files); falls back to ``os.umask`` where /proc has no ``Umask:`` line."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o077)
    os.umask(old)
    return old


# ---------------------------------------------------------------------------------------------
# What one result may carry. Much of a result is the student's (messages, stdout, curves, the
# numbers their code returned), so before anything renders or writes it, it is made finite,
# bounded and inert: honest results pass unchanged (the caps are far above what a check writes).
MAX_STR = 20_000            # characters of one string (outputs, messages, tracebacks, stdout)
MAX_ITEMS = 4_000           # items of one list, keys of one mapping
MAX_DEPTH = 16              # nesting of lists and mappings
MAX_SERIES = 8              # series of one training curve ("loss" first)
MAX_POINTS = 1_000          # points of one curve series (and of its x)
MAX_BYTES = 4 << 20         # the whole results.json, as JSON
TRUNCATED = " … [truncated]"
# extra_data keys a non-visible row never carries: they describe the hidden case or its answer
# (an |error| heatmap of a zero output is the expected output).
HIDDEN_EXTRA_DROPPED = frozenset({"case", "heatmap", "expected", "inputs", "input", "args", "kwargs",
                                  "answer", "expected_value", "reference"})
SCORE_FIELDS = ("score", "max_score", "execution_time")


def _number(value, default=0.0):
    try:
        x = float(value)
    except (TypeError, ValueError, OverflowError):
        return default
    return x if math.isfinite(x) else default


def _clean(value, depth: int = 0):
    """Plain JSON data: non-finite floats -> None, numpy scalars -> Python, strings and containers
    capped, anything else -> its type name."""
    kind = type(value)          # the common exact types first (the same answers, sooner)
    if kind is str:
        return value if len(value) <= MAX_STR else value[:MAX_STR - len(TRUNCATED)] + TRUNCATED
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is dict and depth < MAX_DEPTH:
        return {(k if isinstance(k, str) and len(k) <= 200 else str(k)[:200]): _clean(v, depth + 1)
                for k, v in list(value.items())[:MAX_ITEMS]}
    if kind is list and depth < MAX_DEPTH:
        return [_clean(v, depth + 1) for v in value[:MAX_ITEMS]]
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if -(1 << 63) <= value < (1 << 63) else float(value) if abs(value) < 1e308 else None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return value if len(value) <= MAX_STR else value[:MAX_STR - len(TRUNCATED)] + TRUNCATED
    if depth >= MAX_DEPTH:
        return None
    if isinstance(value, dict):
        return {(k if isinstance(k, str) and len(k) <= 200 else str(k)[:200]): _clean(v, depth + 1)
                for k, v in list(value.items())[:MAX_ITEMS]}
    if isinstance(value, (list, tuple)):
        return [_clean(v, depth + 1) for v in list(value[:MAX_ITEMS])]
    item = getattr(value, "item", None)
    if callable(item) and type(value).__module__ == "numpy" and getattr(value, "ndim", 1) == 0:
        return _clean(item(), depth)
    return f"<{type(value).__name__}>"


def _cap_curve(curve):
    """At most MAX_SERIES series ("loss" first) of at most MAX_POINTS points, evenly thinned."""
    if not isinstance(curve, dict):
        return None
    series = curve.get("series")
    series = series if isinstance(series, dict) else {}
    order = {k: i for i, k in enumerate(series)}
    names = sorted(series, key=lambda k: (k != "loss", order[k]))[:MAX_SERIES]
    x = curve.get("x") if isinstance(curve.get("x"), list) else []
    n = max([len(x)] + [len(series[k]) for k in names if isinstance(series[k], list)])
    step = -(-n // MAX_POINTS) if n > MAX_POINTS else 1

    def thin(seq):
        return seq[::step][:MAX_POINTS] if isinstance(seq, list) else []

    out = dict(curve)
    out["x"] = thin(x)
    out["series"] = {k: thin(series[k]) for k in names}
    return out


def _sanitize_test(test: dict) -> dict:
    t = dict(test)
    for key in ("score", "max_score"):
        if key in t:
            t[key] = _number(t[key])
    if isinstance(t.get("output"), str):
        t["output"] = inert_markdown(t["output"])
    extra = t.get("extra_data")
    if isinstance(extra, dict):
        extra = dict(extra)
        if hidden_inputs(t) or t.get("visibility") != "visible":
            for key in HIDDEN_EXTRA_DROPPED & set(extra):
                del extra[key]
        if "curve" in extra:
            extra["curve"] = _cap_curve(extra["curve"])
            if extra["curve"] is None:
                del extra["curve"]
        diags = extra.get("diagnoses")
        if isinstance(diags, list):
            extra["diagnoses"] = [dict(d, message=inert_markdown(d["message"]))
                                  if isinstance(d, dict) and isinstance(d.get("message"), str) else d
                                  for d in diags]
        t["extra_data"] = extra
    return t


def sanitize_results(results: dict) -> dict:
    """A copy of ``results`` that is safe to render and write, whatever the student's code did:

    * every number finite (``score``, ``max_score``, ``execution_time`` -> 0 when not, any other
      non-finite float -> ``null``), numpy scalars as Python numbers;
    * strings at most ``MAX_STR`` characters, lists and mappings at most ``MAX_ITEMS`` entries and
      ``MAX_DEPTH`` deep, a training curve at most ``MAX_SERIES`` series of ``MAX_POINTS`` points,
      and the whole result at most ``MAX_BYTES`` of JSON (bulky extra data goes first);
    * the Markdown of ``output``, of every test's ``output`` and of the diagnoses made inert
      (:func:`grader.inert.inert_markdown`: no raw HTML, no links from student text);
    * rows with hidden inputs (:func:`hidden_inputs`) or not ``visible`` without any extra data
      describing their case
      (``HIDDEN_EXTRA_DROPPED``).

    Idempotent; an honest result passes through unchanged. ``build_results`` returns its output,
    and the writers (``write_results``) apply it again before writing."""
    r = _clean(results if isinstance(results, dict) else {})
    for key in SCORE_FIELDS:
        if key in r:
            r[key] = _number(r[key])
    if isinstance(r.get("output"), str):
        r["output"] = inert_markdown(r["output"])
    if isinstance(r.get("tests"), list):
        r["tests"] = [_sanitize_test(t) if isinstance(t, dict) else t for t in r["tests"]]
    if len(json.dumps(r, ensure_ascii=False)) > MAX_BYTES:
        r = _shrink(r)
    return r


def _shrink(r: dict) -> dict:
    """Drop what makes ``r`` too big: curves and heatmaps, then stdout and tracebacks, then long
    outputs. A note says so."""
    from grader.i18n import results_lang, t

    note = t("grading.too_large", lang=results_lang(r))
    for t in r.get("tests") or []:
        if isinstance(t, dict) and isinstance(t.get("extra_data"), dict):
            for key in ("curve", "heatmap"):
                t["extra_data"].pop(key, None)
    cg = r.get("convgrade") if isinstance(r.get("convgrade"), dict) else {}
    for key in ("stdout_tail", "internal_errors"):
        if key in cg:
            cg[key] = "[left out: too large]"
    cut = 2_000
    while len(json.dumps(r, ensure_ascii=False)) > MAX_BYTES and cut >= 50:
        for t in r.get("tests") or []:
            if isinstance(t, dict):
                for key, value in list(t.items()):
                    if isinstance(value, str) and len(value) > cut:
                        t[key] = value[:cut] + TRUNCATED
                if isinstance(t.get("extra_data"), dict):
                    t["extra_data"] = {k: v for k, v in t["extra_data"].items()
                                       if k in ("kind", "failed", "worker_status")}
        for key, value in list(cg.items()):
            if isinstance(value, (str, list, dict)) and len(json.dumps(value, ensure_ascii=False)) > cut:
                cg[key] = "[left out: too large]"
        cut //= 4
    if isinstance(cg.get("notes"), list) and note not in cg["notes"]:
        cg["notes"].append(note)
    return r


def write_results(path: str | Path, results: dict) -> None:
    """Write a results.json atomically, sanitized first (:func:`sanitize_results`)."""
    write_json_atomic(path, sanitize_results(results))


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) so that readers see the old file or the complete new one, never a
    torn one: a temporary file in the same folder, fsynced, then renamed over ``path``. The file
    gets ``0o666 & ~umask`` like any created file (``umask 027``: the course staff group reads it,
    others do not); the temporary file is 0600 until it is complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
            os.fchmod(f.fileno(), 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_json_atomic(path: str | Path, data: dict) -> None:
    """Write JSON so that readers see the old file or the complete new one, never a torn one.
    Non-finite numbers are written as ``null`` (JSON has no NaN); results go through
    :func:`write_results`."""
    try:
        text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)
    except ValueError:
        text = json.dumps(_finite(data), indent=2, ensure_ascii=False, allow_nan=False)
    write_text_atomic(path, text)


def _finite(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
