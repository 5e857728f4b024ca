"""The course server: ``serve``, ``serve-worker``, ``serve-tokens``.

Exit codes: 0 clean shutdown / tokens printed, 3 bad input (no such course folder, bad roster).
"""
from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import click

from ..exit_codes import BadInput as _BadInput


def _course(course: Path) -> Path:
    if not course.is_dir():
        raise _BadInput(f"{course} is not a folder (give the course folder)")
    return course.resolve()


def _prepare(course: Path, db: str | None, assignments: Path | None, sync_assignments_too: bool = True) -> str:
    """Migrate the database and sync roster and assignments; return the database URL."""
    from grader.serve.course import sync_assignments, sync_roster
    from grader.serve.db import default_url, make_engine, migrate, sessions
    url = db or default_url(course)
    engine = make_engine(url)
    migrate(engine)
    try:
        with sessions(engine)() as s, s.begin():
            sync_roster(s, course)
            if sync_assignments_too:
                sync_assignments(s, assignments or course / "assignments")
    except ValueError as exc:
        raise _BadInput(str(exc))
    engine.dispose()
    return url


def _spawn_worker(url: str, course: Path) -> subprocess.Popen:
    """A worker in the course (its convgrade.toml: the secret file, the language), like
    ``convgrade --course COURSE serve-worker --db URL`` on another machine."""
    import os
    env = dict(os.environ)
    if (course / "convgrade.toml").is_file():
        env["CONVGRADE_COURSE"] = str(course)
    return subprocess.Popen([sys.executable, "-m", "grader", "serve-worker", "--db", url], env=env)


@click.command("serve")
@click.option("--course", type=click.Path(path_type=Path), required=True, help="The course folder.")
@click.option("--db", default=None, help="Database URL (default: SQLite in COURSE/.convgrade-serve/).")
@click.option("--assignments", type=click.Path(path_type=Path), default=None,
              help="Assignments folder (default: COURSE/assignments).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(0, 256),
              help="Grading worker processes to start beside the web server (0: run serve-worker elsewhere).")
@click.option("--max-upload-kb", default=5120, show_default=True, type=click.IntRange(1))
@click.option("--rate", default="10/600", show_default=True, help="Uploads per student per seconds, COUNT/SECONDS.")
@click.option("--secure-cookies/--no-secure-cookies", default=None,
              help="Mark cookies Secure (default: on unless the host is loopback, where plain HTTP is used).")
def serve(course, db, assignments, host, port, workers, max_upload_kb, rate, secure_cookies):
    """Run the course's submission service: students upload and read feedback, staff watch the class.

    \b
    Examples:
      convgrade serve --course ~/cnn-course
      convgrade serve --course . --db postgresql://grader@db/cnn --host 0.0.0.0 --workers 8
    """
    import uvicorn

    from grader.serve import queue
    from grader.serve.app import Settings, create_app
    from grader.serve.db import make_engine
    course = _course(course)
    url = _prepare(course, db, assignments)
    engine = make_engine(url)
    queue.requeue_dead(engine)
    try:
        count, window = (float(x) for x in rate.split("/"))
    except ValueError:
        raise _BadInput(f"--rate {rate!r}: expected COUNT/SECONDS, e.g. 10/600")
    loopback = host in ("127.0.0.1", "localhost", "::1")
    settings = Settings(course=course, url=url, max_upload_bytes=max_upload_kb * 1024, rate_count=int(count),
                        rate_window_s=window,
                        secure_cookies=(not loopback) if secure_cookies is None else secure_cookies)
    procs = [_spawn_worker(url, course) for _ in range(workers)]
    stop = threading.Event()

    def supervise():  # a worker that dies is replaced, and its job handed back to the queue
        while not stop.wait(1.0):
            for i, p in enumerate(procs):
                if p.poll() is not None:
                    queue.requeue_dead(engine)
                    procs[i] = _spawn_worker(url, course)

    threading.Thread(target=supervise, daemon=True).start()
    try:
        # keep-alive 30 s (uvicorn's default is 5): a client that reuses an idle connection the
        # server has just closed gets a reset, and a POST (an upload) is not retried for it
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning", timeout_keep_alive=30)
    finally:
        stop.set()
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


@click.command("serve-worker")
@click.option("--db", required=True, help="Database URL of the course server.")
@click.option("--once", is_flag=True, help="Exit when the queue is empty.")
@click.option("--dask", "scheduler", default=None, metavar="SCHEDULER",
              help="Grade on this Dask cluster (tcp://host:8786 or tls://...) instead of in this process.")
@click.option("--slots", default=0, type=click.IntRange(0), help="With --dask: jobs on the cluster at once "
              "(default: its worker threads).")
