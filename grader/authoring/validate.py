"""Prove an assignment's checks right and strong before students see it.

:func:`validate` proves, for an assignment:

1. the master solution scores full marks, graded on the real path (``grade_submission``, sandbox
   included) under every validation student id (a training check that trains alike for every
   student, its seed fixed, trains on its full budget under one id and on its short run under the
   others: a second full run would train the same model; the full runs are spread over the ids so
   that the master's grades, which run side by side, take about as long), and its hidden checks pass for
   :data:`MASTER_SAMPLES` more sampled ids (a check that fails an honest solution for some seeds
   is unfair);
2. every mutant (``mutants.toml``) loses points and fails a check its targets name (or triggers
   the diagnosis they name) — for *every* one of ``samples`` sampled student ids, since each
   student gets other hidden inputs; the share caught (the catch rate) is printed, and a mutant
   caught for fewer than 100 % fails unless it declares ``min_catch_rate`` with a ``reason``.
   A mutant whose edit does not apply, or that only breaks the import, is a problem; every
   graded class or function needs at least :data:`MIN_MUTANTS` mutants aimed at its checks;
3. the starter students get (the master stripped as otter assign strips it) against the visible
   checks: it must import, and every visible check must fail cleanly.

Cheap by construction. Mutants are the instructor's own code, so they are judged in this
process (:class:`~grader.authoring.trusted.TrustedSession`: the worker's probe code, the same
plans, judges and diagnoses, no sandbox start per mutant and student); a mutant that edits its
imports is judged in a sandbox instead, as students are. A check whose target the edit cannot
reach (no edited top-level definition is read by it, transitively: :func:`affected_names`, which
compares statement texts, so any doubt re-runs) keeps the master's result and is not run again.
Training checks (milestones) run only for the mutants whose targets name them, in the sandbox,
once, cheapest first, stopping at the first that catches the mutant; a check with a short run in
``mutants.toml`` (validation only: :mod:`grader.authoring.short_runs`) is judged on it, beside
the master's control run of the same short check. Beyond that:

* the trusted work (each mutant, the master's sampled ids in chunks) is shared over one forked
  copy of this process per core (:class:`_Fanout`), each taking the next task when free;
* a hidden check whose plan is the same under every seed (:meth:`_Judge.seed_free`: a parameter
  count, a single answer) is judged once per mutant, not once per sampled student, and plans are
  built once and shared by the master and every mutant;
* a mutant with only training checks to run is judged in the sandbox alone (no in-process
  session that would judge nothing); one whose cheapest check is a short run runs under the
  validation id whose master grade ran that short run (unless ``thorough``), so that all of them
  share the master's rows there as their control;
* the catch-rate sampling of a mutant that names no diagnosis skips the diagnoses
  (:func:`grader.diagnose.verdicts_only`: scores and pass/fail are the same);
* the sandboxed work (the master and the starter graded, the sandboxed mutants) shares a warm
  pool sized to it (:class:`grader.sandbox.pool.WarmPool`, torch preloaded where allowed): each
  session still gets a fresh worker.

The session factories are parameters (``trusted_session``, ``sandbox_session``); the report's
``timings`` holds the seconds of each phase.

Hidden inputs come from a fixed validation secret, so they differ from any student's.
"""
from __future__ import annotations

import ast
import contextlib
import dataclasses
import functools
import hashlib
import importlib
import multiprocessing
import os
import sys
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..assignment import Assignment, AssignmentError, load
from ..checks.base import CheckSpec
from ..diagnose import verdicts_only
from .mutants import Mutant, MutantError, hits_target, load_mutants
from .short_runs import cost_key, cost_order, load_short_runs, shorten
from .notebook import MASTER, MasterError, parse, starter_source

VALIDATION_SECRET = b"convgrade-validation-secret"
STUDENTS = ("validate-1", "validate-2")
SAMPLES = 200           # sampled student ids per mutant (catch rate), at most
MIN_SAMPLES = 30        # at least, whatever the budget
SAMPLE_BUDGET_S = 1.0   # seconds of sampling per mutant beyond MIN_SAMPLES (torch models are slow)
MASTER_SAMPLES = 20     # sampled student ids the master must pass every hidden check for, at most
MIN_MASTER_SAMPLES = 5  # at least
MASTER_BUDGET_S = 15.0  # seconds for the ids beyond MIN_MASTER_SAMPLES
MIN_MUTANTS = 6
HANG_LIMIT = 2          # as grade.HANG_LIMIT: a target that timed out this often is not run again


@dataclass
class MutantRow:
    name: str
    description: str
    caught_by: list[str] = field(default_factory=list)
    points_lost: float = 0.0
    target_hit: bool = False
    error: str = ""
    students: list[str] = field(default_factory=list)
    sampled: int = 0                 # student ids its catch rate was measured over (0: not sampled)
    caught: int = 0                  # of which it was caught on target
    min_catch_rate: float = 1.0
    reason: str = ""
    where: str = "trusted"           # "trusted" (in process) or "sandbox"
    runs: int = 0                    # graded runs folded into caught_by / points_lost / target_hit

    @property
    def catch_rate(self) -> float | None:
        return self.caught / self.sampled if self.sampled else None

    @property
    def rate_ok(self) -> bool:
        rate = self.catch_rate
        return rate is None or rate >= self.min_catch_rate - 1e-12

    @property
    def ok(self) -> bool:
        return not self.error and self.points_lost > 1e-9 and self.target_hit and self.rate_ok


@dataclass
class ValidationReport:
    assignment: str
    max_score: float
    master_scores: dict[str, float] = field(default_factory=dict)
    rows: list[MutantRow] = field(default_factory=list)
    starter_passing: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    samples: int = 0
    master_samples: int = 0
    timings: dict[str, float] = field(default_factory=dict)   # seconds per phase (see validate)
    master_short: dict[str, list[str]] = field(default_factory=dict)   # id -> checks graded on their short run

    @property
    def ok(self) -> bool:
        return not self.problems


ANSWER_KINDS = ("value", "quiz")


