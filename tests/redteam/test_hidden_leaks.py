"""Red team, class "hidden cases leak through feedback": for every registered check kind, on every
bundled assignment, a wrong submission's hidden rows never show the case, the inputs or the
expected values.

Each hidden check is planned with the seed grading would use; the plan's trusted context and its
input arrays give the secrets (case descriptions, call texts, expected and input numbers). Wrong
submissions (the starter and every mutant) answer the plan — in this process, through the
sandbox worker's own probe code, so the values are real and the test is fast — plus a worker
that failed and one that returned zeros; each answer is judged and built into results exactly as
``grade_submission`` does, and every student-visible field of the hidden rows (output,
extra_data) is searched for the secrets.
"""
from __future__ import annotations

import json
import math
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from grader.assignment import available, load  # noqa: E402
from grader.authoring.notebook import master_source, parse, starter_source  # noqa: E402
from grader.checks import REGISTRY, kind_of  # noqa: E402
from grader.checks.milestone import TRAINING_KINDS  # noqa: E402
from grader.results import build_results, hidden_inputs  # noqa: E402
from grader.sandbox.config import ProbeResult  # noqa: E402
from grader.sandbox.protocol import decode_npy, decode_value, encode_npy  # noqa: E402
from grader.seeds import check_seed  # noqa: E402

SECRET = b"leak-test-secret"
STUDENT = "mallory"
ASSIGNMENTS = [a for a in available() if (Path(load(a, validate=False).path) / "checks.toml").is_file()]


# ----------------------------------------------------------------------------- secrets of a plan
def _numbers(value, out: list, depth=0):
    """Every number inside a plan's context / arrays (arrays flattened, at most 2000 each)."""
    if depth > 6:
        return
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, (int, float, np.integer, np.floating)):
        out.append(float(value))
    elif isinstance(value, np.ndarray):
        if value.dtype.kind in "biuf":
            out.extend(float(v) for v in value.reshape(-1)[:2000])
    elif isinstance(value, dict):
        for v in value.values():
            _numbers(v, out, depth + 1)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _numbers(v, out, depth + 1)
    elif hasattr(value, "__dict__"):
        _numbers(vars(value), out, depth + 1)


def _texts(spec, plan) -> list[str]:
    """Case descriptions and call texts a hidden row must not contain."""
    from grader.checks.cases import call_repr
    from grader.checks.functions import _fmt, call_text

    out = []
    ctx = plan.context
    case = ctx.get("case")
    if case is not None and hasattr(case, "describe"):
        out.append(case.describe().strip("`"))
    try:
        out.append(call_repr(spec))
    except Exception:
        pass
    for c in ctx.get("cases", []) if isinstance(ctx.get("cases"), list) else []:
        if isinstance(c, tuple) and len(c) == 3:
            out.append(call_text(spec.target, c[0], c[1]))
            out.append(call_text("", c[0], c[1]))
            out += [f"expected {_fmt(c[2])}", f"= {_fmt(c[2])}"]
    if "expected" in ctx and not isinstance(ctx["expected"], (dict, np.ndarray)):
        out += [f"expected {_fmt(ctx['expected'])}", f"= {_fmt(ctx['expected'])}"]
    return [t for t in out if len(t) >= 6 or t.startswith(("expected", "= "))]


def _number_patterns(values: list[float]) -> list[re.Pattern]:
    """Distinctive numbers: non-integers written with at least 4 significant digits, in the
    formats feedback uses (integers are caught through the call texts and expected answers)."""
    pats = set()
    for v in values:
        if not math.isfinite(v):
            continue
        if float(v).is_integer():
            continue
        if abs(v) < 1e-3 or abs(v) >= 1e6:
            continue
        for fmt in ("{:.6g}", "{:.4g}", "{:.4f}", "{!r}"):
            s = fmt.format(v)
            digits = re.sub(r"[^0-9]", "", s).lstrip("0")
            if len(digits) >= 4:
                pats.add(s)
    return [re.compile(r"(?<![\d.])" + re.escape(p) + r"(?![\d])") for p in sorted(pats)]


def _visible_text(test: dict) -> str:
    return test.get("output", "") + "\n" + json.dumps(test.get("extra_data", {}), ensure_ascii=False)


# ----------------------------------------------------------------------------- in-process probes
def _worker_module():
    import importlib

    return importlib.import_module("grader.sandbox.worker")


