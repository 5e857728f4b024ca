"""Grade one submission: load it, run every check's probe in one sandbox session, judge, score.

The flow of DESIGN.md: the source goes to a fresh worker; each check's plan sends inputs only;
the worker's answers come back as plain data; the judge (this process) compares with the
reference. Whatever happens — a broken upload, an import error, a crash, a hang — the result has
a row for every check and a clear reason.
"""
from __future__ import annotations

import contextvars
import dataclasses
import datetime as dt
import time
import traceback
from pathlib import Path

import numpy as np

from . import __version__
from .assignment import Assignment
from .checks import Part, kind_of
from .checks.base import CheckSpec, error_message, timeout_text, worker_error_text
from .results import build_results
from .seeds import check_seed, course_secret
from .checks.milestone import TRAINING_KINDS, needs_gpu
from .i18n import language, t
from .static import scan_imports, scan_not_installed, scan_shortcuts
from .submission import Submission, SubmissionError, load_submission, without_crashed_cell


# A target (class or function) whose probes time out this many times has its remaining checks
# failed without running them: a hanging submission costs seconds, not minutes of the batch.
HANG_LIMIT = 2


def worker_preload(assignment: Assignment, specs=None) -> tuple[str, ...]:
    """The modules a worker imports ahead for ``specs`` (default: every check), in order, each
    once; none unless the assignment allows torch."""
    if not assignment.allow_torch:
        return ()
    specs = assignment.checks if specs is None else specs
    return tuple(dict.fromkeys(n for spec in specs for n in kind_of(spec).worker_imports(spec)))


def sandbox_config(assignment: Assignment, isolation: str = "auto", gpu: bool = False):
    from .sandbox.config import from_manifest

    try:
        return from_manifest(assignment.manifest, isolation, gpu, worker_preload(assignment))
    except ValueError as exc:
        raise ValueError(f"{assignment.id}: {exc}") from None


def _failed_parts(spec: CheckSpec, reason: str) -> list[Part]:
    """Every row the check would have produced, each failed with ``reason``."""
    try:
        rows = kind_of(spec).parts(spec)
    except Exception:
        rows = [(spec.display_name, spec.points)]
    return [Part(name, points, 0.0, reason, {"kind": spec.kind, "failed": True}) for name, points in rows]


def grade_submission(assignment: Assignment, path: str | Path, *, student: str = "anonymous",
                     visibility: str = "all", secret: bytes | None = None, isolation: str = "auto",
                     submitted_at: dt.datetime | None = None, name: str | None = None,
                     progress=None, seeds: dict[str, int] | None = None, session_factory=None,
                     lang: str | None = None) -> dict:
    """Grade ``path`` and return a Gradescope ``results.json`` dict (with a ``convgrade`` block).

    ``lang`` ("en"/"ru"; None: the current context's, ``grader.i18n``): the language of every
    message in the results, recorded as ``convgrade.lang``.

    ``seeds`` (``grader.seeds.hidden_seeds``) replaces the secret: the hidden checks' seeds,
    derived by whoever holds the secret (a batch client sends only these to its workers).
    ``session_factory(source, filename=..., config=...)`` supplies the sandbox session (e.g.
    ``grader.sandbox.pool.WarmPool(config, size).session``); by default a worker is started
    before the submission is read, so its start overlaps loading (``$CONVGRADE_WARM_POOL``: a
    per-process warm pool of that size instead, as the batch's local workers use)."""
    with language(lang) as lang:
        return _grade(assignment, path, student=student, visibility=visibility, secret=secret,
                      isolation=isolation, submitted_at=submitted_at, name=name, progress=progress,
                      seeds=seeds, session_factory=session_factory, lang=lang)