def _grade(assignment, source: str, folder: Path, tag: str, student: str, isolation: str,
           visibility: str = "all", session_factory=None) -> dict:
    from ..grade import grade_submission

    path = folder / f"{tag}.py"
    path.write_text(source, encoding="utf-8")
    return grade_submission(assignment, path, student=student, visibility=visibility,
                            secret=VALIDATION_SECRET, isolation=isolation, session_factory=session_factory)


def _failed(results: dict) -> list[dict]:
    return [t for t in results["tests"] if t["score"] < t["max_score"] - 1e-9 or t["status"] != "passed"]


def _crash_text(results: dict) -> str:
    cg = results["convgrade"]
    if cg.get("load_error"):
        return cg["load_error"]
    if cg.get("internal_errors"):
        return "grader internal error: " + cg["internal_errors"][0].splitlines()[0]
    return ""


def coverage(assignment: Assignment, mutants: list[Mutant]) -> dict[str, int]:
    """Mutants aimed at each graded class or function (targets of checks other than the answer
    kinds ``value`` and ``quiz``, whose targets are single answers, not code)."""
    counts = {c.target.split(".")[0]: 0 for c in assignment.checks if c.kind not in ANSWER_KINDS and c.target}
    for m in mutants:
        subs = [t.lower() for t in m.targets if not t.startswith("diagnosis:")]
        hit = {c.target.split(".")[0] for c in assignment.checks
               if c.target and any(s in c.name.lower() for s in subs)}
        for t in hit & counts.keys():
            counts[t] += 1
    return counts


# ---- the driver: one check judged on one session (what grade.run_checks does per check) ---------

def _row(part) -> dict:
    """A Part as the results.json test row that :func:`hits_target` and the report read."""
    return {"name": part.name, "score": part.score, "max_score": part.max_score,
            "status": "passed" if part.passed else "failed", "output": part.output, "extra_data": part.extra}


def _fingerprint(obj):
    """A digest of a plan (steps, returns, input arrays, timeout and the trusted context), or
    None when it holds something this cannot compare (then nothing is assumed equal)."""
    h = hashlib.blake2b(digest_size=20)

    def feed(v, depth=0) -> bool:
        if depth > 40:
            return False
        if v is None or isinstance(v, (bool, int, float, str, bytes)):
            h.update(f"{type(v).__name__}:{v!r};".encode())
        elif isinstance(v, np.ndarray):
            if v.dtype.hasobject:
                return False
            h.update(f"nd:{v.dtype.str}:{v.shape};".encode())
            h.update(np.ascontiguousarray(v).tobytes())
        elif isinstance(v, np.generic):
            h.update(f"np:{v.dtype.str}:{v.item()!r};".encode())
        elif isinstance(v, (list, tuple)):
            h.update(f"{type(v).__name__}[{len(v)}".encode())
            if not all(feed(x, depth + 1) for x in v):
                return False
            h.update(b"]")
        elif isinstance(v, dict):
            h.update(f"dict[{len(v)}".encode())
            for k in v:
                if not (feed(k, depth + 1) and feed(v[k], depth + 1)):
                    return False
            h.update(b"]")
        elif isinstance(v, CheckSpec):   # the same spec object in both plans; its name is its identity
            h.update(f"spec:{v.name};".encode())
        elif dataclasses.is_dataclass(v) and not isinstance(v, type):
            h.update(f"dc:{type(v).__module__}.{type(v).__qualname__}(".encode())
            for f in dataclasses.fields(v):
                h.update(f.name.encode())
                if not feed(getattr(v, f.name), depth + 1):
                    return False
            h.update(b")")
        else:
            return False
        return True

    return h.hexdigest() if feed(obj) else None


class _Judge:
    """Plans, probes and judges checks of one assignment on a session, like ``grade.run_checks``."""

    PLAN_CACHE = 20_000          # plans kept (each check's plan depends only on its seed)
    PLAN_CACHE_BYTES = 1 << 20   # plans with more input bytes than this are not kept
    PLAN_CACHE_TOTAL = 256 << 20  # input bytes of all kept plans

    def __init__(self, assignment: Assignment):
        from ..checks import kind_of

        self.a = assignment
        self.kind_of = kind_of
        self.internal_errors: list[str] = []
        self._plans: dict[tuple[str, str], object] = {}
        self._plan_bytes = 0
        self._seed_free: dict[str, bool] = {}

    def seed_free(self, spec) -> bool:
        """Whether every student gets the same plan for ``spec``: visible checks (one public
        seed), and hidden checks whose plan comes out identical, context included, under two
        different seeds (a model's parameter count, say). Such a check's verdict on a mutant is
        the same for every student, so it is judged once, not once per sampled id. Conservative:
        a plan holding anything :func:`_fingerprint` cannot compare counts as seed-dependent."""
        if spec.visible:
            return True
        free = self._seed_free.get(spec.name)
        if free is None:
            free = False
            try:
                kind = self.kind_of(spec)
                a, b = (kind.plan(spec, np.random.default_rng(self._seed(spec, sid)))
                        for sid in ("seed-probe-a", "seed-probe-b"))
                fa, fb = _fingerprint(a), _fingerprint(b)
                free = fa is not None and fa == fb
            except Exception:   # a plan that cannot be built is reported by check()
                free = False
            self._seed_free[spec.name] = free
        return free

    def _seed(self, spec, student: str) -> int:
        from ..seeds import check_seed

        return check_seed(self.a.id, spec.name, student, spec.visible, VALIDATION_SECRET)

    def key(self, spec, student: str) -> tuple[str, str]:
        """The plan's identity: one per student, or one for all when the check is seed-free."""
        if spec.visible:
            return spec.name, "public"
        return (spec.name, "*") if self.seed_free(spec) else (spec.name, student)

    def plan(self, kind, spec, student: str):
        """The check's plan for ``student``: built once and shared by the master and every mutant
        (the plan is a function of the seed; the worker gets copies of its arrays)."""
        key = self.key(spec, student)
        plan = self._plans.get(key)
        if plan is None:
            plan = kind.plan(spec, np.random.default_rng(self._seed(spec, student)))
            size = sum(a.nbytes for a in plan.arrays)
            if len(self._plans) < self.PLAN_CACHE and size <= self.PLAN_CACHE_BYTES and \
                    self._plan_bytes + size <= self.PLAN_CACHE_TOTAL:
                self._plans[key] = plan
                self._plan_bytes += size
        return plan

    def check(self, session, spec, student: str, timeouts: dict) -> list[dict]:
        from ..grade import _failed_parts

        if timeouts.get(spec.target, 0) >= HANG_LIMIT:
            return [dict(_row(p), check=spec.name) for p in _failed_parts(spec, "not run: its target hung before")]
        kind = self.kind_of(spec)
        result = None
        try:
            plan = self.plan(kind, spec, student)
            result = session.probe(plan.steps, plan.returns, plan.arrays, timeout=plan.timeout)
            parts = kind.judge(spec, plan, result)
        except Exception:
            self.internal_errors.append(f"{spec.name} (student {student}): {traceback.format_exc(limit=5)}")
            parts = _failed_parts(spec, "internal error")
        if result is not None and result.status == "timeout":
            timeouts[spec.target] = timeouts.get(spec.target, 0) + 1
        rows = [_row(p) for p in parts]
        for r in rows:
            r["check"] = spec.name
        return rows