class _Runner:
    """One wrong submission, loaded once; ``probe(plan)`` answers like a sandbox session."""

    def __init__(self, source: str, name: str):
        self.w = _worker_module()
        self.session = self.w.Session("submission.py", 10 ** 7, 64 << 20)
        self.ok = True
        self.module_name = f"_leak_{name}"
        try:
            self.session.load(source, self.module_name)
        except BaseException:   # noqa: BLE001 - a mutant that does not import is just an import error
            self.ok = False

    def probe(self, plan) -> ProbeResult:
        if not self.ok:
            return ProbeResult("error", error={"type": "ImportError", "message": "boom", "where": ""})
        arrays = [np.array(a, copy=True) for a in plan.arrays]
        reply, out = self.session.probe({"id": 1, "steps": plan.steps, "return": plan.returns}, arrays)
        frames = [decode_npy(encode_npy(a), 10 ** 8) for a in out]
        values = {str(k): v for k, v in decode_value(reply["values"], frames).items()}
        if reply["error"] is None:
            return ProbeResult("ok", values=values)
        return ProbeResult("error", values=values, error=reply["error"])

    def close(self):
        sys.modules.pop(self.module_name, None)


def _altered(result: ProbeResult, how: str) -> ProbeResult:
    """The master's answer made wrong: ``zeros`` (every number 0), ``off`` (every number moved:
    a wrong value of the right shape, which the diagnoses then try to explain) or ``short``
    (arrays one element short on the last axis: a wrong shape)."""
    def f(v):
        if isinstance(v, np.ndarray):
            if how == "short":
                return v[..., :-1] if v.ndim and v.shape[-1] > 1 else v.reshape(-1)[:0]
            return np.zeros_like(v) if how == "zeros" else v * 1.5 + 0.25
        if isinstance(v, dict):
            return {k: f(x) for k, x in v.items()}
        if isinstance(v, list):
            return [f(x) for x in v]
        if isinstance(v, bool):
            return not v
        if isinstance(v, int):
            return 0 if how == "zeros" else v + 1
        if isinstance(v, float):
            return 0.0 if how == "zeros" else v * 1.5 + 0.25
        return v
    return ProbeResult("ok", values={k: f(v) for k, v in result.values.items()})


def _sample(specs: list, per_kind: int = 2) -> list:
    """At most ``per_kind`` hidden checks of each kind (the first and the last): the feedback text
    is written per kind, so this covers every kind at a fraction of the cost."""
    by_kind: dict[str, list] = {}
    for s in specs:
        by_kind.setdefault(s.kind, []).append(s)
    out = []
    for group in by_kind.values():
        out += [group[0]] + ([group[-1]] if per_kind > 1 and len(group) > 1 else [])
    return out


def _judge_rows(a, spec, plan, result) -> list[dict]:
    parts = kind_of(spec).judge(spec, plan, result)
    meta = {"assignment": a.id, "version": a.version, "student": STUDENT, "notes": [], "static_findings": []}
    return build_results(a, [(spec, parts)], meta, 0.0)["tests"]


def _starter(a) -> str:
    return starter_source(parse(Path(a.path) / "master.ipynb"))


# ----------------------------------------------------------------------------- the test
def _as_hidden(spec):
    import dataclasses

    return dataclasses.replace(spec, visibility="hidden", params=dict(spec.params))


def _candidates(a, training: bool) -> list:
    """The hidden checks of ``a`` (training kinds or the others), plus, for every kind that the
    assignment uses only in visible checks, those checks relabelled hidden: an instructor may
    make any check hidden, and its feedback must then hide its case too."""
    pick = [s for s in a.checks if (s.kind in TRAINING_KINDS) == training]
    hidden_kinds = {s.kind for s in pick if not s.visible}
    return [s for s in pick if not s.visible] + [_as_hidden(s) for s in pick if s.visible and s.kind not in
                                                 hidden_kinds | PUBLIC_EXPECTATIONS]


# quiz rows come from exam papers (grader.exam), whose hidden answers are tested there
NOT_IN_ASSIGNMENTS = {"quiz"}
# kinds whose expected values are a published architecture's parameter counts and shapes, the
# same for every student and named in the check itself: no hidden input to leak
PUBLIC_EXPECTATIONS = {"model_params", "model_shapes"}


