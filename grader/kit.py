"""The student's kit: the public checks of a released assignment, run inside the notebook.

A release folder (``convgrade release``) holds the public ``assignment.toml`` and a ``checks.toml``
of the visible checks only. ``convgrade check nb.ipynb`` in that folder grades the notebook in
the sandbox; the notebook's own ``grader.check("q")`` cells (otter tests written by the release)
call :func:`check_in_notebook`, which runs **the same code**: ``grader.grade.run_checks`` — the
check kind's ``plan`` with the public seed, a probe, the kind's ``judge`` and its diagnoses —
with one difference only: the probe runs in the notebook's kernel instead of a sandboxed worker.

:class:`InProcessSession` is that in-kernel worker. It is built from the sandbox's own parts, so
the two paths cannot drift: the request is encoded by ``sandbox.protocol.encode_message`` and
read by ``sandbox.worker.read_message``; the steps run in ``sandbox.worker.Session`` (the class
the sandbox worker uses) against the notebook's namespace; the reply is written by
``sandbox.worker.write_message``, parsed by the launcher's reply parser (byte caps, ``.npy``
validation, float64 copies) and turned into a ``ProbeResult`` by ``launcher.reply_result``.

There is no sandbox here and none is needed: the code is the student's own, run on the
student's machine, against public inputs. The probe deadline is kept (``SIGALRM``, in the
kernel's main thread on POSIX), so a hanging function fails its check instead of the kernel.

    from grader.kit import check_in_notebook
    check_in_notebook(env, "Conv2d forward 3x3")       # raises AssertionError with the feedback
"""
from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .assignment import Assignment, AssignmentError, load
from .i18n import default_lang, known, language, results_lang, t
from .sandbox.config import IsolationReport, ProbeResult, SandboxConfig
from .seeds import PUBLIC_STUDENT

RELEASE_FILES = ("assignment.toml", "checks.toml")
_VERDICTS: dict[str, str] = {}      # part name -> "passed"/"failed", every check run in this process


class KitError(RuntimeError):
    """The public checks cannot run here (no release folder, an unknown check name)."""


# ----------------------------------------------------------------------------- in-process worker

class _Namespace:
    """An object whose attribute dict *is* the notebook's globals (the worker's ``module``)."""


class _Deadline(BaseException):
    """Raised in the probe by SIGALRM when the probe's deadline passes."""


@contextlib.contextmanager
def _deadline(seconds: float):
    """Interrupt the block after ``seconds`` (main thread, POSIX); yields a dict with ``fired``."""
    state = {"fired": False}
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield state
        return

    def fire(signum, frame):
        state["fired"] = True
        raise _Deadline(t("grading.kit_timeout", s=f"{seconds:g}"))

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield state
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _through_file(write, read):
    """Bytes written by ``write(fd)`` read back by ``read(fd)`` (a temporary file stands in for the
    sandbox's pipe, so both ends run their real framing code)."""
    fd, path = tempfile.mkstemp(prefix="convgrade-kit-")
    try:
        os.unlink(path)
        write(fd)
        os.lseek(fd, 0, os.SEEK_SET)
        return read(fd)
    finally:
        os.close(fd)


def _read_all(fd) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