def _trusted_session(source: str, assignment: Assignment):
    from ..grade import sandbox_config
    from .trusted import TrustedSession

    limits = assignment.limits
    return TrustedSession(source, probe_timeout_s=float(limits.get("probe_timeout_s", 30.0)),
                          forbidden=sandbox_config(assignment).forbidden)


def _sandbox_session(source: str, assignment: Assignment, specs, isolation: str = "auto", factory=None):
    """A sandbox session for a mutant judged on ``specs``: from ``factory`` (a warm pool's
    ``session``; it starts cold when the configuration is not the pool's) or a cold one."""
    from ..checks.milestone import needs_gpu
    from ..grade import sandbox_config
    from ..sandbox import WorkerSession

    config = sandbox_config(assignment, isolation, gpu=needs_gpu(specs))
    if factory is not None:
        return factory(source, "submission.py", config=config)
    return WorkerSession(source, config)


def _warm_pool(assignment: Assignment, isolation: str, workers: int, sessions: int):
    """A warm pool for ``sessions`` sandbox sessions of ``assignment`` (at most ``workers``
    waiting, never more started than sessions), or None when none is needed or it cannot start
    (the sessions then start cold and report why)."""
    if sessions <= 0:
        return None
    try:
        from ..checks.milestone import needs_gpu
        from ..grade import sandbox_config
        from ..sandbox.pool import WarmPool

        config = sandbox_config(assignment, isolation, gpu=needs_gpu(assignment.select("all")))
        return WarmPool(config, size=max(1, min(int(workers), sessions)), total=sessions)
    except Exception:
        return None


def _statement_text(lines: list[str], node: ast.stmt) -> str:
    """The whole source lines a top-level statement spans (decorators included)."""
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", ())])
    return "\n".join(lines[first - 1:node.end_lineno])


_REFS: dict[str, frozenset[str]] = {}   # statement text -> the names it reads (the same for every mutant)


@functools.lru_cache(maxsize=64)
def _top_level(source: str) -> tuple[dict[str, tuple[tuple[str, frozenset[str]], ...]], tuple[str, ...]]:
    """Top-level statements by the names they define: ``{name: ((statement text, global names it
    reads), ...)}``, plus the texts of statements that define no name. Memoized: every mutant is
    compared with the same master. Statements are compared by their source text, which is
    conservative (an edit that leaves the syntax tree alone, a comment say, still counts)."""
    defs: dict[str, list[tuple[str, frozenset[str]]]] = {}
    anonymous: list[str] = []
    lines = source.splitlines()
    for node in ast.parse(source).body:
        names: list[str] = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [(a.asname or a.name).split(".")[0] for a in node.names]
        text = _statement_text(lines, node)
        if not names:
            anonymous.append(text)
            continue
        refs = _REFS.get(text)
        if refs is None:
            refs = frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name))
            if len(_REFS) < 20_000:
                _REFS[text] = refs
        for name in names:
            defs.setdefault(name, []).append((text, refs))
    return {n: tuple(v) for n, v in defs.items()}, tuple(anonymous)


def affected_names(master: str, mutant: str) -> set[str] | None:
    """Top-level names whose behaviour a mutant can change: the definitions it edits and every
    definition that reads one of them, transitively. ``None``: anything may change (a statement
    that defines no name was edited, or the source does not parse). Instructor code has no hidden
    global state, so a check whose target is not affected gives the master's result."""
    try:
        (m_defs, m_anon), (u_defs, u_anon) = _top_level(master), _top_level(mutant)
    except SyntaxError:
        return None
    if m_anon != u_anon:
        return None
    changed = {n for n in m_defs.keys() | u_defs.keys()
               if [d for d, _ in m_defs.get(n, ())] != [d for d, _ in u_defs.get(n, ())]}
    reads = {n: set().union(*(r for _, r in entries)) for n, entries in u_defs.items()}
    affected, grew = set(changed), True
    while grew:
        grew = False
        for n, r in reads.items():
            if n not in affected and r & affected:
                affected.add(n)
                grew = True
    return affected


def _spec_names(spec) -> set[str]:
    """Names of the student's module a check may use: its target and identifiers in its params."""
    key = id(spec)
    hit = _SPEC_NAMES.get(key)
    if hit is not None and hit[0] is spec:
        return hit[1]
    out = _spec_names_of(spec)
    if len(_SPEC_NAMES) > 10_000:
        _SPEC_NAMES.clear()
    _SPEC_NAMES[key] = (spec, out)
    return out


_SPEC_NAMES: dict[int, tuple] = {}


def _spec_names_of(spec) -> set[str]:
    out = {spec.target.split(".")[0]} if spec.target else set()

    def walk(v):
        if isinstance(v, str) and v.replace(".", "").replace("_", "").isalnum():
            out.add(v.split(".")[0])
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
    walk(spec.params)
    return out


