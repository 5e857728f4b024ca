"""a5_architectures end to end through the sandbox: the master solution scores full marks, the
issue's mutants lose points on their target checks, forbidden model zoos are detected, and a
parameter-shape mismatch is reported by name. (The full mutation table — 42 mutants — is
`grader.authoring.validate.validate("a5_architectures")`; it is too slow for the unit suite.)"""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from grader.assignment import load
from grader.authoring.mutants import hits_target, load_mutants
from grader.authoring.notebook import master_source
from grader.checks import CheckSpec, kind_of
from grader.checks.torch_models import first_mismatch
from grader.grade import grade_submission

SECRET = b"a5-test-secret"
ISSUE_MUTANTS = ["vgg_missing_batch_norm", "basic_shortcut_stride", "basic_conv_bias", "dws_no_padding",
                 "basic_no_relu_after_add", "bottleneck_no_relu_after_add"]


@pytest.fixture(scope="module")
def a5():
    return load("a5_architectures")


@pytest.fixture(scope="module")
def source():
    return master_source("a5_architectures")


def _grade(a5, tmp_path, name, src, student="s1", factory=None):
    p = tmp_path / f"{name}.py"
    p.write_text(src, encoding="utf-8")
    return grade_submission(a5, p, student=student, secret=SECRET, session_factory=factory)


def warm_pool(a, sessions: int):
    """Sandboxes for ``sessions`` grades of ``a`` started ahead, as grade-batch and validate start
    theirs (torch imported once, in the zygote; each grade still gets a fresh worker)."""
    from grader.checks.milestone import needs_gpu
    from grader.grade import sandbox_config
    from grader.sandbox.pool import WarmPool

    return WarmPool(sandbox_config(a, gpu=needs_gpu(a.select("all"))), size=2, total=sessions)


def test_master_full_marks_and_mutants_lose_points_on_target(a5, source, tmp_path):
    mutants = {m.name: m for m in load_mutants(a5.path)}
    jobs = [("master", source)] + [(n, mutants[n].apply(source)) for n in ISSUE_MUTANTS]
    with warm_pool(a5, len(jobs)) as warm, ThreadPoolExecutor(2) as pool:
        results = dict(zip([j[0] for j in jobs], pool.map(lambda j: _grade(a5, tmp_path, *j, factory=warm.session),
                                                           jobs)))
    master = results.pop("master")
    assert not master["convgrade"].get("internal_errors")
    assert master["score"] == master["max_score"] == 44.0, [t["output"] for t in master["tests"] if t["status"] != "passed"]
    for name, res in results.items():
        failed = [t for t in res["tests"] if t["status"] != "passed"]
        assert res["score"] < res["max_score"], name
        assert hits_target(mutants[name], failed), (name, [t["name"] for t in failed])
        assert not res["convgrade"].get("internal_errors"), name
    # the shortcut with the wrong stride is named in the forward check's feedback: shapes cannot add
    shortcut = next(t for t in results["basic_shortcut_stride"]["tests"] if "projection, stride 2" in t["name"])
    assert "raised" in shortcut["output"] or "differs" in shortcut["output"]
    bias = next(t for t in results["basic_conv_bias"]["tests"] if t["name"].startswith("BasicBlock forward") and
                "projection" in t["name"])
    assert "cannot be loaded" in bias["output"] and "parameter #" in bias["output"]


def test_forbidden_model_zoo_is_detected(a5, source, tmp_path):
    res = _grade(a5, tmp_path, "zoo", "import timm\n" + source)
    assert res["score"] == 0
    assert any("timm" in f for f in res["convgrade"]["static_findings"])
    assert "timm" in res["convgrade"]["load_error"]


def test_first_mismatch_messages():
    want = [("conv1.weight", (8, 4, 3, 3)), ("bn1.weight", (8,))]
    assert "`conv1.weight` has shape (8, 4, 3, 3), your `c.weight` has (8, 4, 1, 1)" in \
        first_mismatch(want, [("c.weight", (8, 4, 1, 1)), ("bn1.weight", (8,))])
    assert "first missing one is the reference's `bn1.weight`" in first_mismatch(want, want[:1])
    assert "first extra one is your `x`" in first_mismatch(want, want + [("x", (1,))])
    assert first_mismatch(want, want) == ""


def test_forward_plan_sends_weights_not_answers(a5):
    spec = next(c for c in a5.checks if c.kind == "model_forward" and c.target == "BasicBlock")
    kind = kind_of(spec)
    plan = kind.plan(spec, np.random.default_rng(0))
    import json
    blob = json.dumps(plan.steps)
    assert '"grader": "load_weights"' in blob and '"grader": "run"' in blob   # the worker's helpers, not the student's
    y = plan.context["params"]
    assert all(np.array_equal(v, v.astype(np.float32)) for v in y)     # float32-representable weights
    # the expected output is not among the arrays sent to the worker
    from grader.checks.torch_models import reference_forward
    out = reference_forward(spec, plan.context["params"], plan.context["buffers"], plan.context["x"], False)
    assert not any(a.shape == out.shape and np.allclose(a, out) for a in plan.arrays)


def test_bad_model_check_definitions():
    from grader.checks import CheckDefinitionError
    with pytest.raises(CheckDefinitionError, match="reference must be one of"):
        kind_of(CheckSpec("x", "model_params", 1, target="Nope")).validate(CheckSpec("x", "model_params", 1, target="Nope"))
    bad = CheckSpec("x", "model_shapes", 1, target="LeNet5", params={"init": {}})
    with pytest.raises(CheckDefinitionError, match="inputs"):
        kind_of(bad).validate(bad)


