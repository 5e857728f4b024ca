"""Red team, issue 11 (sandbox side): classes 2, 4, 7, 8 and 10.

Each test is an attack that succeeded before the fix; the slow ones run a real sandbox (under
bubblewrap where it is installed, as in CI)."""
from __future__ import annotations

import base64
import os
import textwrap
from pathlib import Path

import numpy as np
import pytest

from grader.static import scan_imports, scan_shortcuts


# ------------------------------------------------------------------ class 10: weight-file rule
WEIGHT_TRICKS = {
    "alias": "import torch as t\nw = t.load('w.pt')\n",
    "from_import": "from torch import load\nw = load('w.pt')\n",
    "from_import_alias": "from numpy import load as L\nw = L('w.npy')\n",
    "getattr_literal": "import torch as t\nw = getattr(t, 'load')('w.pt')\n",
    "getattr_computed": "import torch as t\nw = getattr(t, 'lo' + 'ad')('w.pt')\n",
    "getattr_then_attr": "import torch\nw = getattr(torch, 'jit').load('m.pt')\n",
    "reference_kept": "import torch\nf = torch.load\nw = f('w.pt')\n",
    "pickle_alias": "import pickle as p\nw = p.loads(b'')\n",
    "computed_open_mode": "m = 'r' + 'b'\nw = open('w', m).read()\n",
    "base64_weights": ("import base64, numpy as np\n"
                       f"W = np.frombuffer(base64.b64decode('{base64.b64encode(bytes(8000)).decode()}'), "
                       "dtype=np.float32)\n"),
    "base64_split": ("import base64, numpy as np\nparts = [\n"
                     + "".join(f"    '{base64.b64encode(bytes(300 + i)).decode()}',\n" for i in range(30))
                     + "]\nW = np.frombuffer(base64.b64decode(''.join(parts)), dtype=np.float32)\n"),
    "base64_many_assignments": "".join(f"P{i} = '{base64.b64encode(bytes(600)).decode()}'\n" for i in range(20)),
    "number_list": "W = [" + ", ".join(f"{i * 0.001:.3f}" for i in range(2000)) + "]\n",
    "bytes_literal": f"W = {bytes(range(256)) * 40!r}\n",
}


@pytest.mark.parametrize("name", sorted(WEIGHT_TRICKS))
def test_weight_loading_in_disguise_is_flagged(name):
    assert scan_shortcuts(WEIGHT_TRICKS[name]), name


def test_honest_training_code_is_not_flagged():
    src = textwrap.dedent('''\
        """A long docstring is not data. ''' + "x " * 3000 + '''"""
        import torch
        import torch.nn as nn
        import numpy as np
        def train(model, x, y, budget_s=10, device="cpu"):
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
            loss_fn = nn.CrossEntropyLoss()
            history = {"loss": []}
            for xb, yb in zip(np.array_split(x, 10), np.array_split(y, 10)):
                loss = loss_fn(model(torch.as_tensor(xb)), torch.as_tensor(yb))
                opt.zero_grad(); loss.backward(); opt.step()
                history["loss"].append(float(loss))
            return history
        LABELS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
        ''')
    assert scan_shortcuts(src) == []


# ------------------------------------------------------------------ class 4: computed imports
@pytest.mark.parametrize("src", [
    "m = __import__('to' + 'rch')\n",
    "import importlib\nm = importlib.import_module(''.join(['sc', 'ipy']))\n",
    "from importlib import import_module as im\nname = 'torch'\nm = im(name)\n",
    "m = __builtins__.__import__(chr(116) + 'orch')\n",
])
def test_computed_name_import_is_a_static_finding(src):
    found = scan_imports(src, ["torch"])
    assert [f.how for f in found] == ["computed"], found
    assert "computed name" in found[0].message()


def test_literal_allowed_dynamic_import_is_not_flagged():
    assert scan_imports("import importlib\nm = importlib.import_module('math')\n", ["torch"]) == []


# ------------------------------------------------------------------ class 2: held-out labels
SECRET = b"hostile-sandbox-secret"


def _a6():
    from grader.assignment import load
    return load("a6_training")