def _can_differ(spec, affected: set[str] | None) -> bool:
    return affected is None or not spec.target or bool(_spec_names(spec) & affected)


def _matches(targets: list[str], names: list[str]) -> bool:
    subs = [t.lower() for t in targets if not t.startswith("diagnosis:")]
    return any(s in n.lower() for s in subs for n in names)


def _edits_imports(m: Mutant) -> bool:
    """Whether a mutant's edit adds or changes an import (the sandbox's import policy matters)."""
    return any("import " in new and new.count("import ") != old.count("import ") or
               ("import " in new and "import " not in old) for old, new in m.replace)


def validate(assignment: str | Path | Assignment, *, isolation: str = "auto", workers: int = 2,
             students: tuple[str, ...] = STUDENTS, thorough: bool = False, samples: int = SAMPLES,
             master_samples: int = MASTER_SAMPLES, trusted_session=None, sandbox_session=None,
             sample_budget_s: float | None = SAMPLE_BUDGET_S, only: list[str] | None = None,
             master_checks: bool = True, pool=None) -> ValidationReport:
    """Validate an assignment (see the module docstring); up to ``samples`` student ids per mutant
    (at least :data:`MIN_SAMPLES`, then as many as ``sample_budget_s`` allows; ``None``: all).

    ``trusted_session(source, assignment)`` and ``sandbox_session(source, assignment, specs)``
    make the sessions mutants are judged on (defaults: in process, and a fresh sandbox).

    ``only``: judge just these mutants (by name; the others are left out of the report) and
    ``master_checks=False``: skip grading the master and the starter — together they split one
    validation into parts that run separately (CI runs each mutant group on its own).

    ``pool``: a :class:`grader.sandbox.pool.WarmPool` for the assignment's sandbox that the caller
    keeps (and closes), e.g. one for all the parts of a split validation, so that its workers'
    start-up (torch, for a5 and a6: seconds) is paid once; by default validate starts its own."""
    from ..checks import kind_of
    from ..checks.milestone import TRAINING_KINDS

    t0 = time.monotonic()
    trusted_session = trusted_session or _trusted_session
    own_sandbox = sandbox_session is None     # then the sandboxed work shares a warm pool (below)
    a = assignment if isinstance(assignment, Assignment) else load(assignment)
    report = ValidationReport(a.id, a.max_score)
    try:
        master = parse(a.path / MASTER)
        mutants = load_mutants(a.path)
    except (MasterError, MutantError) as exc:
        report.problems.append(str(exc))
        report.seconds = time.monotonic() - t0
        return report
    source = master.source
    if only is not None:
        unknown = set(only) - {m.name for m in mutants}
        if unknown:
            report.problems.append(f"no mutants named {sorted(unknown)}")
        mutants = [m for m in mutants if m.name in set(only)]
    if not mutants and only is None:
        report.problems.append(f"{a.id}: no mutants (mutants.toml): nothing proves the hidden checks are strong")
    for target, n in (coverage(a, load_mutants(a.path)).items() if master_checks else ()):
        if n < MIN_MUTANTS:
            report.problems.append(f"{target}: {n} mutant(s) aim at its checks; at least {MIN_MUTANTS} are required")
    for q in master.questions:
        if not q.solution_cells:
            report.problems.append(f"question {q.name!r} has no solution block: the starter would give the answer away")

    specs = a.select("all")
    part_names = {s.name: [s.name] + [n for n, _ in _parts(kind_of, s)] for s in specs}
    for s in specs:   # a milestone's comparison row ("<name>: beats <label>") is added by its judge
        cmp = s.get("compare")
        if isinstance(cmp, dict):
            part_names[s.name].append(f"{s.name}: beats {cmp.get('label', 'the comparison')}")
    training = [s for s in specs if s.kind in TRAINING_KINDS]
    plain = [s for s in specs if s.kind not in TRAINING_KINDS]
    short = _short_runs(a, training, report)     # {check name: its short run}: mutants are judged on it
    sample_ids = [f"sample-{i:04d}" for i in range(max(0, int(samples)))]
    judge = _Judge(a)

    # sandbox jobs run in threads (the work is in subprocesses) while trusted work runs here; the
    # starter is made in its job's thread. The master is graded on the real path under every id; a
    # training check that trains alike for every student (its seed fixed: only the held-out order
    # and draws differ) trains on its full budget under one id only (_full_ids) and on its short
    # run under the others, which still draw their own held-out order (unless thorough)
    alike = {} if thorough else {s.name: short[s.name] for s in training
                                 if s.name in short and kind_of(s).trains_alike(s)}
    if master_checks:
        full_at = _full_ids([s for s in training if s.name in alike], students)
        report.master_short = {sid: names for sid in students
                               if (names := sorted(n for n in alike if full_at[n] != sid))}
    jobs = [("master", sid, source, sid, "all",
             _with_short(a, {n: alike[n] for n in report.master_short.get(sid, ())}))
            for sid in students] if master_checks else []

    def short_home(name: str) -> str:
        """The id whose master grade ran check ``name`` on its short run (its rows are the
        control there), else the first."""
        return next((sid for sid in students if name in report.master_short.get(sid, ())), students[0])

    if master_checks:
        jobs.append(("starter", "starter", None, "public", "visible", a))

    rows: dict[str, MutantRow] = {}
    mutated: dict[str, str] = {}
    for m in mutants:
        row = rows[m.name] = MutantRow(m.name, m.description, min_catch_rate=m.min_catch_rate, reason=m.reason)
        try:
            mutated[m.name] = m.apply(source)
        except MutantError as exc:
            row.error = str(exc)

    # what each mutant needs: in the sandbox (its imports changed) or trusted; which checks it can reach
    sandbox_work: list[tuple[Mutant, str, list]] = []       # (mutant, student, checks)
    trusted_work: list[tuple[Mutant, list]] = []            # (mutant, non-training checks it can reach)
    for i, m in enumerate(mutants):
        if m.name not in mutated:
            continue
        in_sandbox = _edits_imports(m)
        affected = affected_names(source, mutated[m.name])
        trained = [s for s in training if _matches(m.targets, part_names[s.name]) and _can_differ(s, affected)]
        names_only = [t for t in m.targets if not t.startswith("diagnosis:")]
        if not trained and not any(_matches(names_only, part_names[s.name]) for s in specs):
            # targets named by no row we know of (a kind whose judge adds rows): run every
            # training check the edit can reach rather than none
            trained = [s for s in training if _can_differ(s, affected)]
        trained = cost_order([short.get(s.name, s) for s in trained])
        mine = [s for s in plain if _can_differ(s, affected)]
        ids = students if thorough else (students[i % len(students)],)
        if not thorough and not mine and trained and trained[0].name in short:
            # its cheapest check is a short run (which then always runs): all such mutants under
            # one id, so that they share the master's control runs (one per short check and id):
            # the id whose master grade ran that check on its short run, whose rows are then the control
            ids = (short_home(trained[0].name),)
        rows[m.name].students = list(ids)
        for student in ids:
            if in_sandbox:
                sandbox_work.append((m, student, mine + trained))
            elif trained:
                sandbox_work.append((m, student, trained))
        # in process: the checks it can reach; none, and its training checks run in the sandbox
        # (whose start reports an import that breaks): nothing is left to judge here
        trusted = not in_sandbox and (mine or not trained)
        rows[m.name].where = "trusted" if trusted else "sandbox"
        if trusted:
            trusted_work.append((m, mine))
    # the costliest sandbox jobs first (a job's cheapest training check always runs; it stops at
    # the first catch), so that the pool's threads finish together instead of one of them running
    # the last long check alone
    sandbox_work.sort(key=lambda w: next((cost_key(s) for s in w[2] if s.kind in TRAINING_KINDS), (-1, 0.0)),
                      reverse=True)
    # the sandboxed work (the master and the starter graded, the mutants that change imports or
    # train) shares a warm pool: workers started ahead, each used by one session and then killed.
    # Started first, so that its workers' imports (torch: seconds) run beside this process's
    # own below (plans, imports); it starts processes, no threads (the fork below needs none to exist).
    # Sessions at once: ``workers``, or one when the sandbox has only the master's grades and the
    # starter while the trusted work below keeps every core busy (a5: a second torch worker would
    # only take a core from it; the grades finish within it one after the other)
    sandbox_workers = 1 if trusted_work and not sandbox_work else max(1, int(workers))
    warm = None
    if own_sandbox:
        warm = pool if pool is not None else _warm_pool(a, isolation, sandbox_workers, len(jobs) + len(sandbox_work))

    hidden = [s for s in plain if not s.visible]
    for spec in plain:       # decided once, before the work is shared out
        judge.seed_free(spec)

    t_trusted = [0.0]     # when the trusted work began (set just before it starts)

    def master_task(chunk: int) -> dict:
        # master on sampled ids, in process: every hidden check must pass for every student (the
        # ids the mutants are sampled over, so their plans are shared). Chunks of
        # MIN_MASTER_SAMPLES ids, spread over the processes; the first always runs, the others
        # while MASTER_BUDGET_S lasts
        out = {"problems": [], "ids": [], "unfair": {}}
        if chunk and sample_budget_s is not None and time.monotonic() - t_trusted[0] > MASTER_BUDGET_S:
            return out
        with trusted_session(source, a) as session:
            if session.start().status != "ok":
                return out
            timeouts: dict = {}
            first = chunk * MIN_MASTER_SAMPLES
            for k in range(first, min(first + MIN_MASTER_SAMPLES, int(master_samples))):
                sid = f"sample-{k:04d}"       # the format of sample_ids
                out["ids"].append(sid)
                for spec in (hidden if k == 0 else [h for h in hidden if not judge.seed_free(h)]):
                    for r in judge.check(session, spec, sid, timeouts):
                        if r["status"] != "passed":
                            out["unfair"].setdefault(r["name"], []).append(sid)
        return out

    def trusted_task(task):
        """One unit of in-process work; runs here or in a forked copy of this process."""
        timings: dict[str, float] = {}
        t_task = time.monotonic()
        if isinstance(task, tuple) and task[0] == "master":
            out = master_task(task[1])
            timings["master_samples"] = time.monotonic() - t_task
        else:
            m, mine = task
            row = rows[m.name]
            out = (row, _trusted_mutant(a, judge, trusted_session, m, row, mutated[m.name], mine,
                                        part_names, sample_ids, sample_budget_s, timings))
        return out, timings, list(judge.internal_errors)

    n_chunks = -(-int(master_samples) // MIN_MASTER_SAMPLES) if master_samples and hidden and master_checks else 0
    tasks: list = [("master", k) for k in range(n_chunks)] + trusted_work
    fanout = _Fanout(tasks, trusted_task, procs=max(1, min(int(workers), os.cpu_count() or 1)))
    if tasks:
        from ..grade import worker_preload

        # what a worker preloads for these checks (torch._dynamo, which meta-device shape traces
        # import: seconds), imported once here, before the fork, not again in every copy
        for name in worker_preload(a, plain):
            with contextlib.suppress(ImportError):
                importlib.import_module(name)
    t_trusted[0] = time.monotonic()
    fanout.start()    # forked before any thread of ours exists

    factory = warm.session if warm is not None else None
    if own_sandbox:
        def sandbox_session(src, a_, which):
            return _sandbox_session(src, a_, which, isolation, factory)

    def sandbox_mutant(m: Mutant | None, src: str, student: str, which) -> list[dict]:
        """``which`` judged on ``src``; a mutant's training checks stop at the first catch."""
        timeouts: dict = {}
        with sandbox_session(src, a, which) as session:
            started = session.start()
            if started.status != "ok":
                return [{"load_error": (started.error or {}).get("message", started.status)}]
            rows: list[dict] = []
            for spec in which:
                if m is not None and spec.kind in TRAINING_KINDS and hits_target(m, _failed_rows(rows)):
                    break
                rows += judge.check(session, spec, student, timeouts)
            return rows

    report.timings["setup"] = time.monotonic() - t0
    with tempfile.TemporaryDirectory(prefix="convgrade-validate-") as tmp, \
            ThreadPoolExecutor(max_workers=sandbox_workers) as pool:
        folder = Path(tmp)

        def run(job):
            kind, key, src, student, vis, a_job = job
            if src is None:
                try:
                    src = starter_source(master)
                except ValueError as exc:   # unbalanced solution markers
                    return job, {"starter_error": f"the starter cannot be produced: {exc}"}
            tag = f"{kind}_{len(key)}_{abs(hash((key, student))) % 10**8}"
            return job, _grade(a_job, src, folder, tag, student, isolation, vis, factory)

        graded = [pool.submit(run, job) for job in jobs]
        sandboxed: dict[str, list] = {}
        controls: dict[str, list] = {}    # student -> [(short check names, future of the master's run)]

        def control(student: str, names: set[str]):
            """The master's control run of these short checks (each once per student; none for
            those its grade under that id ran on their short runs: its rows there are the control)."""
            names = names - {n for done, _ in controls.get(student, []) for n in done}
            names -= set(report.master_short.get(student, ()))
            if names:
                controls.setdefault(student, []).append(
                    (names, pool.submit(sandbox_mutant, None, source, student, [short[n] for n in sorted(names)])))
        for m, student, which in sandbox_work:
            sandboxed.setdefault(m.name, []).append(
                (student, pool.submit(sandbox_mutant, m, mutated[m.name], student, which)))
            if which and which[0].name in short:
                control(student, {which[0].name})     # it runs first, whatever catches: start beside it

        # the trusted work: master on sampled ids, each mutant's rows and catch rate
        tests_by: dict[str, dict[str, list[dict]]] = {}
        internal: list[str] = []
        master_ids: list[str] = []
        unfair: dict[str, list[str]] = {}
        for task, (out, timings, errors) in zip(tasks, fanout.finish()):
            for k, v in timings.items():
                report.timings[k] = report.timings.get(k, 0.0) + v
            internal += [e for e in errors if e not in internal]
            if isinstance(task, tuple) and task[0] == "master":
                master_ids += out["ids"]
                for name, sids in out["unfair"].items():
                    unfair.setdefault(name, []).extend(sids)
            else:
                row, tests = out
                rows[row.name] = row
                tests_by[row.name] = tests
        judge.internal_errors[:] = internal
        report.master_samples = len(master_ids)
        for name, sids in unfair.items():
            report.problems.append(f"master solution fails {name!r} for {len(sids)} of {len(master_ids)} sampled "
                                   f"students (e.g. {sids[0]}): the check is unfair for some seeds")
        report.timings["trusted"] = fanout.seconds
        report.timings["procs"] = fanout.procs

        t_phase = time.monotonic()
        results = [f.result() for f in graded]
        for name, futures in sandboxed.items():
            for student, f in futures:
                tests = f.result()
                if tests and "load_error" in tests[0]:
                    rows[name].error = f"breaks the import only ({tests[0]['load_error'][:120]})"
                    continue
                tests_by.setdefault(name, {}).setdefault(student, []).extend(tests)
        _controls(report, short, tests_by, control, controls)
        report.timings["sandbox_wait"] = time.monotonic() - t_phase
        if warm is not None:
            report.timings["warm_sessions"] = warm.stats["warm"]
            if warm is not pool:
                warm.close()
        order = [n for s in specs for n in part_names[s.name]]
        for m in mutants:
            for student, tests in tests_by.get(m.name, {}).items():
                _merge(rows[m.name], m, tests, order)

    for (kind, key, _, student, _, _), res in results:
        if "starter_error" in res:
            report.problems.append(res["starter_error"])
            continue
        crash = _crash_text(res)
        if kind == "master":
            report.master_scores[student] = res["score"]
            if crash:
                report.problems.append(f"master solution ({student}): {crash}")
            for t in _failed(res):
                report.problems.append(f"master solution fails {t['name']!r} (student {student}): "
                                       f"{t['output'].splitlines()[0] if t['output'] else ''}")
        elif kind == "starter":
            if crash:
                report.problems.append(f"starter: visible checks crash: {crash}")
            report.starter_passing = [t["name"] for t in res["tests"] if t["status"] == "passed"]
            for name in report.starter_passing:
                report.problems.append(f"visible check {name!r} passes on the starter: it tests nothing the "
                                       f"student writes")
    if judge.internal_errors:
        report.problems.append("grader internal error while judging mutants: "
                               + judge.internal_errors[0].splitlines()[0])
    report.samples = len(sample_ids)
    for m in mutants:
        row = rows[m.name]
        report.rows.append(row)
        if row.error:
            report.problems.append(f"mutant {m.name!r}: {row.error}")
        elif row.points_lost <= 1e-9:
            report.problems.append(f"mutant {m.name!r} is not caught: no check loses points ({m.description})")
        elif not row.target_hit:
            report.problems.append(f"mutant {m.name!r} loses points but not on its targets {m.targets} "
                                   f"(failed: {', '.join(row.caught_by[:3])})")
        elif not row.rate_ok:
            report.problems.append(
                f"mutant {m.name!r} is caught on target for only {row.caught} of {row.sampled} sampled students "
                f"({_pct(row.catch_rate)}; required {_pct(row.min_catch_rate)}): a hidden case catches it only by "
                f"chance — make the case deterministic in what matters, or declare min_catch_rate with a reason")
    report.seconds = time.monotonic() - t0
    return report


def _full_ids(specs: list, students) -> dict[str, str]:
    """``{check name: student id}``: under which validation id the master trains each of these
    checks (training checks that train alike for every student) on its full budget — under the
    others it runs their short runs. Spread over the ids so that the master's grades cost about the
    same (the costliest check first, to the id with the least full-budget work so far; budgets are
    the cost): the grades run side by side, so the longest of them bounds validate."""
    work = {sid: 0.0 for sid in students}      # full-budget seconds given to each id so far
    out = {}
    for spec in sorted(specs, key=cost_key, reverse=True):
        sid = min(students, key=lambda k: work[k])      # ties: the earlier id
        out[spec.name] = sid
        work[sid] += cost_key(spec)[1]
    return out


def _with_short(a: Assignment, short: dict) -> Assignment:
    """``a`` with the checks named in ``short`` replaced by these short runs (``a`` itself when none)."""
    return dataclasses.replace(a, checks=[short.get(c.name, c) for c in a.checks]) if short else a


def _failed_rows(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r.get("status") != "passed" or r.get("score", 0) < r.get("max_score", 0) - 1e-9]


def _short_runs(a: Assignment, training, report: ValidationReport) -> dict:
    """The training checks' short runs (``mutants.toml`` ``[validation]``), problems reported."""
    try:
        tables = load_short_runs(a.path)
    except (ValueError, OSError) as exc:
        report.problems.append(str(exc))
        return {}
    by_name = {s.name: s for s in training}
    out = {}
    for name, table in tables.items():
        if name not in by_name:
            report.problems.append(f"mutants.toml [validation.{name!r}]: no training check of that name")
            continue
        try:
            out[name] = shorten(by_name[name], table)
        except Exception as exc:   # CheckDefinitionError, or a malformed value the kind rejects
            report.problems.append(f"mutants.toml [validation.{name!r}]: {exc}")
    return out


def _controls(report: ValidationReport, short: dict, tests_by: dict, control, controls: dict) -> None:
    """The master judged on every short run a mutant was judged on, under the same student ids
    (once per check and id; ``control(student, names)`` starts the runs not started yet, into
    ``controls``): a short run the master fails proves no catch."""
    for per_student in tests_by.values():
        for student, tests in per_student.items():
            control(student, {t["check"] for t in tests if t.get("check") in short})
    for student, f in [(student, f) for student, runs in controls.items() for _, f in runs]:
        rows = f.result()
        if rows and "load_error" in rows[0]:
            report.problems.append(f"master solution: the short runs could not start: {rows[0]['load_error'][:120]}")
            continue
        for r in _failed_rows(rows):
            said = " ".join(str(r.get("output", "")).split())[:240]
            report.problems.append(f"short run of {r['check']!r} (mutants.toml [validation]) fails the master "
                                   f"solution (student {student}), so it proves no catch; make it longer: {said}")


class _Fanout:
    """Run ``fn`` over ``tasks`` in this process and ``procs - 1`` forked copies of it, each
    taking the next task as it is free (results come back in task order).

    The copies inherit everything built so far (the assignment, the judge's plans, the mutated
    sources) and send back only their results; a task whose copy died is run here. Trusted work
    only: the copies run instructor code exactly as this process would. ``procs=1``, or no
    ``fork``: everything runs here, in order."""

    def __init__(self, tasks: list, fn, procs: int = 1):
        self.tasks, self.fn = list(tasks), fn
        self.procs = max(1, min(int(procs), len(self.tasks)))
        self.seconds = 0.0
        self._children: list = []
        self._counter = None

    def start(self) -> None:
        self._t0 = time.monotonic()
        if self.procs <= 1 or not hasattr(os, "fork"):
            self.procs = 1
            return
        ctx = multiprocessing.get_context("fork")
        for stream in (sys.stdout, sys.stderr):   # nothing buffered here is written twice by a copy
            try:
                stream.flush()
            except Exception:
                pass
        self._counter = ctx.Value("i", 0)
        for _ in range(self.procs - 1):
            recv, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=self._child, args=(send,), daemon=True)
            proc.start()
            send.close()
            self._children.append((proc, recv))

    def _take(self) -> int:
        if self._counter is None:
            self._next = getattr(self, "_next", -1) + 1
            return self._next
        with self._counter.get_lock():
            k = self._counter.value
            self._counter.value = k + 1
        return k

    def _loop(self) -> dict:
        done = {}
        while (k := self._take()) < len(self.tasks):
            done[k] = self.fn(self.tasks[k])
        return done

    def _child(self, send) -> None:
        try:   # torch: one intra-op thread per copy (the copies are the parallelism)
            if "torch" in sys.modules:
                sys.modules["torch"].set_num_threads(1)
        except Exception:
            pass
        send.send(self._loop())
        send.close()

    def finish(self) -> list:
        done = self._loop()
        for proc, recv in self._children:
            try:
                done.update(recv.recv())
            except (EOFError, OSError):
                pass        # the copy died: its tasks are run below
            proc.join()
        for k in range(len(self.tasks)):
            if k not in done:
                done[k] = self.fn(self.tasks[k])
        self.seconds = time.monotonic() - self._t0
        return [done[k] for k in range(len(self.tasks))]


