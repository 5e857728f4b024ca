"""One grading job: the unit the executors run (a local worker process or a Dask task).

``grade_job(job) -> payload`` is a top-level function so Dask can ship it. It loads the
assignment (cached per process and checked against the expected version), grades the
submission with the sandbox *on the machine that runs the job*, and renders the feedback of
every member of the submission there too (rendering is per student: the name and the id are in
it). A job carries no secret: the client derives the seeds of the hidden checks
(``grader.seeds.hidden_seeds``) and the job holds only those; the sandbox sees neither.

Payload: ``{"key", "sha256", "source" (str or None), "members": {student: {"results",
"feedback_md", "feedback_html"}}}``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import tarfile
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

BUNDLE_MAX_BYTES = 32 << 20

_ASSIGNMENTS: dict[tuple[str, str], object] = {}
_QUESTIONS: dict[int, tuple[object, dict | None]] = {}   # id(assignment) -> (assignment, question map)


@dataclass
class Job:
    """Everything a worker needs to grade one entry (picklable; no open files)."""
    key: str
    assignment: str                    # assignment folder (absolute path)
    version: str                       # expected assignment version
    path: str                          # submission file
    members: list[tuple[str, str]]     # (student, name) pairs; the first seeds the hidden inputs
    sha256: str | None
    submitted_at: str | None = None    # ISO 8601
    isolation: str = "auto"
    lang: str = "en"
    seeds: dict[str, int] | None = None   # hidden check name -> seed, derived by the client (never the secret)
    notes: list[str] = field(default_factory=list)
    data: bytes | None = None          # the submission's bytes (Dask: the worker may not see `path`)
    bundle: bytes | None = None        # the assignment folder as a tar (Dask), used when `assignment` is absent
    error: str | None = None           # discovery's reason this entry cannot be graded (a load error row)
    lms: dict = field(default_factory=dict)   # the student's LMS id from the download's names (the gradebook's)


def assignment_bundle(folder: Path) -> bytes:
    """The assignment folder as an uncompressed tar without ``examples/`` (for remote workers)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for p in sorted(folder.rglob("*")):
            rel = p.relative_to(folder)
            if p.is_file() and not p.is_symlink() and rel.parts[0] not in ("examples", "__pycache__"):
                tar.add(p, arcname=str(rel), recursive=False)
    data = buf.getvalue()
    if len(data) > BUNDLE_MAX_BYTES:
        raise ValueError(f"assignment: {folder} is larger than {BUNDLE_MAX_BYTES >> 20} MiB without examples/")
    return data


def _assignment(job: Job):
    from grader.assignment import load

    cached = _ASSIGNMENTS.get((job.assignment, job.version))
    if cached is not None:
        return cached
    a = None
    if Path(job.assignment, "assignment.toml").is_file():
        a = load(job.assignment)
    if (a is None or a.version != job.version) and job.bundle is not None:
        dest = Path(tempfile.gettempdir()) / f"convgrade-assignment-{job.version}-{os.getuid()}"
        if not (dest / "assignment.toml").is_file():
            tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=dest.parent))
            with tarfile.open(fileobj=io.BytesIO(job.bundle)) as tar:
                tar.extractall(tmp, filter="data")
            try:
                tmp.rename(dest)
            except OSError:          # another task unpacked it first
                pass
        a = load(dest)
    if a is None or a.version != job.version:
        raise RuntimeError(f"assignment {job.assignment} on this machine is version "
                           f"{getattr(a, 'version', 'missing')}, the batch grades version {job.version}")
    _ASSIGNMENTS[(job.assignment, job.version)] = a
    return a


def _time(job: Job) -> dt.datetime | None:
    return dt.datetime.fromisoformat(job.submitted_at) if job.submitted_at else None


def failure_results(assignment, job: Job, reason: str, kind: str, seconds: float = 0.0) -> dict:
    """A results dict for a submission the grader itself could not finish: every check 0 with
    ``reason``; ``convgrade.batch_error`` = ``kind`` ("internal_error" | "timeout") so a resume
    tries it again."""
    from grader.i18n import language, t

    with language(job.lang):
        text = t("grading.not_graded_grader_fault", reason=str(reason).replace("`", "'"))
    return _ungraded_results(assignment, job, text, seconds, batch_error=kind)


def discovery_error_results(assignment, job: Job) -> dict:
    """The results of an entry discovery refused (an unsafe path in an export, no submitters...):
    every check 0 with the reason, as a load error (not retried until the submission changes)."""
    from grader.i18n import language, t

    with language(job.lang):
        text = t("grading.not_graded_entry", reason=str(job.error).replace("`", "'"))
    return _ungraded_results(assignment, job, text, 0.0)