def _grade(assignment, path, *, student, visibility, secret, isolation, submitted_at, name, progress,
           seeds, session_factory, lang) -> dict:
    t0 = time.monotonic()
    specs = assignment.select(visibility)
    own_pool = None   # a one-shot pool: its worker is used by run_checks, else killed on return
    if session_factory is None:
        session_factory, own_pool = _default_factory(assignment, specs, isolation)
    if secret is None and seeds is None and any(not s.visible for s in specs):
        secret = course_secret()
    meta = {"assignment": assignment.id, "version": assignment.version, "student": student,
            "name": name, "grader_version": __version__, "lang": lang, "notes": [], "static_findings": []}
    try:
        sub = load_submission(path, preferred_names=assignment.preferred_names)
    except SubmissionError as exc:
        if own_pool is not None:
            own_pool.close()
        meta["load_error"] = exc.reason
        meta["submission_sha256"] = _sha_or_none(path)
        parts = [(s, _failed_parts(s, t("grading.not_graded", reason=exc.reason))) for s in specs]
        return build_results(assignment, parts, meta, time.monotonic() - t0, submitted_at)
    meta["submission_sha256"] = sub.sha256
    meta["filename"] = sub.filename
    meta["notes"] = list(sub.notes)
    forbidden = assignment.forbidden_imports + ([] if assignment.allow_torch else ["torch"])
    findings = scan_imports(sub.source, forbidden)
    meta["static_findings"] = [f.message(sub.locate) for f in findings]
    # a release folder (a student's check): the version its grader runs and the imports the grader
    # lacks, noted after run_checks (which may restart the notes)
    release_notes = ([] if assignment.installed_imports is None else
                     [f.message(sub.locate) for f in scan_not_installed(sub.source, assignment.installed_imports,
                                                                         forbidden)])
    if assignment.released_with not in (None, __version__):     # checks of another version than the grader's
        release_notes.insert(0, t("loading.version_differs", release=assignment.released_with, mine=__version__))
    if any(s.kind in TRAINING_KINDS for s in specs):
        allow = bool(assignment.manifest.get("training", {}).get("allow_weight_files", False))
        meta["static_findings"] += [t("loading.static.shortcut", finding=msg, where=sub.locate(line))
                                    for line, msg in scan_shortcuts(sub.source, allow)]
    parts = run_checks(assignment, sub, specs, student, secret, isolation, meta, progress, seeds=seeds,
                       session_factory=session_factory)
    meta["notes"] += release_notes
    return build_results(assignment, parts, meta, time.monotonic() - t0, submitted_at)


def _default_factory(assignment: Assignment, specs: list[CheckSpec], isolation: str):
    """(session factory, pool to close afterwards): the shared warm pool, or a one-shot pool whose
    worker starts now, while the submission is loaded. (None, None) when that cannot be set up;
    ``run_checks`` then starts a session itself (and reports why it could not)."""
    try:
        from .sandbox.pool import WarmPool, env_pool_size, shared_pool, take_early

        config = sandbox_config(assignment, isolation, gpu=needs_gpu(specs))
        size = env_pool_size()
        if size:
            return shared_pool(config, size).session, None
        pool = take_early(config) or WarmPool(config, size=1, replenish=False)
        return pool.session, pool
    except Exception:
        return None, None


def _sha_or_none(path) -> str | None:
    import hashlib
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def run_checks(assignment: Assignment, sub: Submission, specs: list[CheckSpec], student: str,
               secret: bytes | None, isolation: str, meta: dict, progress=None,
               seeds: dict[str, int] | None = None, session_factory=None) -> list[tuple[CheckSpec, list[Part]]]:
    """Plan, probe and judge every check of ``specs`` in one session. The session is a sandboxed
    ``WorkerSession`` unless ``session_factory(source, filename=..., config=...)`` gives another: a
    warm pool's, or ``grader.kit``'s in-process one, so the notebook's public checks run this very loop.

    Beside a sandboxed worker the grader's own work — the next checks' plans, the last answer's
    judgement — runs on one helper thread (:class:`_Beside`) while this thread waits for the
    worker: the same plans, probes and verdicts in the same order, in less wall time."""
    from .sandbox import WorkerSession

    config = sandbox_config(assignment, isolation, gpu=needs_gpu(specs))
    meta["limits"] = dataclasses.asdict(config.limits)
    kinds = [kind_of(spec) for spec in specs]     # before the session: nothing to close if they raise
    check_seeds = [seeds[spec.name] if seeds is not None and not spec.visible
                   else check_seed(assignment.id, spec.name, student, spec.visible, secret) for spec in specs]
    t0 = time.monotonic()
    filename = sandbox_filename(sub.filename)
    if session_factory is None:
        session = WorkerSession(sub.source, config, filename=filename)
    else:
        session = session_factory(sub.source, filename=filename, config=config)
    beside = _Beside(threaded=isinstance(session, WorkerSession))
    plans: dict[int, object] = {}

    def ask(i: int) -> None:     # the plan of check i, ahead of its probe (each i asked once)
        if i < len(specs):
            plans[i] = beside.submit(_plan, kinds[i], specs[i], check_seeds[i])

    try:
        with session:
            for i in range(PLANS_AHEAD):     # made while the worker imports the submission
                ask(i)
            started = session.start()
            meta["timing"] = {"sandbox_start_s": round(time.monotonic() - t0, 4)}
            meta["isolation"] = dataclasses.asdict(session.isolation)
            if started.status != "ok":
                beside.close()
                fallback = without_crashed_cell(sub, started.error, started.seconds, config.limits.import_timeout_s) \
                    if started.status == "error" else None
                if fallback is not None:    # a notebook cell's top level raised: once more without it
                    session.close()
                    meta["notes"] = list(fallback.notes)
                    return run_checks(assignment, fallback, specs, student, secret, isolation, meta, progress,
                                      seeds=seeds, session_factory=session_factory)
                reason = _import_failure(started, sub)
                meta["load_error"] = reason
                return [(s, _failed_parts(s, reason)) for s in specs]
            out = _probe_all(session, sub, specs, kinds, plans, ask, beside, meta, progress)
            meta["stdout_tail"] = session.stdout_tail[-4000:]
    finally:
        beside.close()
    meta["timing"]["total_sandbox_s"] = round(time.monotonic() - t0, 4)
    return out