def by_name(mutants: list[Mutant]) -> dict[str, Mutant]:
    return {m.name: m for m in mutants}


def _parts(kind_of, spec) -> list[tuple[str, float]]:
    try:
        return kind_of(spec).parts(spec)
    except Exception:
        return [(spec.name, spec.points)]


def _merge(row: MutantRow, m: Mutant, tests: list[dict], order: list[str]) -> None:
    """Fold one graded run of a mutant (test rows, one student id) into its row: caught by,
    points lost and target hit must hold under every id it ran with."""
    failed = [t for t in tests if t["status"] != "passed" or t["score"] < t["max_score"] - 1e-9]
    lost = round(sum(t["max_score"] - t["score"] for t in tests), 6)
    hit = hits_target(m, failed)
    row.points_lost = lost if not row.runs else min(row.points_lost, lost)
    row.target_hit = hit if not row.runs else (row.target_hit and hit)
    row.runs += 1
    rank = {n: i for i, n in enumerate(order)}
    row.caught_by = sorted(set(row.caught_by) | {t["name"] for t in failed}, key=lambda n: rank.get(n, len(rank)))


def _trusted_mutant(a, judge: _Judge, factory, m: Mutant, row: MutantRow, src: str, plain, part_names,
                    sample_ids: list[str], budget_s: float | None = None,
                    timings: dict[str, float] | None = None) -> dict[str, list[dict]]:
    """Judge a mutant in process: every non-training check under its validation id(s) (returned,
    per id), then its target checks for every sampled id, stopping per student at the first catch.
    ``timings`` gets the seconds of each part added (``mutant_rows``, ``sampling``)."""
    out: dict[str, list[dict]] = {}
    timings = {} if timings is None else timings
    t_rows = time.monotonic()
    try:
        return _judge_mutant(a, judge, factory, m, row, src, plain, part_names, sample_ids, budget_s, timings, out)
    finally:
        total = time.monotonic() - t_rows
        timings["mutant_rows"] = timings.get("mutant_rows", 0.0) + total - timings.pop("_sampling", 0.0)


