"""The pieces that make ``validate`` cheap: the forked fan-out of trusted work, seed-free checks
judged once, the statement-text comparison of master and mutant, verdict-only sampling."""
from __future__ import annotations

import os

import numpy as np

from grader.assignment import load
from grader.authoring.validate import _fingerprint, _Fanout, _Judge, affected_names
from grader.checks.base import CheckSpec, Plan


def _square(k):
    return k * k, os.getpid()


def test_fanout_returns_every_result_in_task_order_from_forked_copies():
    fan = _Fanout(list(range(12)), _square, procs=2)
    fan.start()
    out = fan.finish()
    assert [v for v, _ in out] == [k * k for k in range(12)]
    assert fan.procs == 2


def test_fanout_reruns_here_the_tasks_of_a_copy_that_died():
    parent = os.getpid()

    def task(k):
        if os.getpid() != parent:     # every copy dies on its first task, before sending anything
            os._exit(3)
        return k

    fan = _Fanout(list(range(6)), task, procs=2)
    fan.start()
    assert fan.finish() == list(range(6))


def test_fanout_with_one_process_runs_in_order_here():
    seen = []
    fan = _Fanout(["a", "b", "c"], lambda t: seen.append(t) or t.upper(), procs=1)
    fan.start()
    assert fan.finish() == ["A", "B", "C"] and seen == ["a", "b", "c"]


def test_fingerprint_compares_plans_and_refuses_what_it_cannot_compare():
    a = Plan([{"let": "y", "call": "f", "args": [{"$array": 0}]}], {"y": "y"}, [np.arange(3.0)],
             context={"case": (1, "x")})
    b = Plan([{"let": "y", "call": "f", "args": [{"$array": 0}]}], {"y": "y"}, [np.arange(3.0)],
             context={"case": (1, "x")})
    c = Plan(a.steps, a.returns, [np.arange(3.0) + 1e-12], context=a.context)
    assert _fingerprint(a) is not None and _fingerprint(a) == _fingerprint(b) != _fingerprint(c)
    assert _fingerprint(Plan([], {}, context={"rng": np.random.default_rng(0)})) is None
    assert _fingerprint(Plan([], {}, context={"f": object()})) is None


def test_seed_free_only_when_the_plan_is_the_same_under_other_seeds():
    a = load("a2_convolution")
    judge = _Judge(a)
    hidden = {}
    for spec in a.checks:
        if not spec.visible:
            hidden.setdefault(spec.kind, spec)
    # a single answer (``value``) has no seeded input; a layer's forward and backward have
    assert judge.seed_free(hidden["value"]) is True
    assert judge.seed_free(hidden["forward"]) is False and judge.seed_free(hidden["backward"]) is False
    assert judge.key(hidden["forward"], "s1") != judge.key(hidden["forward"], "s2")
    assert judge.key(hidden["value"], "s1") == judge.key(hidden["value"], "s2")


def test_affected_names_compares_statement_text_conservatively():
    master = ("import numpy as np\n\nK = 2\n\n\n@staticmethod\ndef f(x):\n    return x * K\n\n\n"
              "def g(x):\n    return f(x) + 1\n\n\ndef h(x):\n    return x\n")
    assert affected_names(master, master) == set()
    assert affected_names(master, master.replace("@staticmethod", "@classmethod")) == {"f", "g"}
    # a comment inside a definition does not change its tree, but counts: any doubt, re-run
    assert affected_names(master, master.replace("return x\n", "return x  # same\n")) == {"h"}
    assert affected_names(master, master.replace("def h(x):", "def h(x :")) is None


def test_verdicts_only_changes_no_score():
    from grader.checks import kind_of
    from grader.diagnose import verdicts_only

    spec = CheckSpec("Conv2d forward", "forward", 1.0, "hidden", "Conv2d",
                     {"init": {"in_channels": 2, "out_channels": 3, "kernel_size": 3}, "input": {"shape": [1, 2, 5, 5]}})
    kind = kind_of(spec)
    plan = kind.plan(spec, np.random.default_rng(0))

    class R:
        status, error = "ok", None
        values = {"y": np.zeros((1, 3, 3, 3))}

    full = kind.judge(spec, plan, R())
    with verdicts_only():
        quiet = kind.judge(spec, plan, R())
    assert [(p.score, p.passed) for p in full] == [(p.score, p.passed) for p in quiet]
    assert all(not p.extra.get("diagnoses") for p in quiet)