# How many checks' plans are made ahead of the probe that needs them (beside a sandboxed worker).
PLANS_AHEAD = 2


def _plan(kind, spec: CheckSpec, seed: int):
    return kind.plan(spec, np.random.default_rng(seed))


def _probe_all(session, sub: Submission, specs, kinds, plans: dict, ask, beside: "_Beside", meta: dict,
               progress) -> list[tuple[CheckSpec, list[Part]]]:
    """Every check probed in order on ``session``; each judged as soon as its answer is in (on the
    helper thread, while the next probe runs). A grader bug fails that check, not the others."""
    out: list[tuple[CheckSpec, list[Part]]] = []
    pending: list[tuple[CheckSpec, object, object]] = []     # (spec, judgement future, result), in order

    def internal(spec) -> list[Part]:
        meta.setdefault("internal_errors", []).append(f"{spec.name}: {traceback.format_exc(limit=5)}")
        return _failed_parts(spec, t("grading.internal_error_check"))

    def settle(block: bool) -> None:      # hand finished judgements out, in check order
        while pending and (block or pending[0][1].done()):
            spec, fut, result = pending.pop(0)
            try:
                parts = fut.result()
            except Exception:   # a grader bug must not take the student's other checks down
                parts = internal(spec)
            if result is not None:
                for p in parts:
                    p.extra.setdefault("worker_status", result.status)
            out.append((spec, parts))
            if progress:
                progress(spec, parts)

    timeouts: dict[str, int] = {}
    for i, spec in enumerate(specs):
        ask(i + PLANS_AHEAD)
        planned = plans.pop(i)
        if timeouts.get(spec.target, 0) >= HANG_LIMIT:
            pending.append((spec, beside.done(
                _failed_parts(spec, t("grading.hang_skipped", target=spec.target, n=HANG_LIMIT))), None))
            settle(False)
            continue
        result = None
        try:
            plan = planned.result()
            result = session.probe(plan.steps, plan.returns, plan.arrays, timeout=plan.timeout)
            locate_error(result, sub)
            judged = beside.submit(kinds[i].judge, spec, plan, result)
        except Exception:   # a grader bug must not take the student's other checks down
            judged = beside.done(internal(spec))
        if result is not None and result.status == "timeout":
            timeouts[spec.target] = timeouts.get(spec.target, 0) + 1
        pending.append((spec, judged, result))
        settle(False)
    settle(True)
    return out


class _Beside:
    """The grader's work for one submission's checks, run in the order it is asked for: on one
    helper thread (``threaded``: the worker is another process, so this one only waits on it),
    else at once. The thread runs in a copy of the caller's context (the feedback language is a
    ContextVar). ``close()`` drops what has not started and waits for what has."""

    def __init__(self, threaded: bool):
        self._pool = None
        if threaded:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="convgrade-judge")

    def submit(self, fn, *args):
        if self._pool is not None:
            return self._pool.submit(contextvars.copy_context().run, fn, *args)
        try:
            return self.done(fn(*args))
        except Exception as exc:
            return self.failed(exc)

    @staticmethod
    def done(value):
        from concurrent.futures import Future

        f = Future()
        f.set_result(value)
        return f

    @staticmethod
    def failed(exc: BaseException):
        from concurrent.futures import Future

        f = Future()
        f.set_exception(exc)
        return f

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def locate_error(result, sub: Submission) -> None:
    """Point a worker error into the student's file: ``where`` becomes every frame in their code,
    innermost first, as "cell N, line M in f: `the line`" (the worker knows only the generated
    module's line numbers; the line's text comes from the grader's own copy of the source)."""
    err = result.error
    if result.status != "error" or not isinstance(err, dict):
        return
    frames = err.get("frames") or []
    if frames:
        err["where"] = sub.traceback(frames)
    elif isinstance(err.get("line"), int):
        err["where"] = sub.frame(err["line"])


def sandbox_filename(name: str) -> str:
    """The module file name the sandbox runs the source under (it shows in tracebacks): the
    upload's own stem made a plain name (``<solution.py`` -> ``solution.py``), never a path."""
    from .roster import safe_id

    return safe_id(Path(str(name).replace("\\", "/")).stem) + ".py"


def _import_failure(result, sub: Submission) -> str:
    err = result.error or {}
    if result.status == "error":
        locate_error(result, sub)
        where = err.get("where", "")
        return t("grading.import_failed", type=err.get("type", "Exception"), message=error_message(err.get("message", "")),
                 where=f" ({where})" if where else "")
    if result.status == "timeout" and err.get("deadline") == "import":
        return t("grading.import_timeout", why=timeout_text(err))
    return t("grading.import_other", why=worker_error_text(result))
