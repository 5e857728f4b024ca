"""Prove an assignment's checks right and strong before students see it.

:func:`validate` proves, for an assignment:

1. the master solution scores full marks, graded on the real path (``grade_submission``, sandbox
   included) under every validation student id, and its hidden checks pass for
   :data:`MASTER_SAMPLES` more sampled ids (a check that fails an honest solution for some seeds
   is unfair);
2. every mutant (``mutants.toml``) loses points and fails a check its targets name (or triggers
   the diagnosis they name) — for *every* one of ``samples`` sampled student ids, since each
   student gets other hidden inputs; the share caught (the catch rate) is printed, and a mutant
   caught for fewer than 100 % fails unless it declares ``min_catch_rate`` with a ``reason``.
   A mutant whose edit does not apply, or that only breaks the import, is a problem; every
   graded class or function needs at least :data:`MIN_MUTANTS` mutants aimed at its checks;
3. the starter students get (otter's solution stripping of the master) against the visible
   checks: it must import, and every visible check must fail cleanly.

Cheap by construction. Mutants are the instructor's own code, so they are judged in this
process (:class:`~grader.authoring.trusted.TrustedSession`: the worker's probe code, the same
plans, judges and diagnoses, no sandbox start per mutant and student); a mutant that edits its
imports is judged in a sandbox instead, as students are. A check whose target the edit cannot
reach (no edited top-level definition is read by it, transitively: :func:`affected_names`) keeps
the master's result and is not run again. Training checks (milestones) run only
for the mutants whose targets name them, in the sandbox, once, cheapest first, stopping at the
first that catches the mutant; a check with a short run in ``mutants.toml`` (validation only:
:mod:`grader.authoring.short_runs`) is judged on it, beside the master's control run of the same
short check. The session factories are
parameters (``trusted_session``, ``sandbox_session``), so a warm sandbox pool can replace either.

Hidden inputs come from a fixed validation secret, so they differ from any student's.
"""
from __future__ import annotations

import ast
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..assignment import Assignment, AssignmentError, load
from .mutants import Mutant, MutantError, hits_target, load_mutants
from .short_runs import cost_order, load_short_runs, shorten
from .notebook import MASTER, MasterError, parse, starter_source

VALIDATION_SECRET = b"convgrade-validation-secret"
STUDENTS = ("validate-1", "validate-2")
SAMPLES = 200           # sampled student ids per mutant (catch rate), at most
MIN_SAMPLES = 30        # at least, whatever the budget
SAMPLE_BUDGET_S = 1.5   # seconds of sampling per mutant beyond MIN_SAMPLES (torch models are slow)
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

    @property
    def ok(self) -> bool:
        return not self.problems


ANSWER_KINDS = ("value", "quiz")


def _grade(assignment, source: str, folder: Path, tag: str, student: str, isolation: str,
           visibility: str = "all") -> dict:
    from ..grade import grade_submission

    path = folder / f"{tag}.py"
    path.write_text(source, encoding="utf-8")
    return grade_submission(assignment, path, student=student, visibility=visibility,
                            secret=VALIDATION_SECRET, isolation=isolation)


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


class _Judge:
    """Plans, probes and judges checks of one assignment on a session, like ``grade.run_checks``."""

    PLAN_CACHE = 4000            # plans kept (each check's plan depends only on its seed)
    PLAN_CACHE_BYTES = 1 << 20   # plans with more input bytes than this are not kept

    def __init__(self, assignment: Assignment):
        from ..checks import kind_of

        self.a = assignment
        self.kind_of = kind_of
        self.internal_errors: list[str] = []
        self._plans: dict[tuple[str, str], object] = {}

    def plan(self, kind, spec, student: str):
        """The check's plan for ``student``: built once and shared by the master and every mutant
        (the plan is a function of the seed; the worker gets copies of its arrays)."""
        from ..seeds import check_seed

        key = (spec.name, "public" if spec.visible else student)
        plan = self._plans.get(key)
        if plan is None:
            seed = check_seed(self.a.id, spec.name, student, spec.visible, VALIDATION_SECRET)
            plan = kind.plan(spec, np.random.default_rng(seed))
            if len(self._plans) < self.PLAN_CACHE and sum(a.nbytes for a in plan.arrays) <= self.PLAN_CACHE_BYTES:
                self._plans[key] = plan
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


