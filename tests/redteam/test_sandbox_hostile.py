"""Red team, issue 11 (sandbox side): classes 2, 4, 7, 8 and 10.

Each test is an attack that succeeded before the fix; the slow ones run a real sandbox (under
bubblewrap where it is installed, as in CI)."""
from __future__ import annotations

import base64
import textwrap

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
