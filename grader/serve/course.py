"""The course folder as the server reads it.

::

    COURSE/
      assignments/<id>/assignment.toml ...   (or --assignments DIR)
      roster.csv        student, name, email, lang (en/ru), role (student | ta | instructor)
      convgrade.toml    optional: [serve] staff = ["ta1"], instructors = ["prof"]

An assignment closes (``closes_at``: uploads refused from then on, by the server's clock) at its
due date plus the late policy's last accepted day: ``[late] accept_days = N`` in the manifest
(late uploads accepted for N days, with the penalty); without it, when the penalty reaches 100 %
(``penalty_per_day`` with ``max_penalty = 1``); never when the penalty stops below 100 %; and at
the due date plus ``grace_minutes`` when there is no penalty at all. No due date: never.

Staff are the roster rows whose ``role`` is ``ta``/``instructor`` and the logins listed in
``convgrade.toml``; everyone else on the roster is a student.
"""
from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

from grader.i18n import known

from sqlalchemy import select

from grader.roster import read_roster

from .db import AssignmentRow, Staff, Student
from .security import hash_token, new_token


def staff_roles(course: Path, rows: list[dict]) -> dict[str, str]:
    from .config import load_config
    roles = {r["student"]: r["role"].lower() for r in rows if r.get("role", "").lower() in ("ta", "instructor")}
    cfg = load_config(course)
    roles.update({x: "ta" for x in cfg.staff})
    roles.update({x: "instructor" for x in cfg.instructors})
    return roles


def sync_roster(session, course: Path) -> None:
    path = Path(course) / "roster.csv"
    if not path.is_file():
        return
    from .config import load_config
    rows = read_roster(path)
    roles = staff_roles(course, rows)
    default_lang = load_config(course).lang
    for r in rows:
        login = r["student"]
        if login in roles:
            st = session.scalar(select(Staff).where(Staff.login == login)) or Staff(login=login)
            st.name, st.role, st.email = r.get("name", ""), roles[login], r.get("email", "")
            session.add(st)
        else:
            st = session.scalar(select(Student).where(Student.login == login)) or Student(login=login)
            st.name, st.email = r.get("name", ""), r.get("email", "")
            st.lang = known(r.get("lang", ""), default_lang)
            session.add(st)


def closes_at(assignment) -> dt.datetime | None:
    """When uploads for ``assignment`` stop being accepted (None: never); see the module doc."""
    due = assignment.due
    if due is None:
        return None
    late, raw = assignment.late, assignment.manifest.get("late") or {}
    grace = dt.timedelta(minutes=late.grace_minutes)
    if "accept_days" in raw:
        days = float(raw["accept_days"])
        if not math.isfinite(days) or days < 0:
            raise ValueError(f"{assignment.id}: [late] accept_days must be a number of days >= 0")
        return due + max(grace, dt.timedelta(days=days))
    if late.penalty_per_day <= 0:
        return due + grace
    if late.max_penalty < 1.0 - 1e-9:
        return None
    # the penalty is penalty_per_day * ceil(days late): the last day that can still earn points
    last = math.ceil(1.0 / late.penalty_per_day - 1e-9) - 1
    return due + max(grace, dt.timedelta(days=last))


def sync_assignments(session, folder: Path) -> list[str]:
    """Mirror every assignment folder under ``folder`` into the table; absent ones become inactive."""
    from grader.assignment import load
    seen = []
    for d in sorted(Path(folder).iterdir()) if Path(folder).is_dir() else []:
        if not (d / "assignment.toml").is_file():
            continue
        a = load(d)
        row = session.get(AssignmentRow, a.id) or AssignmentRow(id=a.id)
        row.title, row.path, row.version = a.title, str(d.resolve()), a.version
        row.due, row.max_score, row.active = a.due, a.max_score, True
        row.closes_at, row.title_ru = closes_at(a), a.title_ru if a.title_ru != a.title else ""
        session.add(row)
        seen.append(a.id)
    for row in session.scalars(select(AssignmentRow)):
        if row.id not in seen:
            row.active = False
    return seen


def issue_tokens(session, only: list[str] | None = None) -> list[tuple[str, str, str]]:
    """New sign-in tokens for everyone (or the logins in ``only``): [(kind, login, token)].
    Earlier tokens of those people stop working."""
    out = []
    for kind, model in (("staff", Staff), ("student", Student)):
        for person in session.scalars(select(model).order_by(model.login)):
            if only and person.login not in only:
                continue
            token = new_token()
            person.token_hash = hash_token(token)
            out.append((kind, person.login, token))
    return out