def test_reference_structures_are_computed_once_per_process(a5, monkeypatch):
    """Parameter shapes, output shapes and traces of the reference depend only on the spec: a
    second plan of the same check builds no model, and gets the same (equal, not shared) answer."""
    import numpy as np

    from grader.checks import kind_of, torch_models

    specs = [s for s in a5.checks if s.kind in ("model_params", "model_shapes", "model_trace")]
    first = {s.name: kind_of(s).plan(s, np.random.default_rng(0)).context["want"] for s in specs}
    built = []
    original = torch_models._build
    monkeypatch.setattr(torch_models, "_build", lambda *a, **k: built.append(a) or original(*a, **k))
    again = {s.name: kind_of(s).plan(s, np.random.default_rng(1)).context["want"] for s in specs}
    assert again == first and not built
    name = specs[0].name
    assert again[name] is not first[name]


BUILT = '''\
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, width=4):
        super().__init__()
        self.conv = nn.Conv2d(1, width, 3)
        self.scale = nn.Parameter(torch.empty(width))
        nn.init.normal_(self.scale, 5.0, 1.0)          # the student's own initialisation
        self.bn = nn.BatchNorm2d(width)
        self.register_buffer("mask", torch.ones(width))

    def forward(self, x):
        return self.bn(self.conv(x)) * self.scale[:, None, None] * self.mask[:, None, None]


class Broken(nn.Module):
    def __init__(self):
        super().__init__()
        raise ValueError("not yet")


def inits():
    return [getattr(nn.init, n).__name__ for n in ("uniform_", "normal_", "kaiming_uniform_")]
'''


def test_models_are_built_without_torchs_random_initialisation_and_run_as_written():
    """The model checks build the student's model through the worker's ``build`` helper: torch's
    random initialisers fill zeros while the constructor runs (their values are never used: the
    checks read the structure or load the grader's weights into every parameter and buffer) and
    are restored after; everything else the constructor does happens as written; a constructor
    that raises is reported as before."""
    from grader.authoring.trusted import TrustedSession

    with TrustedSession(BUILT, forbidden=()) as s:
        assert s.start().status == "ok"
        r = s.probe([{"let": "m", "grader": "build", "args": [{"$ref": "Net"}], "kwargs": {"width": 3}},
                     {"let": "ps", "grader": "param_shapes", "args": [{"$ref": "m"}]},
                     {"let": "w", "get": "m.conv.weight"}, {"let": "sc", "get": "m.scale"},
                     {"let": "var", "get": "m.bn.running_var"}, {"let": "mask", "get": "m.mask"},
                     {"let": "after", "call": "inits"},
                     {"let": "fresh", "call": "Net"}, {"let": "w2", "get": "fresh.conv.weight"}],
                    {"ps": "ps", "w": "w", "sc": "sc", "var": "var", "mask": "mask", "after": "after", "w2": "w2"})
        assert r.status == "ok", r.error
        v = r.values
        assert [n for n, _ in v["ps"]] == ["scale", "conv.weight", "conv.bias", "bn.weight", "bn.bias"]
        assert not np.any(v["w"]) and not np.any(v["sc"])         # drawn values: zeros
        assert np.all(v["var"] == 1) and np.all(v["mask"] == 1)    # deterministic ones: as written
        assert v["after"] == ["uniform_", "normal_", "kaiming_uniform_"]   # restored
        assert np.any(v["w2"])                                      # a plain call draws as before
        bad = s.probe([{"let": "m", "grader": "build", "args": [{"$ref": "Broken"}]}], {})
        assert bad.status == "error" and bad.error["type"] == "ValueError" and bad.error["line"] == 21
        missing = s.probe([{"let": "m", "grader": "build", "args": [{"$ref": "Nope"}]}], {})
        assert missing.status == "error"


def test_reference_forward_reuses_one_model_and_equals_a_fresh_one(a5):
    """The forward checks' reference output comes from one kept reference model per (builder,
    init), every parameter and buffer overwritten per call: bit for bit what a fresh model gives,
    in eval and training mode, whatever ran on the kept model before; the plan's weights are drawn
    from the cached skeleton exactly as from a built model."""
    import torch

    from grader.checks import torch_models as tm

    def fresh(spec, params, buffers, x, train):
        model = tm._build(spec).double()
        with torch.no_grad():
            for p, v in zip(model.parameters(), params):
                p.copy_(torch.from_numpy(v))
            for b, v in zip([b for b in model.buffers() if b.is_floating_point()], buffers):
                b.copy_(torch.from_numpy(v))
            model.train(train)
            return model(torch.from_numpy(x)).numpy()

    specs = [c for c in a5.checks if c.kind == "model_forward" and c.target in ("VGGStack", "BasicBlock")]
    assert specs
    for spec in specs:
        for seed in (0, 1):
            drawn = tm.draw_weights(tm._build(spec), np.random.default_rng(seed))
            plan = kind_of(spec).plan(spec, np.random.default_rng(seed))
            ctx = plan.context
            assert all(np.array_equal(u, v) for u, v in zip(drawn[0] + drawn[1], ctx["params"] + ctx["buffers"]))
            for train in (True, False, True):
                got = tm.reference_forward(spec, ctx["params"], ctx["buffers"], ctx["x"], train)
                np.testing.assert_array_equal(got, fresh(spec, ctx["params"], ctx["buffers"], ctx["x"], train))
