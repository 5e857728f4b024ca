"""Milestone check kinds without the sandbox: validation, plans (what the worker may see), judging
(bands, noise, timeouts, comparison), the sanity kinds, device selection and the shortcut scan."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from grader.checks import CheckDefinitionError, CheckSpec, kind_of
from grader.checks.milestone import (DEFAULT_TRAIN_STEPS, grading_device, history_curve, needs_gpu, noise_note,
                                     scan_shortcuts)
from grader.sandbox import ProbeResult


@pytest.fixture(autouse=True)
def cpu(monkeypatch):
    monkeypatch.setenv("CONVGRADE_DEVICE", "cpu")


def spec(kind="milestone", points=4.0, **params):
    base = {"dataset": "digits", "budget_s": {"cpu": 30, "gpu": 10}, "grace_s": 5,
            "bands": [[0.95, 1.0], [0.9, 0.5]]}
    base.update(params)
    s = CheckSpec(name="digits accuracy", kind=kind, points=points, params=base)
    kind_of(s).validate(s)
    return s


def plan_of(s, seed=0):
    return kind_of(s).plan(s, np.random.default_rng(seed))


def ok(values, seconds=3.0):
    return ProbeResult("ok", values=values, seconds=seconds)


# ------------------------------------------------------------------------------- validation
@pytest.mark.parametrize("params, word", [
    ({"dataset": "imagenet"}, "dataset"),
    ({"budget_s": {"cpu": 0}}, "budget_s"),
    ({"budget_s": {"gpu": 5}}, "budget_s"),
    ({"bands": [[0.9, 0.5], [0.95, 1.0]]}, "bands"),
    ({"bands": [[1.2, 1.0]]}, "bands"),
    ({"metric": "f1"}, "metric"),
    ({"steps": [{"let": "_cg_x", "call": "f"}]}, "let"),
    ({"steps": [{"let": "m", "call": "f", "get": "g"}]}, "steps"),
    ({"steps": [{"call": "f", "budget_share": 1.5}]}, "budget_share"),
    ({"sets": {"test": {"labels": [1]}}}, "sets"),
    ({"compare": {"accuracy": 0.5, "share": 1.0}}, "compare.share"),
    ({"compare": {"predictions": "pred_scratch"}}, "compare.predictions"),
    ({"compare": {"accuracy": 1.5}}, "compare.accuracy"),
    ({"test_subset": 3}, "test_subset"),
    ({"framework": "jax"}, "framework"),
    ({"flatten": "yes"}, "flatten"),
])
def test_malformed_specs_name_the_key(params, word):
    base = {"dataset": "digits", "budget_s": 10}
    base.update(params)
    s = CheckSpec(name="bad", kind="milestone", points=1, params=base)
    with pytest.raises(CheckDefinitionError, match=word.replace(".", r"\.")):
        kind_of(s).validate(s)


# ------------------------------------------------------------------------------- plans
def test_held_out_labels_never_enter_the_plan():
    """Red team: no array sent to the worker equals (or contains) the held-out labels."""
    s = spec(sets={"few": {"labels": [5, 6, 7, 8, 9], "per_class": 3}}, test_labels=[5, 6, 7, 8, 9],
             steps=DEFAULT_TRAIN_STEPS + [{"let": "h2", "call": "train", "args": ["$model", "$x_few", "$y_few"]}])
    plan = plan_of(s)
    y_test = plan.context["y_test"]
    assert len(y_test) > 0
    for a in plan.arrays:
        assert not (a.shape == y_test.shape and np.array_equal(a, y_test))
        assert a.dtype.kind == "f" or len(a) != len(y_test)
    # the held-out images are sent, and only as images
    assert any(a.ndim == 4 and len(a) == len(y_test) for a in plan.arrays)
    sent = str(plan.steps) + str(plan.returns)
    assert "y_test" not in sent


def test_plan_timeout_is_budget_plus_grace_and_steps_are_seeded():
    s = spec(seed=7, threads=2)
    plan = plan_of(s)
    assert plan.timeout == 30 + 5
    calls = [st.get("call") for st in plan.steps]
    assert "_cg_torch.manual_seed" in calls and "_cg_torch.use_deterministic_algorithms" in calls
    seed_step = plan.steps[calls.index("_cg_torch.manual_seed")]
    assert seed_step["args"] == [7]
    assert plan.steps[calls.index("_cg_torch.set_num_threads")]["args"] == [2]
    sets = {st["set"]: st["value"] for st in plan.steps if "set" in st}
    assert sets == {"_cg_torch.backends.cudnn.deterministic": True, "_cg_torch.backends.cudnn.benchmark": False}
    train = next(st for st in plan.steps if st.get("call") == "train")
    assert train["kwargs"]["$dict"] == {"budget_s": 30.0, "device": "cpu"}
    assert "gpu_name" not in plan.returns   # no GPU record asked for on the CPU


def test_cuda_plan_uses_gpu_budget_and_records_the_gpu(monkeypatch):
    monkeypatch.setenv("CONVGRADE_DEVICE", "cuda")
    assert grading_device() == "cuda"
    s = spec(steps=[{"let": "model", "call": "build_model"},
                    {"let": "h", "call": "train", "args": ["$model", "$x_train", "$y_train"],
                     "kwargs": {"budget_s": "$budget_s", "device": "$device"}, "budget_share": 0.5},
                    {"let": "pred", "call": "predict", "args": ["$model", "$x_test"]}])
    plan = plan_of(s)
    assert plan.timeout == 10 + 5
    train = next(st for st in plan.steps if st.get("call") == "train")
    assert train["kwargs"]["$dict"] == {"budget_s": 5.0, "device": "cuda"}
    assert plan.returns["gpu_name"] == "_cg_gpu_name" and plan.returns["gpu_peak"] == "_cg_gpu_peak"
    y = plan.context["y_test"]
    res = ok({"pred": y.astype(float), "cuda": True, "gpu_name": "NVIDIA H100", "gpu_peak": 3 * 2**20})
    part = kind_of(s).judge(s, plan, res)[0]
    assert part.extra["device"] == "cuda" and part.extra["gpu_name"] == "NVIDIA H100"
    assert part.extra["peak_gpu_mb"] == 3.0
    # the sandbox could not see the GPU: not the student's fault, and said so
    bad = ProbeResult("error", values={"cuda": False}, error={"type": "RuntimeError", "message": "no CUDA",
                                                              "step": 20}, seconds=1.0)
    part = kind_of(s).judge(s, plan, bad)[0]
    assert part.score == 0 and "not your fault" in part.output


def test_bad_device_override_is_an_error(monkeypatch):
    monkeypatch.setenv("CONVGRADE_DEVICE", "tpu")
    with pytest.raises(ValueError, match="CONVGRADE_DEVICE"):
        grading_device()


def test_literal_dollar_and_references():
    s = spec(steps=[{"let": "model", "call": "build_model", "args": ["$$literal", "$seed"]},
                    {"let": "pred", "call": "predict", "args": ["$model.net", "$x_test"]}])
    plan = plan_of(s)
    build = next(st for st in plan.steps if st.get("call") == "build_model")
    assert build["args"] == ["$literal", plan.context["seed"]]
    pred = next(st for st in plan.steps if st.get("call") == "predict")
    assert pred["args"][0] == {"$ref": "model.net"} and "$array" in pred["args"][1]


# ------------------------------------------------------------------------------- judging
def _pred_with_accuracy(y, acc, rng):
    pred = y.copy()
    wrong = rng.choice(len(y), size=int(round((1 - acc) * len(y))), replace=False)
    pred[wrong] = (pred[wrong] + 1) % 10
    return pred


@pytest.mark.parametrize("acc, frac", [(1.0, 1.0), (0.96, 1.0), (0.93, 0.5), (0.5, 0.0)])
def test_bands_give_partial_credit(acc, frac):
    s = spec()
    plan = plan_of(s)
    y = plan.context["y_test"]
    pred = _pred_with_accuracy(y, acc, np.random.default_rng(1))
    part = kind_of(s).judge(s, plan, ok({"pred": pred.astype(float), "cuda": False}))[0]
    assert part.score == pytest.approx(4.0 * frac)
    assert part.extra["accuracy"] == pytest.approx(np.mean(pred == y))
    assert part.extra["gpu_name"] is None and part.extra["peak_gpu_mb"] is None and part.extra["device"] == "cpu"
    assert part.passed == (frac == 1.0)


def test_timeout_scores_zero_with_the_budget_named():
    s = spec()
    plan = plan_of(s)
    y = plan.context["y_test"]
    res = ProbeResult("timeout", values={}, error={"type": "timeout", "message": ""}, seconds=35.0)
    part = kind_of(s).judge(s, plan, res)[0]
    assert part.score == 0 and "30 s" in part.output and "zero" in part.output
    # even a worker that somehow handed predictions back is not credited after a timeout
    res = ProbeResult("timeout", values={"pred": y.astype(float)}, seconds=35.0)
    assert kind_of(s).judge(s, plan, res)[0].score == 0


def test_logits_instead_of_labels_are_explained():
    s = spec()
    plan = plan_of(s)
    n = len(plan.context["y_test"])
    part = kind_of(s).judge(s, plan, ok({"pred": np.zeros((n, 10))}))[0]
    assert part.score == 0 and "argmax" in part.output


def test_comparison_part():
    s = spec(compare={"accuracy": 0.93, "share": 0.25, "label": "training from scratch"})
    plan = plan_of(s)
    y = plan.context["y_test"]
    rng = np.random.default_rng(2)
    good = _pred_with_accuracy(y, 0.97, rng)
    main, cmp = kind_of(s).judge(s, plan, ok({"pred": good.astype(float)}))
    assert main.max_score == pytest.approx(3.0) and cmp.max_score == pytest.approx(1.0)
    assert main.score == pytest.approx(3.0) and cmp.score == pytest.approx(1.0)
    assert cmp.extra["accuracy_compare"] == 0.93
    half = _pred_with_accuracy(y, 0.92, rng)
    main, cmp = kind_of(s).judge(s, plan, ok({"pred": half.astype(float)}))
    assert main.score == pytest.approx(1.5) and cmp.score == 0 and "not better" in cmp.output


@settings(max_examples=40, deadline=None)
@given(p=st.floats(0.5, 1.0), n=st.integers(100, 20000), t=st.floats(0.5, 1.0))
def test_noise_note_matches_two_standard_errors(p, n, t):
    se = math.sqrt(max(p * (1 - p), 1.0 / n) / n)
    note = noise_note(p, [t], n)
    if abs(p - t) <= 2 * se * (1 - 1e-9):
        assert "within noise" in note
    elif abs(p - t) > 2 * se * (1 + 1e-9):
        assert note == ""


def _evidence(logits, n_params=100, param_sum=1.0, grad_norm=None):
    return {"logits": np.asarray(logits, dtype=np.float64), "n_params": n_params, "param_sum": float(param_sum),
            "param_norm": 2.0, "grad_norm": grad_norm}


def _logits_for(y, margin, classes=10):
    out = np.zeros((len(y), classes))
    out[np.arange(len(y)), y] = margin
    return out


def test_loss_falls_is_judged_on_the_graders_own_losses():
    s = spec(kind="loss_falls", n=64, min_drop=0.2)
    plan = plan_of(s)
    k = kind_of(s)
    y = plan.context["y_eval"]
    assert any(st.get("grader") == "classify" for st in plan.steps)
    falling = {"loss": [2.3, 1.5, 1.0, 0.8, 0.6, 0.5, 0.45, 0.4], "accuracy": [0.1] * 8, "time": [1] * 8}
    before, after = _evidence(_logits_for(y, 0.0)), _evidence(_logits_for(y, 3.0), param_sum=2.0)
    part = k.judge(s, plan, ok({"history": falling, "before": before, "after": after}))[0]
    assert part.score == s.points and "computed by the grader" in part.output
    assert part.extra["curve"]["x"] == list(range(1, 9))
    assert set(part.extra["curve"]["series"]) == {"loss", "accuracy"}
    # a hard-coded falling curve with a model that does not learn: the grader's loss does not fall
    part = k.judge(s, plan, ok({"history": falling, "before": before, "after": before}))[0]
    assert part.score == 0 and "does not fall" in part.output
    nan = _evidence(np.full((len(y), 10), np.nan))
    part = k.judge(s, plan, ok({"history": falling, "before": before, "after": nan}))[0]
    assert part.score == 0 and "NaN" in part.output
    part = k.judge(s, plan, ok({"history": falling, "before": before, "after": "zeros"}))[0]
    assert part.score == 0
    part = k.judge(s, plan, ok({"before": before, "after": after}))[0]   # no history: still judged, no curve
    assert part.score == s.points and "curve" not in part.extra


def test_history_curve_and_numpy_loss_falls():
    s = spec(kind="loss_falls", n=64, min_drop=0.2, framework="numpy")
    plan = plan_of(s)
    k = kind_of(s)
    falling = {"loss": [2.3, 1.5, 1.0, 0.8, 0.6, 0.5, 0.45, 0.4], "accuracy": [0.1] * 8, "time": [1] * 8}
    part = k.judge(s, plan, ok({"history": falling}))[0]
    assert part.score == s.points
    flat = {"loss": [2.3, 2.31, 2.29, 2.3, 2.3, 2.31, 2.3, 2.3]}
    assert k.judge(s, plan, ok({"history": flat}))[0].score == 0
    nan = {"loss": [2.3, 5.0, float("nan"), float("nan")]}
    part = k.judge(s, plan, ok({"history": nan}))[0]
    assert part.score == 0 and "NaN" in part.output
    assert k.judge(s, plan, ok({"history": [1, 2, 3]}))[0].score == 0
    assert k.judge(s, plan, ok({"history": {"loss": [2.0, 1.0]}}))[0].score == 0   # too short to judge
    curve, losses, _ = history_curve({"loss": list(range(2000))})
    assert len(curve["x"]) <= 500 and len(losses) == 2000


def test_initial_loss_judged_from_logits_with_reference_cross_entropy():
    s = spec(kind="initial_loss", n=64, classes=10)
    plan = plan_of(s)
    k = kind_of(s)
    y = plan.context["y"]
    assert len(y) == 64 and not any(np.array_equal(a, y) for a in plan.arrays)   # labels stay here
    rng = np.random.default_rng(0)
    small = 0.01 * rng.standard_normal((64, 10))
    assert k.judge(s, plan, ok({"eval": _evidence(small, grad_norm=1.0)}))[0].score == s.points
    confident = 30 * rng.standard_normal((64, 10))
    part = k.judge(s, plan, ok({"eval": _evidence(confident, grad_norm=1.0)}))[0]
    assert part.score == 0 and "too large" in part.output
    part = k.judge(s, plan, ok({"eval": _evidence(np.zeros((64, 5)), grad_norm=1.0)}))[0]
    assert part.score == 0 and "(64, 10)" in part.output
    # zero logits (cross-entropy exactly log 10) from no model, or logits the parameters do not make
    part = k.judge(s, plan, ok({"eval": _evidence(np.zeros((64, 10)), grad_norm=1.0)}))[0]
    assert part.score == 0 and "same for every image" in part.output
    part = k.judge(s, plan, ok({"eval": _evidence(small, grad_norm=0.0)}))[0]
    assert part.score == 0 and "do not depend on the model's parameters" in part.output
    part = k.judge(s, plan, ok({"eval": _evidence(small, n_params=0, grad_norm=1.0)}))[0]
    assert part.score == 0 and "no parameters" in part.output
    assert k.judge(s, plan, ok({"logits": small}))[0].score == 0   # self-reported logits are not read


def test_overfit_small_batch_judges_against_the_labels_it_sent():
    s = spec(kind="overfit_small_batch", n=32)
    plan = plan_of(s)
    k = kind_of(s)
    y = plan.context["y"]
    assert any(np.array_equal(np.sort(a), np.sort(y)) for a in plan.arrays)   # training labels are shared
    before = _evidence(np.zeros((32, 10)))
    trained = _evidence(_logits_for(y, 5.0), param_sum=3.0)
    assert k.judge(s, plan, ok({"before": before, "eval": trained}))[0].score == s.points
    wrong = y.copy()
    wrong[0] = (wrong[0] + 1) % 10
    part = k.judge(s, plan, ok({"before": before, "eval": _evidence(_logits_for(wrong, 5.0), param_sum=3.0)}))[0]
    assert part.score == 0 and "96.9%" in part.output
    # the student's own predictions are not read; an untrained model (parameters unchanged) earns nothing
    assert k.judge(s, plan, ok({"pred": y.astype(float)}))[0].score == 0
    part = k.judge(s, plan, ok({"before": before, "eval": _evidence(_logits_for(y, 5.0))}))[0]
    assert part.score == 0 and "did not change" in part.output


def test_per_student_samples_differ_but_regrades_repeat():
    s = spec(kind="overfit_small_batch", n=32)
    a, b, c = plan_of(s, 1), plan_of(s, 1), plan_of(s, 2)
    assert np.array_equal(a.context["y"], b.context["y"]) and np.array_equal(a.arrays[0], b.arrays[0])
    assert not np.array_equal(a.arrays[0], c.arrays[0])


# ------------------------------------------------------------------------------- shortcuts
def test_scan_shortcuts_flags_weight_loading():
    src = ("import torch, numpy as np\n"
           "w = torch.load('weights.pt')\n"
           "a = np.load('w.npy')\n"
           "f = open('w.bin', 'rb')\n"
           "g = open('notes.txt')\n"
           "m = torch.hub.load('x', 'y')\n"
           "from torch.hub import load_state_dict_from_url\n"
           "s = load_state_dict_from_url('http://x')\n")
    lines = [line for line, _ in scan_shortcuts(src)]
    assert lines == [2, 3, 4, 6, 8]
    assert scan_shortcuts(src, allow_weight_files=True) == []
    assert scan_shortcuts("def f(:\n") == []


def test_comparison_needs_a_useful_main_model():
    s = spec(compare={"accuracy": 0.1, "share": 0.5})
    plan = plan_of(s)
    y = plan.context["y_test"]
    rng = np.random.default_rng(3)
    poor = _pred_with_accuracy(y, 0.3, rng)
    _, cmp = kind_of(s).judge(s, plan, ok({"pred": poor.astype(float)}))
    assert cmp.score == 0 and "below every band" in cmp.output


# ------------------------------------------------------------------------------- framework = "numpy"
NUMPY_STEPS = [{"let": "model", "call": "TwoLayerNet", "kwargs": {"in_features": 64, "hidden": 16, "classes": 10}},
               {"let": "history", "call": "train", "args": ["$model", "$x_train", "$y_train"]},
               {"let": "pred", "call": "predict", "args": ["$model", "$x_test"]}]


def test_numpy_framework_imports_no_torch_and_trains_on_the_cpu(monkeypatch):
    """Numpy-only assignments forbid torch: the setup imports numpy/random/time only, seeds both,
    and the device is the CPU even on a GPU grading machine."""
    monkeypatch.setenv("CONVGRADE_DEVICE", "cuda")
    s = spec(framework="numpy", flatten=True, seed=11, steps=NUMPY_STEPS)
    plan = plan_of(s)
    sent = repr(plan.steps) + repr(plan.returns)
    assert "torch" not in sent and "cudnn" not in sent and "cuda" not in sent
    imports = [st["args"][0] for st in plan.steps if st.get("call") == "__builtins__.__import__"]
    assert imports == ["numpy", "random", "time"]
    calls = [st.get("call") for st in plan.steps]
    assert plan.steps[calls.index("_cg_np.random.seed")]["args"] == [11]
    assert plan.steps[calls.index("_cg_random.seed")]["args"] == [11]
    assert plan.context["device"] == "cpu" and plan.timeout == 30 + 5   # the cpu budget
    assert not needs_gpu([s]) and needs_gpu([spec()])
    # flatten: (N, 1, 8, 8) images arrive as (N, 64) float64 rows; the labels stay behind
    y = plan.context["y_test"]
    x_test = next(a for a in plan.arrays if len(a) == len(y))
    assert x_test.shape == (len(y), 64) and x_test.dtype == np.float64
    assert all(a.ndim <= 2 for a in plan.arrays)
    assert not any(a.shape == y.shape and np.array_equal(a, y) for a in plan.arrays)
    # judged without a CUDA record
    part = kind_of(s).judge(s, plan, ok({"pred": y.astype(float)}))[0]
    assert part.score == 4.0 and part.extra["device"] == "cpu" and part.extra["gpu_name"] is None


def test_flatten_applies_to_sampled_kinds():
    steps = [NUMPY_STEPS[0], {"let": "history", "call": "train", "args": ["$model", "$x", "$y"]},
             {"let": "pred", "call": "predict", "args": ["$model", "$x"]}]
    s = spec(kind="overfit_small_batch", framework="numpy", flatten=True, n=12, steps=steps)
    plan = plan_of(s)
    assert sorted(a.shape for a in plan.arrays) == [(12,), (12, 64)]


@pytest.mark.parametrize("framework", ["torch", "numpy"])
def test_failing_accuracy_says_chance_level_or_not_enough(framework):
    s = spec(framework=framework, steps=NUMPY_STEPS)
    plan = plan_of(s)
    y = plan.context["y_test"]
    rng = np.random.default_rng(2)
    chance = kind_of(s).judge(s, plan, ok({"pred": _pred_with_accuracy(y, 0.1, rng).astype(float)}))[0]
    assert chance.score == 0 and "chance level" in chance.output and "w ← w − lr·grad" in chance.output
    some = kind_of(s).judge(s, plan, ok({"pred": _pred_with_accuracy(y, 0.7, rng).astype(float)}))[0]
    assert some.score == 0 and "learns, but not enough" in some.output and "chance" not in some.output
    full = kind_of(s).judge(s, plan, ok({"pred": y.astype(float)}))[0]
    assert "chance" not in full.output and "not enough" not in full.output


def test_numpy_timeout_without_a_budget_argument_asks_for_faster_training():
    s = spec(framework="numpy", steps=NUMPY_STEPS)
    plan = plan_of(s)
    res = ProbeResult("timeout", values={}, error={"type": "timeout", "message": ""}, seconds=35.0)
    part = kind_of(s).judge(s, plan, res)[0]
    assert part.score == 0 and "30 s" in part.output and "vectorize" in part.output
    assert "budget_s" not in part.output   # train was never handed a budget to watch


@pytest.mark.parametrize("kind", ["initial_loss", "overfit_small_batch", "loss_falls"])
def test_sanity_kinds_need_a_step_that_binds_the_model(kind):
    s = CheckSpec(name="bad", kind=kind, points=1, params={"dataset": "digits", "budget_s": 10,
                                                          "steps": [{"let": "net", "call": "build_model"}]})
    with pytest.raises(CheckDefinitionError, match="binds the model"):
        kind_of(s).validate(s)
    s.params["model"] = "net"
    kind_of(s).validate(s)


def test_batch_independence_predicts_the_held_out_images_again_among_fillers():
    s = spec(batch_independence={"images": 50, "fillers": 70, "points": 1})
    plan = plan_of(s)
    y = plan.context["y_test"]
    again = plan.steps[-1]
    assert again["call"] == "predict" and again["let"].endswith("pred_mixed")
    sent = plan.arrays[again["args"][1]["$array"]]
    chosen, where = plan.context["batch_chosen"], plan.context["batch_where"]
    x_test = plan.arrays[plan.context["array_refs"]["x_test"]["$array"]]
    assert sent.shape[0] == 120 and np.array_equal(sent[where], x_test[chosen])   # the same images, mixed
    k = kind_of(s)
    mixed = np.random.default_rng(0).integers(0, 10, 120)
    mixed[where] = y[chosen]                            # an eval-mode model: the same labels
    main, batch = k.judge(s, plan, ok({"pred": y.astype(float), "pred_mixed": mixed.astype(float)}))
    assert main.max_score == pytest.approx(3.0) and batch.max_score == pytest.approx(1.0)
    assert batch.score == pytest.approx(1.0) and batch.name == "digits accuracy: predictions do not depend on the batch"
    mixed[where] = (y[chosen] + 1) % 10                 # labels that change with the batch
    main, batch = k.judge(s, plan, ok({"pred": y.astype(float), "pred_mixed": mixed.astype(float)}))
    assert main.score == pytest.approx(3.0) and batch.score == 0 and "`model.eval()`" in batch.output
    res = ProbeResult("timeout", values={}, error={"type": "timeout", "message": ""}, seconds=35.0)
    assert [p.score for p in k.judge(s, plan, res)] == [0, 0]
    with pytest.raises(CheckDefinitionError, match="batch_independence"):
        spec(batch_independence={"images": 5})


def test_milestone_parts_name_every_row_its_judge_gives():
    s = spec(compare={"accuracy": 0.5, "share": 0.25, "label": "chance"}, batch_independence={"points": 1})
    plan = plan_of(s)
    y = plan.context["y_test"]
    parts = kind_of(s).judge(s, plan, ok({"pred": y.astype(float)}))
    assert kind_of(s).parts(s) == [(p.name, p.max_score) for p in parts]
    assert [n for n, _ in kind_of(s).parts(s)] == ["digits accuracy", "digits accuracy: beats chance",
                                                   "digits accuracy: predictions do not depend on the batch"]


def test_no_gpu_device_nodes_means_cpu_without_importing_torch(monkeypatch):
    """Without /dev/nvidia* the sandbox cannot reach a GPU: grading_device() says "cpu" without
    importing torch (seconds, before a training assignment's worker could start)."""
    import subprocess
    import sys

    code = ("import glob, sys; glob.glob = lambda p: []\n"
            "from grader.checks.milestone import grading_device\n"
            "assert grading_device() == 'cpu'; assert 'torch' not in sys.modules; print('ok')")
    env = {k: v for k, v in __import__("os").environ.items() if k != "CONVGRADE_DEVICE"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.stdout.strip() == "ok", proc.stderr[-2000:]