def _sandbox_session(source: str, assignment: Assignment, specs, isolation: str = "auto"):
    from ..checks.milestone import needs_gpu
    from ..grade import sandbox_config
    from ..sandbox import WorkerSession

    return WorkerSession(source, sandbox_config(assignment, isolation, gpu=needs_gpu(specs)))


def _top_level(source: str) -> tuple[dict[str, list[tuple[str, set[str]]]], list[str]]:
    """Top-level statements by the names they define: ``{name: [(ast dump, global names it
    reads)]}``, plus the dumps of statements that define no name."""
    defs: dict[str, list[tuple[str, set[str]]]] = {}
    anonymous: list[str] = []
    for node in ast.parse(source).body:
        names: list[str] = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [(a.asname or a.name).split(".")[0] for a in node.names]
        dump = ast.dump(node)
        refs = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        for name in names:
            defs.setdefault(name, []).append((dump, refs))
        if not names:
            anonymous.append(dump)
    return defs, anonymous


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
               if [d for d, _ in m_defs.get(n, [])] != [d for d, _ in u_defs.get(n, [])]}
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
             master_checks: bool = True) -> ValidationReport:
    """Validate an assignment (see the module docstring); up to ``samples`` student ids per mutant
    (at least :data:`MIN_SAMPLES`, then as many as ``sample_budget_s`` allows; ``None``: all).

    ``trusted_session(source, assignment)`` and ``sandbox_session(source, assignment, specs)``
    make the sessions mutants are judged on (defaults: in process, and a fresh sandbox).

    ``only``: judge just these mutants (by name; the others are left out of the report) and
    ``master_checks=False``: skip grading the master and the starter — together they split one
    validation into parts that run separately (CI runs each mutant group on its own)."""
    from ..checks import kind_of
    from ..checks.milestone import TRAINING_KINDS

    t0 = time.monotonic()
    trusted_session = trusted_session or _trusted_session
    sandbox_session = sandbox_session or (lambda src, a, specs: _sandbox_session(src, a, specs, isolation))
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

    # sandbox jobs run in threads (the work is in subprocesses) while trusted work runs here
    jobs = [("master", s, source, s, "all") for s in students] if master_checks else []
    try:
        if master_checks:
            jobs.append(("starter", "starter", starter_source(master), "public", "visible"))
    except (AssertionError, ValueError) as exc:   # otter's stripping asserts on unbalanced markers
        report.problems.append(f"the starter cannot be produced: {exc}")

    rows: dict[str, MutantRow] = {}
    mutated: dict[str, str] = {}
    for m in mutants:
        row = rows[m.name] = MutantRow(m.name, m.description, min_catch_rate=m.min_catch_rate, reason=m.reason)
        try:
            mutated[m.name] = m.apply(source)
        except MutantError as exc:
            row.error = str(exc)

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

    with tempfile.TemporaryDirectory(prefix="convgrade-validate-") as tmp, \
            ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        folder = Path(tmp)

        def run(job):
            kind, key, src, student, vis = job
            tag = f"{kind}_{len(key)}_{abs(hash((key, student))) % 10**8}"
            return job, _grade(a, src, folder, tag, student, isolation, vis)

        graded = [pool.submit(run, job) for job in jobs]
        sandboxed: dict[str, list] = {}
        controls: dict[str, list] = {}    # student -> [(short check names, future of the master's run)]

        def control(student: str, names: set[str]):
            """The master's control run of these short checks (each once per student)."""
            names = names - {n for done, _ in controls.get(student, []) for n in done}
            if names:
                controls.setdefault(student, []).append(
                    (names, pool.submit(sandbox_mutant, None, source, student, [short[n] for n in sorted(names)])))
        affected: dict[str, set[str] | None] = {}
        for i, m in enumerate(mutants):
            if m.name not in mutated:
                continue
            ids = students if thorough else (students[i % len(students)],)
            rows[m.name].students = list(ids)
            in_sandbox = _edits_imports(m)
            affected[m.name] = affected_names(source, mutated[m.name])
            trained = [s for s in training if _matches(m.targets, part_names[s.name])
                       and _can_differ(s, affected[m.name])]
            names_only = [t for t in m.targets if not t.startswith("diagnosis:")]
            if not trained and not any(_matches(names_only, part_names[s.name]) for s in specs):
                # targets named by no row we know of (a kind whose judge adds rows): run every
                # training check the edit can reach rather than none
                trained = [s for s in training if _can_differ(s, affected[m.name])]
            trained = cost_order([short.get(s.name, s) for s in trained])
            mine = [s for s in plain if _can_differ(s, affected[m.name])]
            for student in ids:
                if in_sandbox:
                    sandboxed.setdefault(m.name, []).append(
                        (student, pool.submit(sandbox_mutant, m, mutated[m.name], student, mine + trained)))
                elif trained:
                    sandboxed.setdefault(m.name, []).append(
                        (student, pool.submit(sandbox_mutant, m, mutated[m.name], student, trained)))
                if trained and trained[0].name in short and not (in_sandbox and mine):
                    control(student, {trained[0].name})     # it runs first, whatever catches: start beside it
            rows[m.name].where = "sandbox" if in_sandbox else "trusted"

        # master on sampled ids, in process: every hidden check must pass for every student
        hidden = [s for s in plain if not s.visible]
        if master_samples and hidden and master_checks:
            with trusted_session(source, a) as session:
                started = session.start()
                if started.status == "ok":
                    timeouts: dict = {}
                    unfair: dict[str, list[str]] = {}
                    t_master = time.monotonic()
                    for k in range(int(master_samples)):
                        if sample_budget_s is not None and k >= MIN_MASTER_SAMPLES and \
                                time.monotonic() - t_master > MASTER_BUDGET_S:
                            break
                        report.master_samples = k + 1
                        sid = f"master-sample-{k:03d}"
                        for spec in hidden:
                            for r in judge.check(session, spec, sid, timeouts):
                                if r["status"] != "passed":
                                    unfair.setdefault(r["name"], []).append(sid)
                    for name, sids in unfair.items():
                        report.problems.append(f"master solution fails {name!r} for {len(sids)} of "
                                               f"{report.master_samples} sampled students (e.g. {sids[0]}): the check "
                                               f"is unfair for some seeds")

        # mutants: the full row under its id(s), then the catch rate over the sampled ids
        tests_by: dict[str, dict[str, list[dict]]] = {}
        for m in mutants:
            row = rows[m.name]
            if m.name not in mutated or row.where == "sandbox":
                continue
            mine = [s for s in plain if _can_differ(s, affected[m.name])]
            tests_by[m.name] = _trusted_mutant(a, judge, trusted_session, m, row, mutated[m.name], mine,
                                               part_names, sample_ids, sample_budget_s)

        results = [f.result() for f in graded]
        for name, futures in sandboxed.items():
            for student, f in futures:
                tests = f.result()
                if tests and "load_error" in tests[0]:
                    rows[name].error = f"breaks the import only ({tests[0]['load_error'][:120]})"
                    continue
                tests_by.setdefault(name, {}).setdefault(student, []).extend(tests)
        _controls(report, short, tests_by, control, controls)
        order = [n for s in specs for n in part_names[s.name]]
        for m in mutants:
            for student, tests in tests_by.get(m.name, {}).items():
                _merge(rows[m.name], m, tests, order)

    for (kind, key, _, student, _), res in results:
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
                    sample_ids: list[str], budget_s: float | None = None) -> dict[str, list[dict]]:
    """Judge a mutant in process: every non-training check under its validation id(s) (returned,
    per id), then its target checks for every sampled id, stopping per student at the first catch."""
    out: dict[str, list[dict]] = {}
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
        for k, sid in enumerate(sample_ids):
            if budget_s is not None and k >= MIN_SAMPLES and time.monotonic() - t0 > budget_s:
                break
            failed: list[dict] = []
            hit = False
            for spec in candidates:
                if spec.visible:   # the same public inputs for every student
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
    return out


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