def serve_worker(db, once, scheduler, slots):
    """Grade queued submissions of a course server (the same engine and sandbox as `convgrade grade`).

    With --dask, this process claims the jobs and hands each to the Dask cluster as one task of
    the batch executor (the workers get the submission, the assignment and the hidden checks'
    seeds, never the course secret); it holds the jobs' leases, so if it dies they are claimed
    again. Run it in the course (`convgrade --course DIR serve-worker ...`) so the course secret
    and language are found.

    \b
    Examples:
      convgrade --course /srv/cnn serve-worker --db postgresql://grader@db/cnn
      convgrade --course /srv/cnn serve-worker --db postgresql://grader@db/cnn --dask tcp://scheduler:8786
    """
    import os
    import signal
    from grader.serve import worker
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if scheduler:
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise _BadInput("--dask needs the [cluster] extra (dask[distributed])")
        worker.run_dask(db, scheduler, slots=slots or None, once=once, stop=stop)
    else:
        worker.run(db, once=once, stop=stop)


@click.command("serve-tokens")
@click.option("--course", type=click.Path(path_type=Path), required=True)
@click.option("--db", default=None, help="Database URL (default: SQLite in COURSE/.convgrade-serve/).")
@click.option("--base-url", default="http://127.0.0.1:8000", show_default=True)
@click.option("--only", multiple=True, help="Only these logins (repeatable).")
@click.option("--mail", is_flag=True,
              help="Mail each person their link (SMTP settings: [serve.mail] in convgrade.toml) instead of printing it.")
def serve_tokens(course, db, base_url, only, mail):
    """Issue new sign-in links for the roster's students and staff (earlier links stop working).

    Prints ``kind<TAB>login<TAB>link`` lines; only the tokens' hashes are stored. With --mail,
    each person whose roster row has an email gets the link by mail, in their language, and the
    line says ``mailed`` instead of the link; the links of those who could not be mailed (no
    email, refused) are printed as without --mail. The SMTP server is reached before any token
    changes, so a wrong setting leaves every earlier link working.

    Exit codes: 0 every link printed or mailed, 1 some could not be mailed (their links printed),
    3 bad input (no such course, no [serve.mail], the SMTP server unreachable or refusing the login).

    \b
    Examples:
      convgrade serve-tokens --course ~/cnn-course --base-url https://grader.example.edu > links.tsv
      CONVGRADE_SMTP_PASSWORD=... convgrade serve-tokens --course ~/cnn-course --mail --base-url https://grader.example.edu
    """
    import contextlib

    from grader.roster import read_roster
    from grader.serve.config import ConfigError, load_config
    from grader.serve.course import issue_tokens
    from sqlalchemy import select

    from grader.serve.db import Student, make_engine, sessions
    from grader.serve.mail import Mailer, MailError, message
    course = _course(course)
    url = _prepare(course, db, None, sync_assignments_too=False)
    mailer = contextlib.nullcontext()
    if mail:
        try:
            cfg = load_config(course)
        except ConfigError as exc:
            raise _BadInput(str(exc))
        if cfg.mail is None:
            raise _BadInput(f"--mail: {course / 'convgrade.toml'} has no [serve.mail] table (host, from, ...)")
        roster = {r["student"]: r for r in read_roster(course / "roster.csv")} if (course / "roster.csv").is_file() else {}
        mailer = Mailer(cfg.mail)
    engine = make_engine(url)
    not_mailed = 0
    try:
        with mailer as m:
            with sessions(engine)() as s, s.begin():
                issued = issue_tokens(s, list(only) or None)
                langs = {p.login: p.lang for p in s.scalars(select(Student))}
            for kind, login, token in issued:
                link = f"{base_url.rstrip('/')}/login?token={token}"
                if not mail:
                    click.echo(f"{kind}\t{login}\t{link}")
                    continue
                row = roster.get(login, {})
                to = (row.get("email") or "").strip()
                why = "no email in the roster" if not to or "@" not in to else m.send(
                    message(cfg.mail, to, row.get("name", ""), link, cfg.name, langs.get(login) or cfg.lang))
                if why:
                    not_mailed += 1
                    click.echo(f"{login}: not mailed ({why}); the link is printed", err=True)
                    click.echo(f"{kind}\t{login}\t{link}")
                else:
                    click.echo(f"{kind}\t{login}\tmailed")
    except MailError as exc:
        raise _BadInput(f"--mail: {exc}; no link was changed")
    finally:
        engine.dispose()
    if not_mailed:
        sys.exit(1)


def register(main) -> None:
    for cmd in (serve, serve_worker, serve_tokens):
        main.add_command(cmd)
