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


def _grade(a5, tmp_path, name, src, student="s1"):
    p = tmp_path / f"{name}.py"
    p.write_text(src, encoding="utf-8")
    return grade_submission(a5, p, student=student, secret=SECRET)


def test_master_full_marks_and_mutants_lose_points_on_target(a5, source, tmp_path):
    mutants = {m.name: m for m in load_mutants(a5.path)}
    jobs = [("master", source)] + [(n, mutants[n].apply(source)) for n in ISSUE_MUTANTS]
    with ThreadPoolExecutor(2) as pool:
        results = dict(zip([j[0] for j in jobs], pool.map(lambda j: _grade(a5, tmp_path, *j), jobs)))
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