def _judge_mutant(a, judge, factory, m, row, src, plain, part_names, sample_ids, budget_s, timings, out):
    with factory(src, a) as session:
        started = session.start()
        if started.status != "ok":
            err = started.error or {}
            row.error = f"breaks the import only ({err.get('type', '')}: {str(err.get('message', ''))[:120]})"
            return out
        for student in row.students:
            timeouts: dict = {}
            out[student] = [r for spec in plain for r in judge.check(session, spec, student, timeouts)]
        if not sample_ids:
            return out
        caught_first = {t["check"] for tests in out.values() for t in tests if t["status"] != "passed"}
        names = [t for t in m.targets if not t.startswith("diagnosis:")]
        codes = [t for t in m.targets if t.startswith("diagnosis:")]
        candidates = [s for s in plain if (names and _matches(names, part_names[s.name]))
                      or (codes and s.name in caught_first)]
        candidates.sort(key=lambda s: (s.name not in caught_first, plain.index(s)))
        if not candidates:
            return out
        visible_cache: dict[str, list[dict]] = {}
        timeouts = {}
        t0 = time.monotonic()
        quiet = contextlib.nullcontext() if codes else verdicts_only()   # named diagnoses need explaining
        try:
            with quiet:
                _sample(judge, session, m, row, candidates, sample_ids, budget_s, visible_cache, timeouts, t0)
        finally:
            spent = time.monotonic() - t0
            timings["sampling"] = timings.get("sampling", 0.0) + spent
            timings["_sampling"] = spent
    return out


