"""Gradescope's ``results.json``: score, execution_time, output, tests[] — plus a ``convgrade``
block with the assignment version, the submission hash, the isolation level and the limits."""
from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path

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
    meta.setdefault("isolation", {"level": "none", "details": ["the submission was not run"]})
    return {
        "score": round(score, 6),
        "max_score": max_score,
        "execution_time": round(seconds, 3),
        "output": summary_text(assignment, raw, score, max_score, meta),
        "output_format": "md",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "convgrade": meta,
    }


def summary_text(assignment, raw: float, score: float, max_score: float, meta: dict) -> str:
    lines = [f"**{assignment.title}** — {round(score, 2):g} / {max_score:g}"]
    if meta.get("late"):
        late = meta["late"]
        lines.append(f"Submitted {late['days_late']:.2f} days late: {late['penalty_fraction']:.0%} off "
                     f"(before the penalty: {round(raw, 2):g}).")
    if meta.get("load_error"):
        lines.append(meta["load_error"])
    for note in meta.get("notes", []):
        lines.append(f"Note: {note}")
    for finding in meta.get("static_findings", []):
        lines.append(f"Flagged: your code {finding}.")
    return "\n\n".join(lines)


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
    """Write JSON so that readers see the old file or the complete new one, never a torn one."""
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False))
