"""The Starlette application of ``convgrade serve`` (Jinja2 templates, autoescaped).

Student pages: ``/`` (assignments, upload forms, every attempt), ``/submission/{id}`` (queue
position, then score and feedback), ``/submission/{id}/feedback`` (the same HTML the CLI writes).
Staff pages: ``/staff``, ``/staff/a/{id}`` (overview), ``/staff/a/{id}/summary`` (the batch summary
page), ``/staff/a/{id}/gradebook.csv?fmt=canvas|moodle|plain``, ``/staff/a/{id}/similarity``, ``/staff/student/{login}``,
``POST /staff/regrade/{submission}``, ``POST /staff/a/{id}/regrade`` (every student's latest attempt). Every POST carries a CSRF token; a student only ever reads
their own submissions (404 otherwise, so ids leak nothing).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import secrets
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from grader.i18n import LANGS, language, localized, t
from grader.submission import raw_cap

from . import queue
from .db import (AssignmentRow, Job, Result, Staff, Student, Submission, as_utc, make_engine, sessions,
                 state_dir, utcnow)
from .security import (CSRF_COOKIE, SESSION_COOKIE, SESSION_S, csrf_for, csrf_ok, hash_token, load_key,
                       make_session, read_session)

ALLOWED = (".ipynb", ".py", ".zip")
LANG_COOKIE = "cg_lang"
FEEDBACK_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self'; form-action 'self'"


@dataclass
class Settings:
    course: Path
    url: str
    max_upload_bytes: int = 5 * 1024 * 1024
    rate_count: int = 10          # at most this many uploads per student ...
    rate_window_s: float = 600.0  # ... in this many seconds
    secure_cookies: bool = True
    clock: Callable[[], dt.datetime] = utcnow   # the server's own time: receipt, closing, due date


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def store_file(root: Path, filename: str, data: bytes) -> Path:
    """Write the upload durably: a fresh folder, temp file, fsync, rename, fsync the folders."""
    d = root / uuid.uuid4().hex
    d.mkdir(parents=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".part-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    final = d / filename
    os.replace(tmp, final)
    _fsync_dir(d)
    _fsync_dir(root)
    return final


def safe_filename(name: str) -> str | None:
    base = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name.replace("\\", "/")).name).lstrip(".")
    if not base or Path(base).suffix.lower() not in ALLOWED:
        return None
    return base[:120]


def student_view(results: dict, due: dt.datetime | None, now: dt.datetime) -> dict:
    """What a student may see now: ``after_due_date`` checks are left out before the due date
    (score recomputed over what is shown)."""
    tests = results.get("tests") or []
    if due is None or now >= due or not any(t.get("visibility") == "after_due_date" for t in tests):
        return results
    shown = [t for t in tests if t.get("visibility") != "after_due_date"]
    out = dict(results, tests=shown)
    out["score"] = round(sum(float(t.get("score") or 0) for t in shown), 6)
    out["max_score"] = round(sum(float(t.get("max_score") or 0) for t in shown), 6)
    return out


def _when(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def closed_message(arow, now: dt.datetime) -> str:
    """Why an upload after the assignment closed is refused, with the times that decided it."""
    due, closes = as_utc(arow.due), as_utc(arow.closes_at)
    title = localized(arow, "title") or arow.id
    if due is None or closes - due <= dt.timedelta(hours=1):
        return t("serve.closed_at", title=title, closes=_when(closes), now=_when(now))
    return t("serve.closed_late", title=title, closes=_when(closes), due=_when(due), now=_when(now))


def points_text(value) -> str:
    """A score as people read it: at most two decimals, no float noise (``—`` for none)."""
    if value is None:
        return "—"
    try:
        return f"{round(float(value), 2):g}"
    except (TypeError, ValueError):
        return str(value)


def diagnoses_of(results: dict) -> list[tuple[str, str, list[str]]]:
    """``[(diagnosis code, message, [check rows it was found in])]`` of ``results``, one entry per
    distinct diagnosis, in the order of the rows."""
    found: dict[tuple[str, str], list[str]] = {}
    for t in results.get("tests") or []:
        extra = t.get("extra_data") if isinstance(t.get("extra_data"), dict) else {}
        for d in extra.get("diagnoses") or []:
            if isinstance(d, dict) and d.get("code"):
                found.setdefault((str(d["code"]), str(d.get("message", ""))), []).append(str(t.get("name", "?")))
    return [(code, msg, rows) for (code, msg), rows in found.items()]


def _inline_md(text) -> Markup:
    from grader.report._html import inline_markdown

    return Markup(inline_markdown(str(text)))


def create_app(settings: Settings) -> Starlette:
    engine = make_engine(settings.url)
    Session = sessions(engine)
    key = load_key(state_dir(settings.course) / "session.key")
    upload_root = state_dir(settings.course) / "submissions"
    upload_root.mkdir(exist_ok=True)
    env = Environment(loader=PackageLoader("grader.serve", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["pts"] = points_text
    env.filters["md"] = _inline_md      # a message's inline Markdown, escaped first (safe HTML)
    env.globals["_"] = t
    env.globals["localized"] = localized
    from .config import load_config
    cfg = load_config(settings.course)
    lti = None
    if cfg.platforms:
        from .lti import Lti
        lti = Lti(cfg, Session, settings.clock)

    def who(request: Request):
        got = read_session(key, request.cookies.get(SESSION_COOKIE))
        if not got:
            return None
        kind, ident = got
        with Session() as s:
            person = s.get(Student if kind == "student" else Staff, ident)
        return (kind, person) if person else None

    def render(request: Request, name: str, status: int = 200, **ctx) -> Response:
        nonce = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(16)
        ctx.setdefault("me", who(request))
        from grader.i18n import current
        html = env.get_template(name).render(csrf=csrf_for(key, nonce), lang=current(), path=request.url.path, **ctx)
        resp = HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": PAGE_CSP,
                                                               "X-Content-Type-Options": "nosniff"})
        if CSRF_COOKIE not in request.cookies:
            resp.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="strict", secure=settings.secure_cookies)
        return resp

    def lang_for(request: Request) -> tuple[str, bool]:
        """The page language: ``?lang=`` (remembered in a cookie), the cookie, the signed-in
        student's roster language, the course's; and whether the query chose it."""
        asked = request.query_params.get("lang")
        if asked in LANGS:
            return asked, True
        if request.cookies.get(LANG_COOKIE) in LANGS:
            return request.cookies[LANG_COOKIE], False
        me = who(request)
        if me and me[0] == "student" and me[1].lang in LANGS:
            return me[1].lang, False
        return cfg.lang, False

    def in_language(handler):
        async def run(request: Request) -> Response:
            lang, chosen = lang_for(request)
            with language(lang):
                resp = await handler(request)
            if chosen:
                resp.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, httponly=True, samesite="lax",
                                secure=settings.secure_cookies)
            return resp
        return run

    def refuse(request: Request, status: int, message: str) -> Response:
        return render(request, "message.html", status=status, title=t("serve.not_accepted"), message=message)

    async def form_checked(request: Request, **limits):
        form = await request.form(**limits)
        if not csrf_ok(key, request.cookies.get(CSRF_COOKIE), form.get("csrf")):
            return None
        return form

    # ---- sign in -------------------------------------------------------------------------
    async def index(request: Request):
        me = who(request)
        if me is None:
            return render(request, "login.html", token="")
        kind, person = me
        if kind == "staff":
            return RedirectResponse("/staff", 303)
        with Session() as s:
            rows = s.scalars(select(AssignmentRow).where(AssignmentRow.active).order_by(AssignmentRow.id)).all()
            attempts = {a.id: _attempts(s, person.id, a.id) for a in rows}
        now = settings.clock()
        closed = {a.id: bool(a.closes_at and now >= as_utc(a.closes_at)) for a in rows}
        for a in rows:  # a score counts only the rows a student may see now
            for t in attempts[a.id]:
                if t["result"] is not None:
                    t["view"] = student_view(json.loads(t["result"].results_json), as_utc(a.due), now)
        return render(request, "student.html", assignments=rows, attempts=attempts, now=now, closed=closed,
                      closes={a.id: as_utc(a.closes_at) for a in rows})

    async def login_page(request: Request):
        return render(request, "login.html", token=request.query_params.get("token", ""))

    async def login(request: Request):
        form = await form_checked(request)
        if form is None:
            return refuse(request, 403, t("serve.form_expired"))
        h = hash_token(str(form.get("token", "")).strip())
        with Session() as s:
            st = s.scalar(select(Student).where(Student.token_hash == h))
            sf = None if st else s.scalar(select(Staff).where(Staff.token_hash == h))
        if not st and not sf:
            return refuse(request, 403, t("serve.bad_token"))
        return signed_in(RedirectResponse("/staff" if sf else "/", 303), "student" if st else "staff", (st or sf).id)

    def signed_in(resp: Response, kind: str, ident: int) -> Response:
        resp.set_cookie(SESSION_COOKIE, make_session(key, kind, ident), max_age=SESSION_S, httponly=True,
                        samesite="strict", secure=settings.secure_cookies)
        return resp

    # ---- LTI 1.3 (grader.serve.lti): cross-site by design, so no CSRF token; state, nonce and
    # the platform's signature protect it
    async def lti_login(request: Request):
        from .lti import LaunchRefused
        if lti is None:
            return refuse(request, 404, t("serve.lti_off"))
        params = {k: str(v) for k, v in request.query_params.items()}
        if request.method == "POST":
            form = await request.form(max_files=0, max_fields=30, max_part_size=16 * 1024)
            params.update({k: str(v) for k, v in form.items()})
        try:
            url, jar = await run_in_threadpool(lti.login, params, dict(request.cookies), settings.secure_cookies)
        except LaunchRefused as exc:
            return refuse(request, 400, t("serve.lti_login_refused", reason=str(exc)))
        resp = RedirectResponse(url, 302)
        jar.apply(resp)
        return resp

    async def lti_launch(request: Request):
        from .lti import LaunchRefused
        if lti is None:
            return refuse(request, 404, t("serve.lti_off"))
        try:
            form = await request.form(max_files=0, max_fields=30, max_part_size=64 * 1024)
        except Exception:
            return refuse(request, 400, t("serve.lti_launch_refused", reason=t("serve.lti_unreadable")))
        params = {k: str(v) for k, v in form.items()}

        def check():
            claims, platform = lti.launch(params, dict(request.cookies), settings.secure_cookies)
            with Session() as s:
                kind, person = lti.person(s, claims, platform)
            return kind, person.id
        try:
            kind, ident = await run_in_threadpool(check)
        except LaunchRefused as exc:
            return refuse(request, 403, t("serve.lti_launch_refused", reason=str(exc)))
        # a page, not a redirect: the session cookie is SameSite=Strict, and the next request must
        # be this site's own navigation for the browser to send it
        target = "/staff" if kind == "staff" else "/"
        return signed_in(render(request, "continue.html", target=target, me=None), kind, ident)

    async def logout(request: Request):
        if await form_checked(request) is None:
            return refuse(request, 403, t("serve.form_expired"))
        resp = RedirectResponse("/", 303)
        resp.delete_cookie(SESSION_COOKIE)
        return resp

    # ---- students ------------------------------------------------------------------------
    def _attempts(s, student_id: int, aid: str) -> list[dict]:
        subs = s.scalars(select(Submission).where(Submission.student_id == student_id,
                                                  Submission.assignment_id == aid)
                         .order_by(Submission.id.desc())).all()
        return [_status(s, sub) for sub in subs]

    def _status(s, sub: Submission) -> dict:
        job = s.scalar(select(Job).where(Job.submission_id == sub.id).order_by(Job.id.desc()))
        res = s.scalar(select(Result).where(Result.submission_id == sub.id).order_by(Result.id.desc()))
        return {"sub": sub, "job": job, "result": res, "received": as_utc(sub.received_at),
                "position": queue.position(s, job) if job else 0}

    async def submit(request: Request):
        me = who(request)
        if me is None or me[0] != "student":
            return refuse(request, 403, t("serve.students_only"))
        student = me[1]
        aid = request.path_params["aid"]
        # a notebook's stored outputs do not count toward the size limit (the loader's rule,
        # grader.submission.raw_cap): the request may be as large as the largest file allowed
        ceiling = raw_cap(settings.max_upload_bytes, "upload.ipynb")
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > ceiling + 64 * 1024:
            return refuse(request, 413, t("serve.too_large", kib=ceiling // 1024))
        try:
            form = await form_checked(request, max_files=1, max_fields=5, max_part_size=ceiling + 1)
        except Exception:
            return refuse(request, 413, t("serve.unreadable_upload", kib=ceiling // 1024))
        if form is None:
            return refuse(request, 403, t("serve.form_expired"))
        upload = form.get("file")
        if upload is None or not hasattr(upload, "read"):
            return refuse(request, 400, t("serve.choose_file"))
        name = safe_filename(upload.filename or "")
        if name is None:
            return refuse(request, 400, t("serve.wrong_type"))
        cap = raw_cap(settings.max_upload_bytes, name)
        data = await upload.read(cap + 1)
        if len(data) > cap:
            return refuse(request, 413, t("serve.too_large", kib=cap // 1024))
        if not data:
            return refuse(request, 400, t("serve.empty_file"))

        def accept():
            now = settings.clock()
            with Session() as s, s.begin():
                arow = s.get(AssignmentRow, aid)
                if arow is None or not arow.active:
                    return 404, t("serve.no_assignment")
                if arow.closes_at is not None and now >= as_utc(arow.closes_at):
                    return 403, closed_message(arow, now)
                since = now - dt.timedelta(seconds=settings.rate_window_s)
                recent = s.scalar(select(func.count()).select_from(Submission)
                                  .where(Submission.student_id == student.id, Submission.received_at >= since))
                if recent >= settings.rate_count:
                    return 429, t("serve.rate_limited", count=settings.rate_count, minutes=int(settings.rate_window_s // 60))
                path = store_file(upload_root, name, data)
                sub = Submission(student_id=student.id, assignment_id=aid, filename=name, path=str(path),
                                 sha256=hashlib.sha256(data).hexdigest(), size=len(data), received_at=now)
                s.add(sub)
                s.flush()
                queue.enqueue(s, sub.id)
                return 303, sub.id
        status, value = await run_in_threadpool(accept)
        if status != 303:
            return refuse(request, status, value)
        return RedirectResponse(f"/submission/{value}", 303)

    def _own(request: Request):
        """(me, submission, assignment) when the caller may read this submission, else None."""
        me = who(request)
        if me is None:
            return None
        try:
            sid = int(request.path_params["sid"])
        except ValueError:
            return None
        with Session() as s:
            sub = s.get(Submission, sid)
            if sub is None or (me[0] == "student" and sub.student_id != me[1].id):
                return None
            return me, sub, s.get(AssignmentRow, sub.assignment_id), s.get(Student, sub.student_id)

    async def submission(request: Request):
        got = _own(request)
        if got is None:
            return refuse(request, 404, t("serve.no_submission"))
        me, sub, arow, student = got
        with Session() as s:
            st = _status(s, sub)
        view = None
        if st["result"]:
            res = json.loads(st["result"].results_json)
            view = res if me[0] == "staff" else student_view(res, as_utc(arow.due), settings.clock())
        return render(request, "submission.html", st=st, assignment=arow, student=student, view=view,
                      diagnoses=diagnoses_of(view) if view else [])

    async def feedback(request: Request):
        got = _own(request)
        if got is None:
            return refuse(request, 404, t("serve.no_submission"))
        me, sub, arow, student = got
        with Session() as s:
            res = s.scalar(select(Result).where(Result.submission_id == sub.id).order_by(Result.id.desc()))
        if res is None:
            return refuse(request, 404, t("serve.not_graded"))
        from grader.report.feedback import render_html
        results = json.loads(res.results_json)
        if me[0] == "student":
            results = student_view(results, as_utc(arow.due), settings.clock())
        from grader.i18n import current
        return HTMLResponse(render_html(results, current(), questions=questions_of(arow)),
                            headers={"Content-Security-Policy": FEEDBACK_CSP, "X-Content-Type-Options": "nosniff"})

    # ---- staff ---------------------------------------------------------------------------
    def staff_only(request: Request):
        me = who(request)
        return me[1] if me and me[0] == "staff" else None

    question_maps: dict[tuple[str, str], dict] = {}

    def questions_of(arow: AssignmentRow) -> dict | None:
        """``{check number: question}`` of the assignment (cached per folder and version)."""
        k = (arow.path, arow.version)
        if k not in question_maps:
            from grader.assignment import AssignmentError, load
            from grader.report.questions import question_map
            try:
                question_maps[k] = question_map(load(arow.path))
            except (AssignmentError, OSError, ValueError):
                question_maps[k] = None
        return question_maps[k]

    def latest_results(aid: str) -> list[tuple[str, str, int, dict]]:
        """``[(login, name, submission id, results)]``: every student's latest attempt that has a
        result (the newest result of it), by login."""
        out = []
        with Session() as s:
            for student in s.scalars(select(Student).order_by(Student.login)):
                sub = s.scalar(select(Submission).where(Submission.student_id == student.id,
                                                        Submission.assignment_id == aid)
                               .order_by(Submission.id.desc()))
                if sub is None:
                    continue
                res = s.scalar(select(Result).where(Result.submission_id == sub.id).order_by(Result.id.desc()))
                if res is not None:
                    out.append((student.login, student.name, sub.id, json.loads(res.results_json)))
        return out

    def class_view(arow: AssignmentRow):
        from grader.assignment import AssignmentError, load
        from .overview import class_overview
        try:
            assignment = load(arow.path)
        except (AssignmentError, OSError, ValueError):   # the folder went away: no question names
            assignment = None
        return class_overview(assignment, latest_results(arow.id))

    def latest_rows(aid: str) -> list[dict]:
        from .overview import class_overview
        return class_overview(None, latest_results(aid)).rows

    async def staff_home(request: Request):
        if staff_only(request) is None:
            return refuse(request, 403, t("serve.staff_only"))
        with Session() as s:
            rows = s.scalars(select(AssignmentRow).where(AssignmentRow.active).order_by(AssignmentRow.id)).all()
            counts = {a.id: s.scalar(select(func.count()).select_from(Submission)
                                     .where(Submission.assignment_id == a.id)) for a in rows}
            queued = s.scalar(select(func.count()).select_from(Job).where(Job.state != "done"))
            students = s.scalars(select(Student).order_by(Student.login)).all()
        return render(request, "staff.html", assignments=rows, counts=counts, queued=queued, students=students)

    async def overview(request: Request):
        if staff_only(request) is None:
            return refuse(request, 403, t("serve.staff_only"))
        aid = request.path_params["aid"]
        with Session() as s:
            arow = s.get(AssignmentRow, aid)
        if arow is None:
            return refuse(request, 404, t("serve.no_such_assignment"))
        ov = await run_in_threadpool(class_view, arow)
        return render(request, "overview.html", assignment=arow, ov=ov, hist_max=max(ov.histogram) or 1)

    async def summary(request: Request):
        if staff_only(request) is None:
            return refuse(request, 403, t("serve.staff_only"))
        from grader.report.gradebook import render_summary_html
        return HTMLResponse(render_summary_html(latest_rows(request.path_params["aid"])),
                            headers={"Content-Security-Policy": FEEDBACK_CSP})

    async def gradebook(request: Request):
        if staff_only(request) is None:
            return refuse(request, 403, t("serve.staff_only"))
        from grader.report.gradebook import FORMATS, write_csv
        fmt = request.query_params.get("fmt", "canvas")
        if fmt not in FORMATS:
            return refuse(request, 400, t("serve.bad_format", formats=", ".join(FORMATS)))
        aid = request.path_params["aid"]
        with Session() as s:
            arow = s.get(AssignmentRow, aid)
        if arow is None:
            return refuse(request, 404, t("serve.no_such_assignment"))
        with tempfile.TemporaryDirectory() as tmp:
            path = write_csv(latest_rows(aid), Path(tmp) / "gradebook.csv", fmt, title=arow.title or aid)
            body = Path(path).read_bytes()
        return Response(body, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{aid}-{fmt}.csv"'})

    async def student_history(request: Request):
        if staff_only(request) is None:
            return refuse(request, 403, t("serve.staff_only"))
        with Session() as s:
            student = s.scalar(select(Student).where(Student.login == request.path_params["login"]))
            if student is None:
                return refuse(request, 404, t("serve.no_such_student"))
            arows = s.scalars(select(AssignmentRow).order_by(AssignmentRow.id)).all()
            attempts = {a.id: _attempts(s, student.id, a.id) for a in arows}
        return render(request, "history.html", student=student, assignments=arows, attempts=attempts)

    async def regrade(request: Request):
        if staff_only(request) is None:
            return refuse(request, 403, t("serve.staff_only"))
        if await form_checked(request) is None:
            return refuse(request, 403, t("serve.form_expired"))
        sid = int(request.path_params["sid"])
        with Session() as s, s.begin():
            if s.get(Submission, sid) is None:
                return refuse(request, 404, t("serve.no_submission"))
            queue.enqueue(s, sid)
        return RedirectResponse(f"/submission/{sid}", 303)

    async def similarity(request: Request):
        """The winnowing similarity report over every student's latest attempt (sources read by
        the engine's own loader, never run)."""
        if staff_only(request) is None:
            return refuse(request, 403, t("serve.staff_only"))
        from grader.assignment import load
        from grader.report.similarity import compare, render_pairs_html
        from grader.submission import SubmissionError, load_submission
        aid = request.path_params["aid"]
        with Session() as s:
            arow = s.get(AssignmentRow, aid)
            if arow is None:
                return refuse(request, 404, t("serve.no_such_assignment"))
            latest = s.execute(select(Student.login, Submission.path).join(Student)
                               .where(Submission.id.in_(select(func.max(Submission.id))
                                                        .where(Submission.assignment_id == aid)
                                                        .group_by(Submission.student_id)))).all()
        names = load(arow.path).preferred_names
        sources = {}
        for login, path in latest:
            try:
                sources[login] = load_submission(path, preferred_names=names).source
            except SubmissionError:
                continue
        starter = ""
        try:
            from grader.authoring.notebook import parse, starter_source
            starter = starter_source(parse(Path(arow.path)))
        except Exception:  # no master notebook in the course folder: compare without a starter
            pass
        html = render_pairs_html(compare(sources, starter), sources)
        return HTMLResponse(html, headers={"Content-Security-Policy": FEEDBACK_CSP})

    async def regrade_all(request: Request):
        if staff_only(request) is None:
            return refuse(request, 403, t("serve.staff_only"))
        if await form_checked(request) is None:
            return refuse(request, 403, t("serve.form_expired"))
        aid = request.path_params["aid"]
        with Session() as s, s.begin():
            latest = s.execute(select(func.max(Submission.id)).where(Submission.assignment_id == aid)
                               .group_by(Submission.student_id)).scalars().all()
            for sid in sorted(latest):
                queue.enqueue(s, sid)
        return RedirectResponse(f"/staff/a/{aid}", 303)

    routes = [Route("/", index), Route("/login", login_page, methods=["GET"]),
              Route("/login", login, methods=["POST"]), Route("/logout", logout, methods=["POST"]),
              Route("/lti/login", lti_login, methods=["GET", "POST"]),
              Route("/lti/launch", lti_launch, methods=["POST"]),
              Route("/submit/{aid}", submit, methods=["POST"]),
              Route("/submission/{sid}", submission), Route("/submission/{sid}/feedback", feedback),
              Route("/staff", staff_home), Route("/staff/a/{aid}", overview),
              Route("/staff/a/{aid}/summary", summary), Route("/staff/a/{aid}/gradebook.csv", gradebook),
              Route("/staff/student/{login}", student_history),
              Route("/staff/regrade/{sid}", regrade, methods=["POST"]),
              Route("/staff/a/{aid}/regrade", regrade_all, methods=["POST"]),
              Route("/staff/a/{aid}/similarity", similarity)]
    routes = [Route(r.path, in_language(r.endpoint), methods=sorted(r.methods - {"HEAD"}) if r.methods else None)
              for r in routes]
    app = Starlette(routes=routes)
    app.state.engine = engine
    return app