def _sample(judge, session, m, row, candidates, sample_ids, budget_s, visible_cache, timeouts, t0) -> None:
    """The catch rate: ``candidates`` (target checks, the one that caught first first) under each
    sampled id until one hits the target; a seed-free check's rows are judged once."""
    for k, sid in enumerate(sample_ids):
        if budget_s is not None and k >= MIN_SAMPLES and time.monotonic() - t0 > budget_s:
            break
        failed: list[dict] = []
        hit = False
        for spec in candidates:
            if judge.seed_free(spec):   # the same inputs for every student: judged once
                if spec.name not in visible_cache:
                    visible_cache[spec.name] = judge.check(session, spec, sid, timeouts)
                rows_ = visible_cache[spec.name]
            else:
                rows_ = judge.check(session, spec, sid, timeouts)
            failed += [r for r in rows_ if r["status"] != "passed"]
            if failed and hits_target(m, failed):
                hit = True
                break
        row.sampled += 1
        row.caught += hit
        if sum(timeouts.values()) > HANG_LIMIT * 2:   # a hanging mutant: the rate so far is enough
            break


def format_table(report: ValidationReport, style=None) -> str:
    """The mutation table: mutant | description | caught by | points lost | catch rate over the
    sampled students (``—``: not sampled, e.g. training checks; ``≥90%``: its declared bound) |
    target hit."""
    style = style or (lambda text, **_: text)
    header = ("mutant", "description", "caught by", "lost", "students", "target")
    body = []
    for r in report.rows:
        caught = ", ".join(r.caught_by[:3]) + (f" (+{len(r.caught_by) - 3})" if len(r.caught_by) > 3 else "")
        if r.error:
            caught = "ERROR: " + r.error
        rate = "—" if r.catch_rate is None else f"{_pct(r.catch_rate)} of {r.sampled}"
        if r.min_catch_rate < 1 and r.catch_rate is not None:
            rate += f" (≥{r.min_catch_rate:.0%})"
        body.append((r.name, r.description, caught or "—", f"{r.points_lost:g}", rate, "✓" if r.ok else "✗"))
    widths = [min(max([len(h)] + [len(row[i]) for row in body]), cap)
              for i, (h, cap) in enumerate(zip(header, (28, 48, 60, 6, 24, 6)))]

    def cut(text, w):
        return text if len(text) <= w else text[: w - 1] + "…"

    lines = ["  ".join(cut(h, w).ljust(w) for h, w in zip(header, widths))]
    lines.append("  ".join("-" * w for w in widths))
    for row in body:
        mark = row[-1]
        cells = [cut(c, w).ljust(w) for c, w in zip(row[:-1], widths[:-1])]
        colored = style(mark, fg="green" if mark == "✓" else "red")
        lines.append("  ".join(cells) + "  " + colored)
    return "\n".join(lines)


def _pct(rate: float) -> str:
    """100% only when every sampled student caught it (199/200 is 99.5%, never "100%")."""
    return "100%" if rate >= 1 else f"{min(rate * 100, 99.9):.1f}%"


def rate_summary(report: ValidationReport) -> str:
    """One line: how many mutants were sampled and the lowest catch rate among them."""
    sampled = [r for r in report.rows if r.catch_rate is not None]
    if not sampled:
        return "catch rate: no mutant sampled"
    full = sum(r.caught == r.sampled for r in sampled)
    low = min(sampled, key=lambda r: r.catch_rate)
    n = sorted(r.sampled for r in sampled)
    return (f"catch rate over {n[0]}–{n[-1]} sampled students per mutant: {full}/{len(sampled)} mutants caught for "
            f"every sampled student; lowest {_pct(low.catch_rate)} ({low.name})")


__all__ = ["validate", "format_table", "rate_summary", "coverage", "ValidationReport", "MutantRow",
           "VALIDATION_SECRET", "STUDENTS", "SAMPLES", "AssignmentError"]