def _ungraded_results(assignment, job: Job, text: str, seconds: float, batch_error: str | None = None) -> dict:
    """Every check of ``assignment`` 0 with ``text``, which is also the load error."""
    from grader.checks import Part
    from grader.results import build_results

    from grader.i18n import language

    student, name = job.members[0]
    meta = {"assignment": assignment.id, "version": assignment.version, "student": student,
            "name": name or None, "notes": list(job.notes), "static_findings": [],
            "submission_sha256": job.sha256, "load_error": text, "lang": job.lang}
    if batch_error is not None:
        meta["batch_error"] = batch_error
    with language(job.lang):         # row names and the summary in the batch's language
        parts = [(s, [Part(s.display_name, s.points, 0.0, text, {"kind": s.kind, "failed": True})])
                 for s in assignment.select("all")]
        return build_results(assignment, parts, meta, seconds, _time(job))


def _render(results: dict, lang: str, questions=None) -> tuple[str, str]:
    """(feedback.md, feedback.html); a renderer failing on odd data gives a short page that says
    so instead of stopping the batch."""
    from grader.report._html import esc, page
    from grader.report.feedback import render_html, render_markdown

    try:
        return render_markdown(results, lang, questions), render_html(results, lang, questions)
    except Exception as exc:     # noqa: BLE001 - the result is still written, with its score
        from grader.i18n import t

        text = t("grading.page_failed", lang=lang, error=type(exc).__name__, score=results.get("score"),
                 max_score=results.get("max_score"))
        return text + "\n", page("feedback", f"<p>{esc(text)}</p>", lang)


def _questions(assignment, question_map) -> dict | None:
    """The assignment's question map, made once per loaded assignment (it parses the master
    notebook: every job of a batch would otherwise parse it again)."""
    hit = _QUESTIONS.get(id(assignment))
    if hit is not None and hit[0] is assignment:
        return hit[1]
    try:
        questions = question_map(assignment)
    except Exception:
        questions = None
    _QUESTIONS[id(assignment)] = (assignment, questions)
    return questions


def render_members(results: dict, job: Job, source: str | None) -> dict:
    """Per-member copies of ``results`` (student and name set, sanitized: see
    ``grader.results.sanitize_results``) with their feedback rendered, grouped by the notebook's
    questions."""
    from grader.report.questions import question_map
    from grader.results import sanitize_results

    try:
        questions = _questions(_assignment(job), question_map)
    except Exception:           # e.g. another version of the assignment here: ungrouped feedback
        questions = None
    members = {}
    for student, name in job.members:
        r = dict(results)   # sanitize_results below rebuilds every container: no deep copy needed
        r["convgrade"] = dict(r.get("convgrade") or {})
        r["convgrade"]["student"] = student
        r["convgrade"]["name"] = name or None
        if len(job.members) > 1:
            r["convgrade"]["group"] = [s for s, _ in job.members]
        if job.lms:
            r["convgrade"]["lms"] = dict(job.lms)
        r = sanitize_results(r)
        md, page_html = _render(r, job.lang, questions)
        members[student] = {"results": r, "feedback_md": md, "feedback_html": page_html}
    return {"key": job.key, "sha256": job.sha256, "source": source, "members": members}


def _factory(sources: list[str]):
    """The sandbox session factory of one job: this process's warm pool for the job's sandbox
    configuration (``$CONVGRADE_WARM_POOL`` workers started ahead, at least one), each session on a
    fresh worker; the first source it is asked for (the submission's, normalized) goes into
    ``sources``."""
    from grader.sandbox.pool import env_pool_size, shared_pool

    def factory(source: str, filename: str = "submission.py", config=None):
        if not sources:
            sources.append(source)
        return shared_pool(config, max(1, env_pool_size())).session(source, filename, config=config)

    return factory


def grade_job(job: Job) -> dict:
    """Grade one job and render its feedback; never raises for a bad submission or a grader bug
    (those become results with their reason)."""
    import functools

    from grader.grade import grade_submission as _grade_submission

    t0 = time.monotonic()
    a = _assignment(job)
    if job.error:
        return render_members(discovery_error_results(a, job), job, None)
    with tempfile.TemporaryDirectory(prefix="convgrade-job-") as tmp:
        path = Path(job.path)
        if job.data is not None:
            path = Path(tmp) / Path(job.path).name
            path.write_bytes(job.data)
        sources: list[str] = []      # the normalized source, as grading loads it (no second load)
        grade_submission = functools.partial(_grade_submission, session_factory=_factory(sources))
        try:
            results = grade_submission(a, path, student=job.members[0][0], seeds=job.seeds or {},
                                       isolation=job.isolation, submitted_at=_time(job),
                                       name=job.members[0][1] or None, lang=job.lang)
            results["convgrade"]["notes"] = list(job.notes) + list(results["convgrade"].get("notes", []))
        except Exception as exc:    # a bug in the grader: still a result, the batch goes on
            tb = traceback.format_exc(limit=6)
            results = failure_results(a, job, f"internal error ({type(exc).__name__}: {str(exc)[:200]})",
                                      "internal_error", time.monotonic() - t0)
            results["convgrade"]["internal_errors"] = [tb]
            sources = []
        source = sources[0] if sources else None
    if job.sha256 is None and results["convgrade"].get("submission_sha256"):
        job.sha256 = results["convgrade"]["submission_sha256"]
    return render_members(results, job, source)


def file_sha256(path) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None