def _public_order_labels(n: int) -> np.ndarray:
    """What an attacker computes without a pixel: the bundled file is sorted by class (100 held
    out per digit) and the split shuffles with the fixed seed 0 (train first, then test)."""
    rng = np.random.default_rng(0)
    rng.permutation(4000)
    y = np.repeat(np.arange(10), 100)[rng.permutation(1000)]
    return y if n == 1000 else y[y >= 5][:n]


def _milestones(a6):
    return [c for c in a6.checks if c.kind == "milestone"]


def test_public_order_labels_really_are_the_bundled_order():
    """The attack's premise: the public order equals the bundled split's (so the defence is real)."""
    from reference import data
    split = data.load("mnist_subset")
    assert np.array_equal(_public_order_labels(1000), split.y_test)


@pytest.mark.parametrize("student", ["mallory", "eve"])
def test_position_only_prediction_scores_chance(student):
    from grader.checks import kind_of
    from grader.seeds import check_seed
    from grader.sandbox import ProbeResult

    a6 = _a6()
    for spec in _milestones(a6):
        plan = kind_of(spec).plan(spec, np.random.default_rng(check_seed(a6.id, spec.name, student, False, SECRET)))
        n = len(plan.context["y_test"])
        guess = _public_order_labels(n).astype(float)
        parts = kind_of(spec).judge(spec, plan, ProbeResult("ok", values={"pred": guess}, seconds=1.0))
        assert parts[0].extra["accuracy"] < 0.3, (spec.name, parts[0].extra["accuracy"])
        assert sum(p.score for p in parts) == 0


def test_held_out_order_differs_per_student_and_is_stable():
    from grader.checks import kind_of
    from grader.seeds import check_seed

    a6 = _a6()
    spec = _milestones(a6)[0]
    ys = {}
    for student in ("alice", "bob", "alice"):
        plan = kind_of(spec).plan(spec, np.random.default_rng(check_seed(a6.id, spec.name, student, False, SECRET)))
        x = next(a for a in plan.arrays if a.ndim == 4 and len(a) == len(plan.context["y_test"]))
        if student in ys:
            assert np.array_equal(ys[student][0], plan.context["y_test"]) and np.array_equal(ys[student][1], x)
        ys[student] = (plan.context["y_test"], x)
    assert not np.array_equal(ys["alice"][0], ys["bob"][0])
    assert sorted(ys["alice"][0].tolist()) == sorted(ys["bob"][0].tolist())   # same images, other order
    assert ys["alice"][1].nbytes == ys["bob"][1].nbytes


