"""Dropout check kinds (``dropout_mask``, ``dropout_eval``, ``dropout_statistics``) judged on
simulated worker answers: a small numpy dropout, correct or with one known mistake, runs the
plan's seeds here (no sandbox)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from grader.checks import CheckDefinitionError, CheckSpec, kind_of


class StudentDropout:
    """A configurable dropout: ``mistake`` picks a known-wrong variant."""

    def __init__(self, p, rng, mistake=None, scaled_mask=False):
        self.p, self.rng, self.mistake, self.scaled_mask, self.training = p, rng, mistake, scaled_mask, True

    def forward(self, x):
        if not self.training and self.mistake != "in_eval":
            return x.copy()
        u = (np.random.default_rng() if self.mistake == "global_rng" else self.rng).random(x.shape)
        keep = u < self.p if self.mistake == "keep_swapped" else u >= self.p
        scale = {"not_rescaled": 1.0, "by_p": 1 / self.p}.get(self.mistake, 0.0 if self.p == 1 else 1 / (1 - self.p))
        self.keep, self.scale = keep, scale
        self.mask = keep * scale if self.scaled_mask else keep
        return x * keep * scale

    def backward(self, g):
        if not self.training and self.mistake != "in_eval":
            return g.copy()
        keep = self.rng.random(g.shape) >= self.p if self.mistake == "new_mask" else self.keep
        return g * keep * self.scale


def run(spec, mistake=None, seed=0, **kw):
    """Plan, execute the plan's steps on StudentDropout, judge."""
    kind = kind_of(spec)
    plan = kind.plan(spec, np.random.default_rng(seed))
    env = {}
    for step in plan.steps:
        args = [plan.arrays[a["$array"]] if isinstance(a, dict) else a for a in step.get("args", [])]
        if "get" in step:
            obj, attr = step["get"].split(".")
            env[step["let"]] = getattr(env[obj], attr, None)
        elif step["call"] == spec.target:
            k = step["kwargs"]["$dict"]
            env[step["let"]] = StudentDropout(k["p"], np.random.default_rng(k["rng"]["$rng"]), mistake, **kw)
        else:
            obj, meth = step["call"].split(".")
            if meth == "eval":
                env[obj].training = False
                env[step["let"]] = None
            else:
                env[step["let"]] = getattr(env[obj], meth)(*args)
    values = {k: env.get(v) for k, v in plan.returns.items()}
    return kind.judge(spec, plan, SimpleNamespace(status="ok", values=values, error=None))


def make(kind, **params):
    s = CheckSpec(name=f"Dropout {kind}", kind=kind, points=3.0, visibility="visible", target="Dropout", params=params)
    kind_of(s).validate(s)
    return s


def codes(parts):
    return {d["code"] for p in parts for d in p.extra.get("diagnoses", [])}


MASK = dict(init={"p": 0.3}, input={"shape": [4, 5, 6, 6]})


@pytest.mark.parametrize("scaled_mask", [False, True])
def test_mask_check_accepts_both_mask_conventions(scaled_mask):
    parts = run(make("dropout_mask", **MASK), scaled_mask=scaled_mask)
    assert [p.passed for p in parts] == [True, True, True]


@pytest.mark.parametrize("mistake,code,failing", [
    ("not_rescaled", "dropout_not_rescaled", {0, 1}),
    ("by_p", "dropout_scaled_by_p", {0, 1}),
    ("new_mask", "dropout_mask_not_reused", {1}),
    ("global_rng", "dropout_rng_ignored", {2}),
])
def test_mask_check_names_the_mistake(mistake, code, failing):
    parts = run(make("dropout_mask", **MASK), mistake)
    assert {i for i, p in enumerate(parts) if not p.passed} == failing
    assert code in codes(parts)


def test_mask_check_rejects_an_invalid_mask():
    s = make("dropout_mask", **MASK)
    kind = kind_of(s)
    plan = kind.plan(s, np.random.default_rng(0))
    x = plan.arrays[0]
    values = {"y": x, "dx": x, "mask": np.full(x.shape, 0.7), "mask2": np.full(x.shape, 0.7)}
    parts = kind.judge(s, plan, SimpleNamespace(status="ok", values=values, error=None))
    assert all(p.score == 0 for p in parts) and "0/1" in parts[0].output


def test_eval_identity_and_dropout_in_eval():
    s = make("dropout_eval", init={"p": 0.4}, input={"shape": [3, 4, 5, 5]})
    assert all(p.passed for p in run(s))
    parts = run(s, "in_eval")
    assert not any(p.passed for p in parts) and codes(parts) == {"dropout_in_eval"}


STATS = dict(ps=[0.2, 0.5, 0.8], input={"shape": [16, 16, 16, 16]}, sigmas=5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_statistics_pass_for_a_correct_layer(seed):
    assert run(make("dropout_statistics", **STATS), seed=seed)[0].passed


@pytest.mark.parametrize("mistake,code", [("keep_swapped", "dropout_keep_prob_swapped"),
                                          ("not_rescaled", "dropout_not_rescaled"),
                                          ("by_p", "dropout_scaled_by_p")])
def test_statistics_name_the_mistake(mistake, code):
    part = run(make("dropout_statistics", **STATS), mistake)[0]
    assert part.score < part.max_score and code in codes([part])


def test_statistics_p_one_must_not_divide_by_zero():
    s = make("dropout_statistics", ps=[1.0], input={"shape": [10, 10, 10]})
    assert run(s)[0].passed
    kind = kind_of(s)
    plan = kind.plan(s, np.random.default_rng(0))
    part = kind.judge(s, plan, SimpleNamespace(status="ok", values={"y0": np.full((10, 10, 10), np.nan)}, error=None))[0]
    assert part.score == 0 and "p=1" in part.output


def test_statistics_spec_is_validated():
    with pytest.raises(CheckDefinitionError):
        make("dropout_statistics", ps=[1.5], input={"shape": [10, 10, 10]})
    with pytest.raises(CheckDefinitionError):
        make("dropout_statistics", ps=[0.5], input={"shape": [10]})