class InProcessSession:
    """``WorkerSession``'s interface over a namespace in this process (the notebook's globals)."""

    def __init__(self, namespace: dict, config: SandboxConfig | None = None, filename: str = "submission.py"):
        from .sandbox import worker

        if not isinstance(namespace, dict):
            raise TypeError(f"namespace: the notebook's globals (a dict), got {type(namespace).__name__}")
        self.config = config or SandboxConfig()
        lim = self.config.limits
        self._wire = worker
        # the sandbox's own step executor, exactly as worker.main sets it up after init
        self._session = worker.Session(filename, int(lim.max_elements), int(lim.result_bytes) // 2)
        self._session.helpers = worker.capture_torch(self.config.forbidden)
        holder = _Namespace()
        holder.__dict__ = namespace
        self._session.module = holder
        self._next_id = 1

    @property
    def isolation(self) -> IsolationReport:
        return IsolationReport("in-process", [t("grading.kit_isolation")])

    stdout_tail = ""

    def start(self) -> ProbeResult:
        return ProbeResult("ok")            # the notebook already ran its cells

    def probe(self, steps: list[dict], returns: dict[str, str], arrays=(), timeout: float | None = None) -> ProbeResult:
        from .sandbox.launcher import _ReplyParser, reply_result
        from .sandbox.protocol import ProtocolError, encode_message

        t0 = time.monotonic()
        timeout = self.config.limits.probe_timeout_s if timeout is None else float(timeout)
        probe_id, self._next_id = self._next_id, self._next_id + 1
        request = encode_message({"op": "probe", "id": probe_id, "steps": steps, "return": dict(returns)}, list(arrays))
        msg, received = _through_file(lambda fd: self._wire.write_all(fd, request), self._wire.read_message)
        with _deadline(timeout) as state:
            try:
                reply, out = self._session.probe(msg, received)
            except _Deadline:
                pass
        if state["fired"]:
            return ProbeResult("timeout", error={"type": "timeout",
                               "message": t("grading.kit_timeout", s=f"{timeout:g}")},
                               seconds=time.monotonic() - t0)
        reply["stdout"] = ""                # printed output went to the notebook
        data = _through_file(lambda fd: self._wire.write_message(fd, reply, out), _read_all)
        parser = _ReplyParser(self.config.limits, probe_id)
        try:
            if parser.feed(data) != b"":
                raise ProtocolError("the reply is incomplete or has trailing bytes")
            result = reply_result(parser.header, parser.arrays, returns)
        except (ProtocolError, RecursionError) as exc:
            result = ProbeResult("protocol_error", error={"type": "ProtocolError", "message": str(exc)})
        result.seconds = time.monotonic() - t0
        return result

    def close(self) -> None:
        pass

    def __enter__(self) -> "InProcessSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ----------------------------------------------------------------------------- public API

@dataclass
class _NamespaceSubmission:
    """What ``run_checks`` reads of a Submission, for code already run in the notebook."""
    filename: str
    source: str = ""
    notes: list = field(default_factory=list)

    def locate(self, line: int) -> str:
        return f"line {line}"


def find_release(here: str | Path = ".") -> Path:
    """The release folder: ``here`` or the nearest folder above it holding assignment.toml and
    checks.toml (a notebook runs with its own folder as the working directory)."""
    start = Path(here).resolve()
    for folder in (start, *start.parents):
        if all((folder / name).is_file() for name in RELEASE_FILES):
            return folder
    raise KitError(t("grading.kit_no_release", folder=start))


def kit_lang(assignment: Assignment | None = None, lang: str | None = None) -> str:
    """The language of the kit's messages: ``lang``, else the release's ``assignment.toml``
    ``lang`` (when it has one), else the course's (``grader.i18n.default_lang``)."""
    if lang is not None:
        return lang
    manifest = getattr(assignment, "manifest", None) or {}
    own = manifest.get("lang") if isinstance(manifest, dict) else None
    return known(own) or default_lang()


def run_public_checks(namespace: dict, assignment: str | Path | Assignment = ".",
                      names: list[str] | None = None, *, filename: str = "notebook.py",
                      lang: str | None = None) -> dict:
    """Judge the visible checks (all, or those called ``names``) on the names defined in
    ``namespace``; returns the same ``results.json`` dict ``convgrade check`` builds.

    ``assignment``: an Assignment, or a release (or assignment) folder, or a path inside one.
    ``lang`` ("en"/"ru"): the language of the messages (default: :func:`kit_lang`); ``names`` are
    check names (``CheckSpec.name``), whatever the language.
    """
    from .grade import run_checks
    from .results import build_results

    if isinstance(assignment, Assignment):
        a = assignment
    else:
        try:
            a = load(find_release(assignment))
        except AssignmentError as exc:
            raise KitError(str(exc)) from None
    with language(kit_lang(a, lang)) as lang:
        visible = a.select("visible")
        if names is not None:
            known = {c.name for c in visible}
            unknown = [n for n in names if n not in known]
            if unknown:
                raise KitError(t("grading.kit_unknown_check", name=repr(unknown[0]), assignment=a.id,
                                 known=", ".join(sorted(known))))
            visible = [c for c in visible if c.name in names]
        t0 = time.monotonic()
        meta = {"assignment": a.id, "version": a.version, "student": PUBLIC_STUDENT, "notes": [],
                "static_findings": [], "where": "notebook", "lang": lang}
        parts = run_checks(a, _NamespaceSubmission(filename), visible, PUBLIC_STUDENT, None, "process", meta,
                           session_factory=lambda source, config, filename: InProcessSession(namespace, config,
                                                                                            filename))
        results = build_results(a, parts, meta, time.monotonic() - t0)
    for row in results["tests"]:
        _VERDICTS[row["name"]] = row["status"]
    return results


def feedback_text(results: dict, only_failed: bool = True) -> str:
    """The rows of ``results`` as ``convgrade check`` prints them (FAIL/PASS, score, feedback), in
    the results' language (``convgrade.lang``)."""
    lang = results_lang(results)
    lines = []
    if results["convgrade"].get("load_error"):
        lines.append(results["convgrade"]["load_error"])
    for row in results["tests"]:
        ok = row["status"] == "passed"
        if ok and only_failed:
            continue
        verdict = t("grading.kit_pass" if ok else "grading.kit_fail", lang=lang)
        lines.append(f"{verdict} {row['name']}  ({row['score']:g}/{row['max_score']:g})")
        lines += [f"     {line}" for line in row["output"].splitlines()]
    return "\n".join(lines)


def check_in_notebook(env: dict, name: str, here: str | Path = ".", *, assignment: str | None = None,
                      lang: str | None = None) -> None:
    """Run the visible check ``name`` on the notebook's globals ``env``; raise AssertionError with
    the grader's feedback (diagnoses included) unless every row of it passes.

    ``here``: the release folder or a path inside it (default: the working directory, which in
    Jupyter is the notebook's folder). ``assignment``: when given, the folder's assignment id must
    be this one (the released tests pass it, so a notebook moved into another release says so).
    ``lang``: the language of the feedback (default: :func:`kit_lang`).
    """
    try:
        a = load(find_release(here))
    except AssignmentError as exc:
        raise KitError(str(exc)) from None
    lang = kit_lang(a, lang)
    if assignment is not None and a.id != assignment:
        raise KitError(t("grading.kit_wrong_folder", here=repr(a.id), wanted=repr(assignment), lang=lang))
    results = run_public_checks(env, a, [name], lang=lang)
    if any(row["status"] != "passed" for row in results["tests"]):
        raise AssertionError(feedback_text(results) + "\n" + t("grading.kit_run_all", lang=lang))


def verdicts() -> dict[str, str]:
    """{row name: "passed"/"failed"} of every public check run in this process so far."""
    return dict(_VERDICTS)