def test_sabotaged_scratch_run_does_not_win_the_comparison():
    """The old attack: a fine-tuned model at 75% (below the honest scratch baseline) 'beats training
    from scratch' because the submission's own scratch run predicts nonsense. The baseline is now the
    check's fixed accuracy; nothing the submission returns is read for it."""
    from grader.checks import kind_of
    from grader.sandbox import ProbeResult

    a6 = _a6()
    spec = next(c for c in _milestones(a6) if c.get("compare"))
    assert "pred_compare" not in str(spec.params) and not any("scratch" in str(s.get("let")) for s in spec.get("steps"))
    plan = kind_of(spec).plan(spec, np.random.default_rng(5))
    assert "pred_compare" not in plan.returns
    y = plan.context["y_test"]
    pred = y.copy()
    wrong = np.random.default_rng(1).choice(len(y), size=len(y) // 4, replace=False)
    pred[wrong] = 5 + (pred[wrong] - 4) % 5
    sabotage = ProbeResult("ok", values={"pred": pred.astype(float), "pred_scratch": np.zeros(len(y)),
                                         "pred_compare": np.zeros(len(y))}, seconds=1.0)
    main, beats = kind_of(spec).judge(spec, plan, sabotage)
    assert main.score > 0 and beats.score == 0, beats.output


# ------------------------------------------------------------------ class 7: self-reported evidence
A5_TARGETS = ("LeNet5", "VGGStack", "BasicBlock", "Bottleneck", "DepthwiseSeparable", "InceptionModule", "UNet")

# A model with no layers for every target; the starter's helpers are edited to report what the
# real architecture (kept under another name) would report. Before issue 11 this scored all
# model_params, model_shapes and model_trace points (22 of 44).
A5_NO_LAYERS = '''

_REAL = {n: globals()[n] for n in %r}


class _NoLayers(nn.Module):
    def __init__(self, *args, **kwargs):
        super().__init__()
        self._args = (args, kwargs)

    def forward(self, x):
        return torch.zeros(1)


for _n in _REAL:
    globals()[_n] = type(_n, (_NoLayers,), {"_real": _REAL[_n]})


def _real(model):
    return type(model)._real(*model._args[0], **model._args[1])


def param_shapes(model):
    return [[n, [int(d) for d in p.shape]] for n, p in _real(model).named_parameters()]


def output_shape(model, input_shape):
    m = _real(model).to("meta") if hasattr(model, "_args") else model.to("meta")
    with torch.no_grad():
        return [int(d) for d in m(torch.empty(tuple(input_shape), device="meta")).shape]


def shape_trace(model, input_shape):
    m = _real(model).to("meta")
    trace = []
    for name, mod in m.named_modules():
        if not list(mod.children()):
            mod.register_forward_hook(lambda mm, i, o, name=name: trace.append(
                [name, type(mm).__name__, [int(d) for d in o.shape]]))
    with torch.no_grad():
        m(torch.empty(tuple(input_shape), device="meta"))
    return trace
''' % (A5_TARGETS,)


def _grade_subset(assignment_id, source, tmp_path, keep, student="mallory"):
    from grader.assignment import load
    from grader.grade import grade_submission

    a = load(assignment_id)
    a.checks = [c for c in a.checks if keep(c)]
    p = tmp_path / "submission.py"
    p.write_text(source, encoding="utf-8")
    return grade_submission(a, p, student=student, secret=SECRET)


def test_a5_model_without_layers_and_edited_helpers_scores_nothing(tmp_path):
    from grader.authoring import master_source

    src = master_source("a5_architectures") + A5_NO_LAYERS
    res = _grade_subset("a5_architectures", src, tmp_path,
                        lambda c: c.kind in ("model_params", "model_shapes", "model_trace"))
    assert len(res["tests"]) == 22 and not res["convgrade"].get("internal_errors")
    assert res["score"] == 0, [(t["name"], t["score"]) for t in res["tests"] if t["score"]]


def test_a5_layers_named_like_torch_layers_are_not_torch_layers(tmp_path):
    """A trace row's type is the torch.nn class the layer is, not its class name."""
    src = textwrap.dedent('''\
        import torch
        import torch.nn as nn

        class Conv2d(nn.Module):          # named like a conv, computes nothing
            def forward(self, x):
                return x

        class LeNet5(nn.Module):
            def __init__(self, num_classes=10, in_channels=1):
                super().__init__()
                self.c1 = Conv2d()

            def forward(self, x):
                self.c1(x)
                return torch.zeros(x.shape[0], 10, device=x.device)
        ''')
    res = _grade_subset("a5_architectures", src, tmp_path,
                        lambda c: c.target == "LeNet5" and c.kind in ("model_shapes", "model_trace"))
    assert res["score"] == 0, [(t["name"], t["output"]) for t in res["tests"]]


# Before issue 11 each of these scored the three visible a6 sanity checks (3 of 3 points) with no
# network: zero logits for the initial loss, a dict of the training images for the overfit check,
# a hard-coded curve for the falling loss.
A6_NO_MODEL = '''
import numpy as np
import torch

SEEN = {}


class Lookup:
    """No network: zero logits, or the remembered label of an exact training image."""
    def eval(self):
        return self

    def train(self, mode=True):
        return self

    def to(self, *a, **k):
        return self

    def __call__(self, x):
        x = np.asarray(x.detach().cpu() if hasattr(x, "detach") else x)
        out = torch.zeros(len(x), 10)
        for i, xi in enumerate(x):
            if xi.tobytes() in SEEN:
                out[i, SEEN[xi.tobytes()]] = 50.0
        return out


def build_model(*a, **k):
    return Lookup()


def train(model, x, y, **k):
    for xi, yi in zip(np.asarray(x), np.asarray(y)):
        SEEN[xi.tobytes()] = int(yi)
    if hasattr(model, "bump"):
        model.bump()
    return {"loss": [2.3, 1.6, 1.2, 0.9, 0.6, 0.4, 0.3, 0.2], "accuracy": [0.1, 0.5, 0.8, 1.0, 1.0, 1.0, 1.0, 1.0]}


def predict(model, x, **k):
    return np.array([SEEN.get(xi.tobytes(), 0) for xi in np.asarray(x)])
'''

# The same lookup inside a real torch.nn.Module with one parameter that train() changes.
A6_LOOKUP_MODULE = A6_NO_MODEL + '''

class LookupModule(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def bump(self):
        with torch.no_grad():
            self.w += 1.0

    def forward(self, x):
        return Lookup()(x) + 0.0 * self.w + 1e-3 * x.reshape(len(x), -1)[:, :10] * self.w


def build_model(*a, **k):
    return LookupModule()
'''


@pytest.mark.parametrize("source", [A6_NO_MODEL, A6_LOOKUP_MODULE], ids=["no_model", "lookup_module"])
def test_a6_sanity_checks_without_a_network_score_nothing(source, tmp_path):
    res = _grade_subset("a6_training", source, tmp_path,
                        lambda c: c.kind in ("initial_loss", "overfit_small_batch", "loss_falls"))
    assert len(res["tests"]) == 3 and not res["convgrade"].get("internal_errors"), res["convgrade"]
    assert res["score"] == 0, [(t["name"], t["output"]) for t in res["tests"] if t["score"]]


# ------------------------------------------------------------------ class 8: output amplification
def _worker_module():
    import importlib.util
    from pathlib import Path

    import grader.sandbox.launcher as launcher
    spec = importlib.util.spec_from_file_location("_cg_worker_under_test", Path(launcher.__file__).with_name("worker.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_worker_bounds_a_history_of_thousands_of_series():
    w = _worker_module()
    history = {f"s{i}": list(range(3000)) for i in range(5000)}
    history["loss"] = [float(i) for i in range(10_000)]
    out = w.bounded_history(history, series=8, points=2000)
    assert list(out)[0] == "loss" and len(out) == 8
    assert all(len(v) <= 2000 for v in out.values())
    assert out["loss"][0] == 0 and out["loss"][-1] == 9999   # subsampled evenly, ends kept
    assert w.bounded_history([1, 2, 3]) is None


def test_decoder_refuses_a_reply_of_millions_of_tiny_values_before_parsing():
    import json
    import tracemalloc

    from grader.sandbox.protocol import MAX_NODES, ProtocolError, decode_json

    body = json.dumps({"id": 1, "values": {"history": {f"s{i}": [0] * 1000 for i in range(2000)}}}).encode()
    assert len(body) > 5_000_000
    tracemalloc.start()
    with pytest.raises(ProtocolError, match="cap"):
        decode_json(body)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 2 * len(body)   # json.loads would have built ~2 million objects (~100 MB)
    small = json.dumps({"id": 1, "values": {"shape": [2, 3]}, "stdout": "a, b: c" * 100}).encode()
    assert decode_json(small)["values"] == {"shape": [2, 3]}
    assert MAX_NODES >= 100_000


def test_history_curve_draws_a_bounded_number_of_series():
    from grader.checks.milestone import MAX_CURVE, MAX_SERIES, history_curve

    history = {f"s{i}": np.zeros(3000) for i in range(3000)}
    history["loss"] = np.linspace(2, 0.1, 3000)
    curve, losses, _ = history_curve(history)
    assert len(curve["series"]) <= MAX_SERIES and "loss" in curve["series"]
    assert all(len(v) <= MAX_CURVE for v in curve["series"].values())


def test_thousands_of_history_series_stay_small_end_to_end(tmp_path):
    """736 bytes of source used to produce 23.5 MB of results: a history of thousands of series."""
    import json

    from grader.assignment import load
    from grader.grade import grade_submission

    folder = tmp_path / "amp"
    folder.mkdir()
    (folder / "assignment.toml").write_text(
        'id = "amp"\ntitle = "amp"\n[imports]\nallow_torch = true\n'
        '[limits]\nwall_s = 60\nprobe_timeout_s = 30\ncpu_s = 60\nmemory_mb = 2048\n')
    (folder / "checks.toml").write_text(
        '[[check]]\nname = "digits"\nkind = "milestone"\npoints = 1\ndataset = "digits"\nbudget_s = 10\n'
        'grace_s = 10\nbands = [[0.05, 1.0]]\nhistory = "history"\n')
    src = textwrap.dedent('''\
        import numpy as np
        def build_model():
            return None
        def train(model, x, y, **k):
            h = {f"series_{i}": [float(j) for j in range(2000)] for i in range(3000)}
            h["loss"] = [1.0] * 2000
            return h
        def predict(model, x, **k):
            return np.zeros(len(x), dtype=np.int64)
        ''')
    p = tmp_path / "amp.py"
    p.write_text(src)
    res = grade_submission(load(folder), p, student="mallory", secret=SECRET)
    t = res["tests"][0]
    assert t["extra_data"].get("worker_status") == "ok", t["output"]
    assert len(t["extra_data"]["curve"]["series"]) <= 8
    assert len(json.dumps(res)) < 200_000


def test_forbidden_packages_are_absent_even_without_the_import_hook():
    """Under bubblewrap torch, scipy and sklearn are not on the numpy sandbox's filesystem: removing
    the worker's import blocker and importing a computed name finds nothing."""
    from grader.sandbox import Limits, SandboxConfig, WorkerSession, detect_isolation
    from grader.sandbox.isolation import forbidden_packages

    config = SandboxConfig(limits=Limits(wall_s=30), forbidden_imports=["scipy", "sklearn"], allow_torch=False)
    if not detect_isolation(config).level.startswith("bwrap"):
        pytest.skip("bubblewrap unusable: under process isolation the import hook is all there is")
    details = " ".join(detect_isolation(config).details)
    assert "absent from the sandbox's filesystem" in details and "torch" in details
    assert {"torch", "scipy", "sklearn"} <= set(forbidden_packages(config))
    src = textwrap.dedent('''\
        import sys, importlib
        def unhooked(names):
            sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "ImportBlocker"]
            got = []
            for n in names:
                try:
                    importlib.import_module("".join(n))
                    got.append("".join(n))
                except BaseException:
                    pass
            return got
        ''')
    with WorkerSession(src, config) as s:
        assert s.start().status == "ok"
        r = s.probe([{"let": "g", "call": "unhooked", "args": [[["to", "rch"], ["sci", "py"], ["skl", "earn"],
                                                                 ["num", "py"]]]}], {"g": "g"})
    assert r.status == "ok" and r.values["g"] == ["numpy"], r.values


def test_forbidden_packages_stay_absent_when_the_environment_is_reached_through_a_link(tmp_path):
    """A virtual environment reached through a symbolic link (``/opt/course/venv -> venv-2026``,
    a CI checkout whose .venv links to a shared one) is bound at both its paths; the masks go on
    both, so torch is absent there too."""
    import subprocess
    import sys

    from grader.sandbox import SandboxConfig, detect_isolation

    if not detect_isolation(SandboxConfig(allow_torch=False)).level.startswith("bwrap"):
        pytest.skip("bubblewrap unusable: under process isolation the import hook is all there is")
    if sys.prefix == sys.base_prefix:
        pytest.skip("not in a virtual environment")
    link = tmp_path / "env-link"
    link.symlink_to(os.path.realpath(sys.prefix), target_is_directory=True)
    python = link / "bin" / os.path.basename(sys.executable)
    script = textwrap.dedent('''\
        import sys
        from grader.sandbox import SandboxConfig, WorkerSession
        src = ("import sys, importlib\\n"
               "def unhooked(n):\\n"
               "    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != 'ImportBlocker']\\n"
               "    try:\\n"
               "        importlib.import_module(''.join(n))\\n"
               "        return 'imported'\\n"
               "    except BaseException as e:\\n"
               "        return type(e).__name__\\n")
        with WorkerSession(src, SandboxConfig(allow_torch=False)) as s:
            assert s.start().status == "ok"
            r = s.probe([{"let": "g", "call": "unhooked", "args": [["to", "rch"]]}], {"g": "g"})
        print(sys.prefix, r.status, r.values.get("g"))
        ''')
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    out = subprocess.run([str(python), "-c", script], capture_output=True, text=True, timeout=120, env=env,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    prefix, status, got = out.stdout.split()[-3:]
    assert prefix == str(link) and status == "ok"
    assert got == "ModuleNotFoundError", out.stdout


def test_process_isolation_says_the_hook_is_all_there_is():
    from grader.sandbox import SandboxConfig, detect_isolation

    details = " ".join(detect_isolation(SandboxConfig(isolation="process")).details)
    assert "import hook" in details and "WEAKER" in details