def test_every_registered_kind_is_covered():
    """Every registered kind is exercised by the tests below on some bundled assignment."""
    used = {s.kind for name in ASSIGNMENTS for s in load(name).checks}
    missing = set(REGISTRY) - used - NOT_IN_ASSIGNMENTS
    assert not missing, f"check kinds no bundled assignment uses, so no leak test covers: {sorted(missing)}"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_hidden_rows_never_show_case_inputs_or_expected_values(name):
    a = load(name)
    hidden = _sample(_candidates(a, training=False))
    if not hidden:
        pytest.skip(f"{name}: no hidden checks outside training milestones (covered by the milestone test)")
    if a.allow_torch:
        pytest.importorskip("torch")
    leaks = []
    tag = re.sub(r"[^A-Za-z0-9_]", "_", name)
    master, starter = _Runner(master_source(a), f"{tag}_master"), _Runner(_starter(a), f"{tag}_starter")
    try:
        for spec in hidden:
            seed = check_seed(a.id, spec.name, STUDENT, spec.visible, SECRET)
            plan = kind_of(spec).plan(spec, np.random.default_rng(seed))
            right = master.probe(plan)
            answers = [starter.probe(plan), _altered(right, "off"), _altered(right, "zeros"), _altered(right, "short"),
                       ProbeResult("error", values={}, error={"type": "ValueError", "message": "boom",
                                                              "where": "line 3"})]
            texts = _texts(spec, plan)
            nums: list[float] = []
            _numbers(plan.context, nums)
            _numbers(plan.arrays, nums)
            pats = _number_patterns(nums)
            for result in answers:
                for row in _judge_rows(a, spec, plan, result):
                    # a hidden check is a visible row (Gradescope shows it) judged on hidden inputs
                    assert hidden_inputs(row)
                    shown = _visible_text(row)
                    hits = [t for t in texts if t in shown] + [p.pattern for p in pats if p.search(shown)]
                    if hits:
                        leaks.append(f"{spec.kind} {spec.name!r} ({result.status}): {hits[:3]} in {shown[:400]!r}")
    finally:
        master.close()
        starter.close()
    assert not leaks, f"{len(leaks)} hidden rows leak:\n" + "\n".join(leaks[:20])


def _label_runs(y: np.ndarray, n: int = 8) -> list[str]:
    """The first ``n`` held-out labels in the ways a text could list them."""
    head = [str(int(v)) for v in y[:n]]
    return [", ".join(head), " ".join(head), "".join(head), json.dumps([int(v) for v in y[:n]])]


@pytest.mark.parametrize("name", [n for n in ASSIGNMENTS if any(s.kind in TRAINING_KINDS for s in load(n, validate=False).checks)])
def test_hidden_training_rows_never_show_labels_or_inputs(name):
    """Training kinds cannot be run in a unit test's time; their hidden rows are judged on worker
    answers built from the plan: all-wrong and all-right predictions, a huge NaN history, a
    timeout and an error. No row may list the held-out labels or input values."""
    a = load(name)
    for spec in _candidates(a, training=True):
        seed = check_seed(a.id, spec.name, STUDENT, spec.visible, SECRET)
        plan = kind_of(spec).plan(spec, np.random.default_rng(seed))
        y = np.asarray(plan.context.get("y_test", plan.context.get("y", np.zeros(0))), dtype=np.int64)
        n = len(y)
        hist = {"loss": [float("nan")] * 5 + [1.0] * 5, **{f"s{i}": [0.0] * 10 for i in range(50)}}
        base = {k: 0.0 for k in plan.returns if k.startswith("t")}
        answers = [ProbeResult("ok", values=dict(base, pred=(y + 1) % 10, pred_compare=y.copy(), history=hist)),
                   ProbeResult("ok", values=dict(base, pred=y.copy(), pred_compare=(y + 1) % 10, history=hist)),
                   ProbeResult("timeout", error={"type": "Timeout", "message": "deadline"}),
                   ProbeResult("error", values=dict(base), error={"type": "ValueError", "message": "boom"})]
        nums: list[float] = []
        _numbers({k: v for k, v in plan.context.items() if k != "array_refs"}, nums)
        pats = _number_patterns(nums[:5000])
        runs = _label_runs(y) if n >= 8 else []
        for result in answers:
            for row in _judge_rows(a, spec, plan, result):
                shown = _visible_text(row)
                assert len(shown) < 200_000, f"{spec.name}: a {len(shown)}-character row"
                curve = row["extra_data"].get("curve")
                if curve:
                    assert len(curve["series"]) <= 8
                hits = [r for r in runs if r in shown] + [p.pattern for p in pats if p.search(shown)]
                assert not hits, f"{spec.kind} {spec.name!r} ({result.status}): {hits[:3]} in {shown[:400]!r}"
