"""Training milestones: the student's model trained in the sandbox, judged on held-out data.

Four kinds share one machinery (data sets, steps, seeds, budget, device):

``milestone`` — train under a compute budget, predict the held-out images, score the accuracy in
bands (partial credit); optionally a second prediction (e.g. training from scratch) must be beaten::

    kind = "milestone"
    target = "train"
    dataset = "mnist_subset"           # reference.data name: mnist_subset | digits | mnist | ...
    dataset_gpu = "mnist"              # optional: used on a GPU when its folder is configured
    data_folder = "/data/mnist"        # optional folder for folder datasets (else $CONVGRADE_DATA_*)
    sets = { pre = { labels = [0, 1, 2, 3, 4] }, few = { labels = [5, 6, 7, 8, 9], per_class = 3 } }
    test_labels = [5, 6, 7, 8, 9]      # optional: held-out images of these labels only
    steps = [ { let = "model", call = "build_model" },
              { let = "history", call = "train", args = ["$model", "$x_train", "$y_train"],
                kwargs = { budget_s = "$budget_s", device = "$device" }, budget_share = 1.0 },
              { let = "pred", call = "predict", args = ["$model", "$x_test"], kwargs = { device = "$device" } } ]
    predictions = "pred"               # the namespace name holding the (N,) predicted labels
    history = "history"                # optional: a dict of lists (loss, accuracy) -> training curve
    budget_s = { cpu = 60, gpu = 20 }  # or one number for both
    grace_s = 10                       # the process tree is killed at budget + grace
    metric = "accuracy"
    bands = [[0.985, 1.0], [0.97, 0.5]]          # [threshold, fraction of the points], best first
    seed = 0                           # optional: torch/numpy/random seeds (default: from the check seed)
    threads = 1                        # torch.set_num_threads in the worker (torch only)
    framework = "torch"                # or "numpy": numpy-only assignments (see below)
    flatten = false                    # true: images (N, 1, H, W) -> (N, H*W) float64
    compare = { predictions = "pred_scratch", share = 0.4, margin = 0.0, label = "training from scratch" }

Placeholders in steps: ``"$x_<set>"`` / ``"$y_<set>"`` the arrays of a set (``train`` is the whole
training split unless ``labels``/``per_class`` restrict it), ``"$x_test"`` the held-out images,
``"$budget_s"`` the budget (times the step's ``budget_share``, default 1), ``"$device"`` ``"cpu"``
or ``"cuda"``, ``"$seed"``; any other ``"$name"`` is a reference to a name bound by ``let``
(dotted paths allowed); ``"$$..."`` is a literal string starting with ``$``.

``framework = "numpy"`` is for assignments that forbid torch (e.g. a numpy two-layer network): the
setup steps import only numpy, random and time, seed ``numpy.random`` and ``random``, and the
device is always ``"cpu"`` (no cuDNN flags, no CUDA record). ``flatten = true`` hands the images
over as ``(N, H*W)`` float64 rows, for models made of fully connected layers.

``initial_loss`` — an untrained model's logits on ``n`` training images: their cross-entropy
(computed here with the reference loss) must be within ``tolerance`` (relative) of ``log C``.
``overfit_small_batch`` — train on ``n`` (32) training images; predictions on those same images
must reach ``min_accuracy`` (1.0). ``loss_falls`` — the history returned by ``train``: the mean
loss of its last quarter must be below ``(1 - min_drop)`` times the mean of its first quarter.

Honesty of the measurement:

* The worker receives training images and labels and the held-out *images* only; the held-out
  labels stay in ``plan.context``. Predictions come back as plain arrays and are scored here.
* The budget is enforced from outside: the probe deadline is ``budget + grace`` (the sandbox
  kills the whole process tree at the deadline). One probe builds, trains and predicts, so a
  training run that overruns scores **zero** ("what it predicted in time": nothing). The grader's
  own clock for the probe is recorded as ``wall_s``; the worker's per-step clock (untrusted,
  shown for information) as ``train_s``.
* Seeds and (torch only) cuDNN determinism are set by probe steps before the student's code runs
  (``torch.manual_seed``, ``numpy.random.seed``, ``random.seed``, ``cudnn.deterministic = True``,
  ``cudnn.benchmark = False``, ``torch.use_deterministic_algorithms(True, warn_only=True)``,
  ``CUBLAS_WORKSPACE_CONFIG``), reaching the modules through the student module's
  ``__builtins__.__import__`` — the worker stays generic.
* Device: :func:`grading_device` (``$CONVGRADE_DEVICE``, else CUDA when the grader's torch sees
  it). On ``cuda`` the record adds the GPU's name and peak memory; the sandbox must then be
  started with ``SandboxConfig(gpu=True)`` (a worker that cannot see the GPU is reported as a
  grading-machine problem, not the student's).
* Noise: when the score is within two binomial standard errors ``sqrt(p(1-p)/n)`` of a band's
  threshold, the feedback says so.
"""
from __future__ import annotations

import ast
import functools
import math
import os

import numpy as np

from .base import CheckDefinitionError, CheckKind, CheckSpec, Part, Plan, register, split_points, worker_error_text

DEVICES = ("cpu", "cuda")
FRAMEWORKS = ("torch", "numpy")
PREFIX = "_cg_"                 # names the grader's own steps bind in the worker namespace
NOISE_SE = 2.0                  # "within noise": |score - threshold| <= NOISE_SE standard errors
MAX_CURVE = 500


# ---------------------------------------------------------------------------------------------
# device and data
# ---------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _cuda_in_grader() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def grading_device() -> str:
    """``"cuda"`` or ``"cpu"``: ``$CONVGRADE_DEVICE`` when set, else CUDA if this machine has it.

    ``grade.py`` must start the sandbox with ``SandboxConfig(gpu=True)`` when this is ``"cuda"``
    and the assignment has milestone checks (see :func:`needs_gpu`)."""
    forced = os.environ.get("CONVGRADE_DEVICE", "").strip().lower()
    if forced:
        if forced not in DEVICES:
            raise ValueError(f"CONVGRADE_DEVICE: must be one of {DEVICES}, got {forced!r}")
        return forced
    return "cuda" if _cuda_in_grader() else "cpu"


def needs_gpu(specs) -> bool:
    """True when some torch check of ``specs`` is a training kind and the grading device is CUDA."""
    # the cheap test first: grading_device() may import torch, which a numpy assignment never needs
    return any(s.kind in TRAINING_KINDS and _framework(s) == "torch" for s in specs) \
        and grading_device() == "cuda"


def _framework(spec: CheckSpec) -> str:
    """``"torch"`` (default) or ``"numpy"``: what the setup steps import."""
    return spec.get("framework", "torch")


def _device(spec: CheckSpec) -> str:
    """The device a check trains on: always ``"cpu"`` for numpy checks, else :func:`grading_device`."""
    return "cpu" if _framework(spec) == "numpy" else grading_device()


def _images(x: np.ndarray, spec: CheckSpec) -> np.ndarray:
    """Images as the check sends them: ``(N, C, H, W)`` unchanged, or ``(N, C*H*W)`` float64 when
    ``flatten``."""
    if not spec.get("flatten", False):
        return x
    x = np.asarray(x)
    return np.ascontiguousarray(x.reshape(len(x), -1), dtype=np.float64)


def _load_split(spec: CheckSpec, device: str):
    """(dataset name actually used, Split, note): ``dataset_gpu`` on cuda when it can be loaded."""
    from reference import data

    name = spec.get("dataset")
    note = ""
    gpu_name = spec.get("dataset_gpu")
    if device == "cuda" and gpu_name:
        try:
            return gpu_name, data.load(gpu_name, spec.get("data_folder")), note
        except data.DatasetError as exc:
            note = f"{gpu_name} is not available on this machine ({exc}); used {name}"
    return name, data.load(name, spec.get("data_folder") if name not in ("mnist_subset", "digits") else None), note


def _subset(split, table: dict, seed: int):
    from reference.data import Split, subset_by_labels

    if not table or table.get("labels") is None:
        if table and table.get("per_class") is not None:
            labels = np.unique(split.y_train).tolist()
            return subset_by_labels(split, labels, per_class=table["per_class"], seed=seed)
        return Split(split.x_train, split.y_train, split.x_test, split.y_test)
    return subset_by_labels(split, table["labels"], per_class=table.get("per_class"), seed=seed)


# ---------------------------------------------------------------------------------------------
# spec helpers
# ---------------------------------------------------------------------------------------------
def _fail(spec: CheckSpec, message: str):
    raise CheckDefinitionError(f"check {spec.name!r}: {message}")


def _budget(spec: CheckSpec, device: str, default: float) -> float:
    """The training budget in seconds on ``device`` (``budget_s`` number or ``{cpu, gpu}`` table)."""
    b = spec.get("budget_s", default)
    if isinstance(b, dict):
        b = b.get("gpu" if device == "cuda" else "cpu", b["cpu"])
    return float(b)


def _validate_budget(spec: CheckSpec) -> None:
    b = spec.get("budget_s")
    values = [] if b is None else [b]
    if isinstance(b, dict):
        if "cpu" not in b or set(b) - {"cpu", "gpu"}:
            _fail(spec, f"budget_s: a number or a table with keys cpu (required) and gpu, got {b!r}")
        values = list(b.values())
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
            _fail(spec, f"budget_s: budgets must be positive numbers of seconds, got {b!r}")
    g = spec.get("grace_s", 10)
    if isinstance(g, bool) or not isinstance(g, (int, float)) or g < 0:
        _fail(spec, f"grace_s: must be a non-negative number, got {g!r}")


def _validate_common(spec: CheckSpec, default_sets=("train",)) -> None:
    from reference.data import DATASETS

    if spec.get("dataset") not in DATASETS:
        _fail(spec, f"dataset: must be one of {', '.join(DATASETS)}, got {spec.get('dataset')!r}")
    if spec.get("dataset_gpu") is not None and spec.get("dataset_gpu") not in DATASETS:
        _fail(spec, f"dataset_gpu: must be one of {', '.join(DATASETS)}, got {spec.get('dataset_gpu')!r}")
    sets = spec.get("sets", {})
    if not isinstance(sets, dict) or not all(isinstance(v, dict) for v in sets.values()):
        _fail(spec, "sets: must be a table of tables { name = { labels = [...], per_class = n } }")
    for name, table in sets.items():
        if not name.isidentifier() or name == "test":
            _fail(spec, f"sets: bad set name {name!r} (an identifier, not 'test')")
        unknown = set(table) - {"labels", "per_class", "seed"}
        if unknown:
            _fail(spec, f"sets.{name}: unknown keys {sorted(unknown)}")
    if spec.get("framework", "torch") not in FRAMEWORKS:
        _fail(spec, f"framework: must be one of {', '.join(FRAMEWORKS)}, got {spec.get('framework')!r}")
    if not isinstance(spec.get("flatten", False), bool):
        _fail(spec, f"flatten: must be true or false, got {spec.get('flatten')!r}")
    for key in ("seed", "threads"):
        v = spec.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < (0 if key == "seed" else 1)):
            _fail(spec, f"{key}: must be a {'non-negative' if key == 'seed' else 'positive'} int, got {v!r}")
    steps = spec.get("steps")
    if steps is not None:
        if not isinstance(steps, list) or not steps or not all(isinstance(s, dict) for s in steps):
            _fail(spec, "steps: must be a non-empty list of step tables")
        for i, s in enumerate(steps, 1):
            ops = [k for k in ("call", "get", "set", "hasattr") if k in s]
            if len(ops) != 1:
                _fail(spec, f"steps[{i}]: needs exactly one of call/get/set/hasattr, got {sorted(s)}")
            share = s.get("budget_share", 1.0)
            if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
                _fail(spec, f"steps[{i}].budget_share: must be in (0, 1], got {share!r}")
            if str(s.get("let", "")).startswith(PREFIX):
                _fail(spec, f"steps[{i}].let: names starting with {PREFIX} are the grader's")
    _validate_budget(spec)


def _validate_bands(spec: CheckSpec) -> None:
    bands = spec.get("bands", [[1.0, 1.0]])
    ok = isinstance(bands, list) and bands and all(
        isinstance(b, list) and len(b) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                    for v in b) and 0 <= b[0] <= 1 and 0 < b[1] <= 1
        for b in bands)
    if not ok:
        _fail(spec, f"bands: a list of [threshold in 0..1, fraction in (0, 1]] pairs, got {bands!r}")
    if [b[0] for b in bands] != sorted((b[0] for b in bands), reverse=True) or \
            [b[1] for b in bands] != sorted((b[1] for b in bands), reverse=True):
        _fail(spec, "bands: thresholds and fractions must both decrease (best band first)")


class _Data:
    """The arrays of one plan: named sets (sent), held-out images (sent), held-out labels (kept)."""

    def __init__(self, spec: CheckSpec, device: str, seed: int):
        self.dataset, split, self.note = _load_split(spec, device)
        test_labels = spec.get("test_labels")
        if test_labels is not None:
            from reference.data import subset_by_labels
            held = subset_by_labels(split, test_labels)
            self.x_test, self.y_test = held.x_test, held.y_test
        else:
            self.x_test, self.y_test = split.x_test, split.y_test
        self.x_test = _images(self.x_test, spec)
        self.sets = {}
        tables = dict(spec.get("sets", {}))
        tables.setdefault("train", {})
        for name, table in tables.items():
            sub = _subset(split, table, int(table.get("seed", seed)))
            self.sets[name] = (_images(sub.x_train, spec), sub.y_train)
        self.split = split


def _arg(value, plan: Plan, refs: dict, budget: float, device: str, seed: int, share: float):
    """A TOML step value -> protocol value (placeholders resolved)."""
    if isinstance(value, str) and value.startswith("$"):
        name = value[1:]
        if name.startswith("$"):
            return name
        if name == "budget_s":
            return round(budget * share, 3)
        if name == "device":
            return device
        if name == "seed":
            return seed
        if name in refs:
            if name not in plan.context["array_refs"]:
                plan.context["array_refs"][name] = plan.array(refs[name])
            return plan.context["array_refs"][name]
        return {"$ref": name}
    if isinstance(value, list):
        return [_arg(v, plan, refs, budget, device, seed, share) for v in value]
    if isinstance(value, dict):
        return {"$dict": {k: _arg(v, plan, refs, budget, device, seed, share) for k, v in value.items()}}
    return value


def setup_steps(seed: int, threads: int, device: str, framework: str = "torch") -> list[dict]:
    """Steps run before the student's: imports via ``__builtins__``, seeds, determinism flags.

    ``framework="numpy"`` imports only numpy, random and time (numpy-only assignments forbid
    torch) and seeds ``numpy.random`` and ``random``; ``threads`` and ``device`` are then unused."""
    imp = "__builtins__.__import__"
    p = PREFIX
    if framework == "numpy":
        return [{"let": p + "np", "call": imp, "args": ["numpy"]},
                {"let": p + "random", "call": imp, "args": ["random"]},
                {"let": p + "time", "call": imp, "args": ["time"]},
                {"call": p + "np.random.seed", "args": [seed % 2**32]},
                {"call": p + "random.seed", "args": [seed]}]
    steps = [{"let": p + "torch", "call": imp, "args": ["torch"]},
             {"let": p + "np", "call": imp, "args": ["numpy"]},
             {"let": p + "random", "call": imp, "args": ["random"]},
             {"let": p + "os", "call": imp, "args": ["os"]},
             {"let": p + "time", "call": imp, "args": ["time"]},
             {"call": p + "os.environ.__setitem__", "args": ["CUBLAS_WORKSPACE_CONFIG", ":4096:8"]},
             {"call": p + "torch.set_num_threads", "args": [threads]},
             {"call": p + "torch.manual_seed", "args": [seed]},
             {"call": p + "np.random.seed", "args": [seed % 2**32]},
             {"call": p + "random.seed", "args": [seed]},
             {"set": p + "torch.backends.cudnn.deterministic", "value": True},
             {"set": p + "torch.backends.cudnn.benchmark", "value": False},
             {"call": p + "torch.use_deterministic_algorithms", "args": [True], "kwargs": {"warn_only": True}},
             {"let": p + "cuda", "call": p + "torch.cuda.is_available"}]
    if device == "cuda":
        steps.append({"call": p + "torch.cuda.reset_peak_memory_stats"})
    return steps


def build_plan(spec: CheckSpec, rng: np.random.Generator, default_steps: list[dict], refs_extra=None,
               default_budget: float = 60.0, data: _Data | None = None, device: str | None = None) -> Plan:
    """Setup steps + the student's steps (clocked) + GPU record; arrays and context filled."""
    framework = _framework(spec)
    device = "cpu" if framework == "numpy" else device or grading_device()
    seed = int(spec.get("seed", int(rng.integers(0, 2**31 - 1))))
    threads = int(spec.get("threads", 1))
    budget = _budget(spec, device, default_budget)
    grace = float(spec.get("grace_s", 10))
    refs = {}
    if data is not None:
        for name, (x, y) in data.sets.items():
            refs[f"x_{name}"], refs[f"y_{name}"] = x, y
        refs["x_test"] = data.x_test
    refs.update(refs_extra or {})
    student = spec.get("steps") or default_steps
    plan = Plan(steps=[], returns={}, timeout=budget + grace,
                context={"array_refs": {}, "device": device, "budget_s": budget, "grace_s": grace,
                         "seed": seed, "framework": framework,
                         "budget_passed": "$budget_s" in repr(student)})
    plan.steps = setup_steps(seed, threads, device, framework)
    n_setup = len(plan.steps)
    names = []
    plan.steps.append({"let": f"{PREFIX}t0", "call": f"{PREFIX}time.perf_counter"})
    for i, raw in enumerate(student):
        share = float(raw.get("budget_share", 1.0))
        step = {}
        for key, value in raw.items():
            if key == "budget_share":
                continue
            if key in ("args", "kwargs", "value"):
                step[key] = _arg(value, plan, refs, budget, device, seed, share)
            else:
                step[key] = value
        plan.steps.append(step)
        plan.steps.append({"let": f"{PREFIX}t{i + 1}", "call": f"{PREFIX}time.perf_counter"})
        names.append(raw.get("call") or raw.get("get") or raw.get("set") or raw.get("hasattr"))
        plan.returns[f"t{i + 1}"] = f"{PREFIX}t{i + 1}"
    plan.returns["t0"] = f"{PREFIX}t0"
    if framework == "torch":
        plan.returns["cuda"] = f"{PREFIX}cuda"
    if device == "cuda":
        plan.steps += [{"let": f"{PREFIX}gpu_name", "call": f"{PREFIX}torch.cuda.get_device_name", "args": [0]},
                       {"let": f"{PREFIX}gpu_peak", "call": f"{PREFIX}torch.cuda.max_memory_allocated"}]
        plan.returns.update(gpu_name=f"{PREFIX}gpu_name", gpu_peak=f"{PREFIX}gpu_peak")
    plan.context.update(n_setup=n_setup, step_names=names, n_student=len(student))
    return plan


def _step_of(plan: Plan, index) -> str:
    """The student's step (by its call name) that a worker error index points at."""
    if not isinstance(index, int):
        return ""
    i = index - plan.context["n_setup"]
    if i < 0:
        return (f"while the grader prepared the run (seeds, {plan.context.get('framework', 'torch')} import)")
    k = (i - 1) // 2
    if 0 <= k < plan.context["n_student"]:
        return f"in step `{plan.context['step_names'][k]}`"
    return ""


def run_record(plan: Plan, result) -> dict:
    """``device``, ``wall_s`` (grader clock), ``train_s`` (worker clock), GPU name and peak memory."""
    rec = {"device": plan.context["device"], "budget_s": plan.context["budget_s"],
           "wall_s": round(float(getattr(result, "seconds", 0.0) or 0.0), 3)}
    v = result.values
    ts = [v.get(f"t{i}") for i in range(plan.context["n_student"] + 1)]
    if all(isinstance(t, (int, float)) and not isinstance(t, bool) for t in ts[:2]):
        steps = []
        for k, name in enumerate(plan.context["step_names"]):
            a, b = ts[k], ts[k + 1]
            if isinstance(a, (int, float)) and isinstance(b, (int, float)):
                steps.append([name, round(float(b) - float(a), 3)])
        rec["step_s"] = steps          # [[step's call, seconds by the worker's clock], ...]
    if plan.context["device"] == "cuda":
        rec["gpu_name"] = v.get("gpu_name") if isinstance(v.get("gpu_name"), str) else None
        peak = v.get("gpu_peak")
        rec["peak_gpu_mb"] = round(float(peak) / 2**20, 1) if isinstance(peak, (int, float)) else None
    else:
        rec["gpu_name"] = None
        rec["peak_gpu_mb"] = None
    return rec


def _failure_text(spec: CheckSpec, plan: Plan, result) -> str:
    ctx = plan.context
    if result.status == "timeout":
        return (f"Your code did not finish within the budget: {ctx['budget_s']:g} s for training on "
                f"{ctx['device']} plus {ctx['grace_s']:g} s of grace for building the model and predicting. "
                "The run was stopped and scores zero (nothing was predicted in time). "
                + ("Make `train` watch `budget_s` and stop before it runs out." if ctx.get("budget_passed", True)
                   else "Training must be faster (vectorize; fewer epochs)."))
    if (plan.context["device"] == "cuda" and result.values.get("cuda") is False):
        return ("The grading machine has a GPU but the sandbox could not see it (the sandbox must be started "
                "with gpu=True). This is not your fault; your TA has been told.")
    where = _step_of(plan, (result.error or {}).get("step"))
    return f"{worker_error_text(result)}" + (f" {where}" if where else "") + "."


def _labels(value, n: int, what: str) -> tuple[np.ndarray | None, str]:
    """Untrusted predictions -> int64 ``(n,)`` array, or None with the reason."""
    if value is None:
        return None, f"no {what} came back"
    if isinstance(value, dict):
        return None, f"your {what} could not be sent back ({value.get('$unencodable', 'unknown type')})"
    arr = np.asarray(value) if isinstance(value, np.ndarray) else None
    if arr is None:
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            return None, f"your {what} is not an array of labels"
    arr = np.array(arr, dtype=np.float64, copy=True)
    if arr.ndim == 2 and arr.shape[0] == n and arr.shape[1] > 1:
        return None, (f"your {what} has shape {arr.shape}: return one label per image, shape ({n},) "
                      "(did you return the logits? take `argmax(1)`)")
    arr = arr.reshape(-1) if arr.ndim == 2 and 1 in arr.shape else arr
    if arr.shape != (n,):
        return None, f"your {what} has shape {arr.shape}, expected ({n},): one label per image"
    if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
        return None, f"your {what} holds non-integer values; return class indices"
    return arr.astype(np.int64), ""


def _not_enough_hint(acc: float, y: np.ndarray) -> str:
    """What to look at when the accuracy is below the full-marks band: chance level or not."""
    chance = float(np.max(np.bincount(np.asarray(y, dtype=np.int64)))) / len(y)
    if acc <= chance + 0.05:
        return ("That is about chance level: the network did not learn. Check the sign of the update "
                "(w ← w − lr·grad), the learning rate, that predictions are the argmax over classes "
                "(axis 1), and that every layer's backward feeds the next.")
    return ("The network learns, but not enough: check the learning rate, the number of epochs, "
            "the weight initialisation and that the gradients are averaged over the batch.")


def noise_note(score: float, thresholds, n: int) -> str:
    """A sentence when ``score`` lies within NOISE_SE binomial standard errors of a threshold."""
    se = math.sqrt(max(score * (1 - score), 1.0 / n) / n)
    near = [t for t in thresholds if abs(score - t) <= NOISE_SE * se]
    if not near:
        return ""
    return (f"Note: your score is within noise of the threshold {', '.join(f'{t:.1%}' for t in near)} "
            f"(one standard error on {n} held-out images is {se:.2%}); a re-run with another seed could land "
            "on the other side.")


def history_curve(value) -> tuple[dict | None, list[float] | None, str]:
    """A student's history (dict of equal-length lists; ``loss`` required) -> (curve, losses, problem)."""
    if not isinstance(value, dict) or "loss" not in value:
        return None, None, "`train` must return a history: a dict with a list under \"loss\""
    series = {}
    for key, ys in value.items():
        if key.startswith("$") or not isinstance(ys, (list, np.ndarray)):
            continue
        try:
            arr = np.array(ys, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            continue
        series[str(key)] = arr
    if "loss" not in series or series["loss"].size == 0:
        return None, None, "the history's \"loss\" is not a non-empty list of numbers"
    n = series["loss"].size
    keep = {k: v for k, v in series.items() if v.size == n and k not in ("time", "epoch", "step")}
    step = max(1, math.ceil(n / MAX_CURVE))
    x = list(range(1, n + 1))[::step]
    curve = {"x": x, "series": {k: [float(t) if np.isfinite(t) else None for t in v[::step]]
                                for k, v in keep.items()}}
    return curve, [float(t) for t in series["loss"]], ""


# ---------------------------------------------------------------------------------------------
# kinds
# ---------------------------------------------------------------------------------------------
DEFAULT_TRAIN_STEPS = [
    {"let": "model", "call": "build_model"},
    {"let": "history", "call": "train", "args": ["$model", "$x_train", "$y_train"],
     "kwargs": {"budget_s": "$budget_s", "device": "$device"}},
    {"let": "pred", "call": "predict", "args": ["$model", "$x_test"], "kwargs": {"device": "$device"}},
]


@register
class Milestone(CheckKind):
    """Accuracy on held-out data after training under a budget (see the module docstring)."""
    kind = "milestone"

    def validate(self, spec: CheckSpec) -> None:
        if spec.get("budget_s") is None:
            _fail(spec, "budget_s: required (seconds, or { cpu = ..., gpu = ... })")
        _validate_common(spec)
        _validate_bands(spec)
        if spec.get("metric", "accuracy") != "accuracy":
            _fail(spec, f"metric: only \"accuracy\" is supported, got {spec.get('metric')!r}")
        cmp = spec.get("compare")
        if cmp is not None:
            if not isinstance(cmp, dict) or not isinstance(cmp.get("predictions"), str):
                _fail(spec, "compare: a table with predictions = \"<name>\" (share, margin, label optional)")
            share = cmp.get("share", 0.5)
            if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share < 1:
                _fail(spec, f"compare.share: must be in (0, 1), got {share!r}")

    def plan(self, spec: CheckSpec, rng: np.random.Generator) -> Plan:
        device = _device(spec)
        seed_rng = np.random.default_rng(rng.integers(0, 2**63 - 1))
        data = _Data(spec, device, int(spec.get("seed", 0)))
        plan = build_plan(spec, seed_rng, DEFAULT_TRAIN_STEPS, data=data, device=device)
        plan.returns["pred"] = spec.get("predictions", "pred")
        if spec.get("history"):
            plan.returns["history"] = spec.get("history")
        cmp = spec.get("compare")
        if cmp:
            plan.returns["pred_compare"] = cmp["predictions"]
        plan.context.update(y_test=data.y_test, dataset=data.dataset, data_note=data.note)
        return plan

    def judge(self, spec: CheckSpec, plan: Plan, result) -> list[Part]:
        ctx = plan.context
        y = ctx["y_test"]
        n = len(y)
        cmp = spec.get("compare")
        weights = {"main": 1.0 - float(cmp.get("share", 0.5))} if cmp else {"main": 1.0}
        if cmp:
            weights["compare"] = float(cmp.get("share", 0.5))
        pts = split_points(spec.points, weights)
        record = run_record(plan, result)
        extra = {"kind": spec.kind, "dataset": ctx["dataset"], "n_test": n, **record}
        if spec.get("history"):
            curve, _, _ = history_curve(result.values.get("history"))
            if curve:
                extra["curve"] = curve
        pred, problem = _labels(result.values.get("pred"), n, "predictions")
        if result.status != "ok" and pred is None or result.status == "timeout":
            msg = _failure_text(spec, plan, result)
            parts = [Part(spec.name, pts["main"], 0.0, msg, dict(extra, failed=True))]
            if cmp:
                parts.append(Part(f"{spec.name}: beats {cmp.get('label', 'the comparison')}", pts["compare"], 0.0,
                                  "Not judged: the main run did not finish.", {"kind": spec.kind, "failed": True}))
            return parts
        lines = [f"Trained on {record['device']} (budget {record['budget_s']:g} s); the run took "
                 f"{record['wall_s']:.1f} s."]
        if ctx.get("data_note"):
            lines.append(ctx["data_note"] + ".")
        if pred is None:
            acc, frac = None, 0.0
            lines.append(f"Not scored: {problem}.")
        else:
            acc = float(np.mean(pred == y))
            bands = spec.get("bands", [[1.0, 1.0]])
            frac = next((float(f) for t, f in bands if acc >= t - 1e-12), 0.0)
            extra["accuracy"] = acc
            want = ", ".join(f"{t:.1%} for {f:.0%} of the points" for t, f in bands)
            lines.append(f"Held-out accuracy: {acc:.2%} on {n} images ({want}).")
            note = noise_note(acc, [t for t, _ in bands], n)
            if note:
                lines.append(note)
                extra["within_noise"] = True
            if frac < 1:
                lines.append(_not_enough_hint(acc, y))
            if result.status != "ok":
                lines.append(f"(After predicting, {worker_error_text(result)}.)")
        main = Part(spec.name, pts["main"], round(pts["main"] * frac, 6), "\n\n".join(lines),
                    dict(extra, **({} if frac >= 1 else {"failed": True})))
        parts = [main]
        if cmp:
            parts.append(self._compare(spec, cmp, pts["compare"], acc, frac, result, y))
        return parts

    @staticmethod
    def _compare(spec, cmp, points, acc, frac, result, y) -> Part:
        label = cmp.get("label", "the comparison")
        name = f"{spec.name}: beats {label}"
        other, problem = _labels(result.values.get("pred_compare"), len(y), f"predictions of {label}")
        if acc is None or other is None:
            return Part(name, points, 0.0, f"Not judged: {problem or 'the main predictions were not scored'}.",
                        {"kind": spec.kind, "failed": True})
        acc_b = float(np.mean(other == y))
        margin = float(cmp.get("margin", 0.0))
        ok = acc > acc_b + margin and frac > 0   # beating a useless baseline with a useless model earns nothing
        text = (f"Accuracy {acc:.2%} vs {acc_b:.2%} for {label}"
                + (f" (must be higher by more than {margin:.1%})" if margin else "") + ": "
                + ("better, as expected." if ok else f"not better than {label}." if frac > 0 else
                   "not credited: the main accuracy is below every band."))
        extra = {"kind": spec.kind, "accuracy": acc, "accuracy_compare": acc_b}
        if not ok:
            extra["failed"] = True
        return Part(name, points, points if ok else 0.0, text, extra)


def _sample(spec: CheckSpec, rng: np.random.Generator, device: str, n: int):
    """``n`` training examples drawn by ``rng`` (all classes represented when n >= classes)."""
    _, split, _ = _load_split(spec, device)
    sets = spec.get("sets", {})
    if "train" in sets:
        sub = _subset(split, sets["train"], int(sets["train"].get("seed", 0)))
        x, y = sub.x_train, sub.y_train
    else:
        x, y = split.x_train, split.y_train
    if n > len(y):
        raise CheckDefinitionError(f"check {spec.name!r}: n = {n} but only {len(y)} training examples")
    idx = np.sort(rng.choice(len(y), size=n, replace=False))
    return _images(x[idx], spec), y[idx]


def _validate_n(spec: CheckSpec, default: int) -> None:
    n = spec.get("n", default)
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        _fail(spec, f"n: must be an int >= 2, got {n!r}")


@register
class InitialLoss(CheckKind):
    """An untrained model's cross-entropy on ``n`` training images ≈ log C (the lecture's sanity check)."""
    kind = "initial_loss"
    DEFAULT_STEPS = [{"let": "model", "call": "build_model"},
                     {"call": "model.eval"},
                     {"let": "xt", "call": "_cg_torch.as_tensor", "args": ["$x"]},
                     {"let": "logits", "call": "model", "args": ["$xt"]}]

    def validate(self, spec: CheckSpec) -> None:
        _validate_common(spec)
        _validate_n(spec, 256)
        tol = spec.get("tolerance", 0.15)
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 < tol < 1:
            _fail(spec, f"tolerance: a relative tolerance in (0, 1), got {tol!r}")
        c = spec.get("classes", 10)
        if isinstance(c, bool) or not isinstance(c, int) or c < 2:
            _fail(spec, f"classes: an int >= 2, got {c!r}")

    def plan(self, spec: CheckSpec, rng: np.random.Generator) -> Plan:
        device = _device(spec)
        x, y = _sample(spec, rng, device, int(spec.get("n", 256)))
        plan = build_plan(spec, rng, self.DEFAULT_STEPS, refs_extra={"x": x, "y": y}, default_budget=20.0,
                          device=device)
        plan.returns["logits"] = spec.get("logits", "logits")
        plan.context["y"] = y
        return plan

    def judge(self, spec: CheckSpec, plan: Plan, result) -> list[Part]:
        from reference.nn import CrossEntropyLoss

        y = plan.context["y"]
        c = int(spec.get("classes", 10))
        extra = {"kind": spec.kind}
        logits = result.values.get("logits")
        if result.status != "ok" or not isinstance(logits, np.ndarray):
            msg = _failure_text(spec, plan, result) if result.status != "ok" else \
                "The model's output could not be read back as an array of logits."
            return [Part(spec.name, spec.points, 0.0, msg, dict(extra, failed=True))]
        logits = np.array(logits, dtype=np.float64, copy=True)
        if logits.shape != (len(y), c):
            return [Part(spec.name, spec.points, 0.0,
                         f"The untrained model's output has shape {logits.shape}; expected ({len(y)}, {c}) logits "
                         f"for {len(y)} images and {c} classes.", dict(extra, failed=True))]
        if not np.all(np.isfinite(logits)):
            return [Part(spec.name, spec.points, 0.0, "The untrained model's logits contain NaN or inf.",
                         dict(extra, failed=True))]
        loss = float(CrossEntropyLoss()(logits, y))
        expected = math.log(c)
        tol = float(spec.get("tolerance", 0.15))
        ok = abs(loss - expected) <= tol * expected
        extra.update(loss=loss, expected=expected)
        text = (f"Cross-entropy of the untrained model on {len(y)} training images: {loss:.3f}; "
                f"expected about log {c} = {expected:.3f} (within {tol:.0%}).")
        if not ok:
            probs = np.exp(logits - logits.max(1, keepdims=True))
            probs /= probs.sum(1, keepdims=True)
            hint = (" The model is very confident before training: the last layer's initial weights or "
                    "biases are too large." if probs.max(1).mean() > 0.5 else
                    " Check that the model outputs raw logits (no softmax inside) and that the last layer "
                    "has one output per class.")
            text += hint
            extra["failed"] = True
        return [Part(spec.name, spec.points, spec.points if ok else 0.0, text, extra)]


@register
class OverfitSmallBatch(CheckKind):
    """Training on ``n`` examples must reach ``min_accuracy`` on those same examples."""
    kind = "overfit_small_batch"
    DEFAULT_STEPS = [{"let": "model", "call": "build_model"},
                     {"let": "history", "call": "train", "args": ["$model", "$x", "$y"],
                      "kwargs": {"budget_s": "$budget_s", "device": "$device"}},
                     {"let": "pred", "call": "predict", "args": ["$model", "$x"], "kwargs": {"device": "$device"}}]

    def validate(self, spec: CheckSpec) -> None:
        _validate_common(spec)
        _validate_n(spec, 32)
        m = spec.get("min_accuracy", 1.0)
        if isinstance(m, bool) or not isinstance(m, (int, float)) or not 0 < m <= 1:
            _fail(spec, f"min_accuracy: in (0, 1], got {m!r}")

    def plan(self, spec: CheckSpec, rng: np.random.Generator) -> Plan:
        device = _device(spec)
        x, y = _sample(spec, rng, device, int(spec.get("n", 32)))
        plan = build_plan(spec, rng, self.DEFAULT_STEPS, refs_extra={"x": x, "y": y}, default_budget=20.0,
                          device=device)
        plan.returns["pred"] = spec.get("predictions", "pred")
        if spec.get("history", "history"):
            plan.returns["history"] = spec.get("history", "history")
        plan.context["y"] = y
        return plan

    def judge(self, spec: CheckSpec, plan: Plan, result) -> list[Part]:
        y = plan.context["y"]
        extra = {"kind": spec.kind, **run_record(plan, result)}
        curve, _, _ = history_curve(result.values.get("history"))
        if curve:
            extra["curve"] = curve
        pred, problem = _labels(result.values.get("pred"), len(y), "predictions")
        if result.status != "ok" or pred is None:
            msg = _failure_text(spec, plan, result) if result.status != "ok" else f"Not scored: {problem}."
            return [Part(spec.name, spec.points, 0.0, msg, dict(extra, failed=True))]
        acc = float(np.mean(pred == y))
        need = float(spec.get("min_accuracy", 1.0))
        ok = acc >= need - 1e-12
        extra["accuracy"] = acc
        text = (f"After training on {len(y)} images, accuracy on those same images: {acc:.1%} "
                f"(need {need:.0%}).")
        if not ok:
            text += (" A network this size should memorize a small batch: if it cannot, the training loop is "
                     "broken (learning rate, zero_grad/step order, labels, or the loss).")
            extra["failed"] = True
        return [Part(spec.name, spec.points, spec.points if ok else 0.0, text, extra)]


@register
class LossFalls(CheckKind):
    """The loss history returned by ``train`` falls: mean of the last quarter < first quarter."""
    kind = "loss_falls"
    DEFAULT_STEPS = [{"let": "model", "call": "build_model"},
                     {"let": "history", "call": "train", "args": ["$model", "$x", "$y"],
                      "kwargs": {"budget_s": "$budget_s", "device": "$device"}}]

    def validate(self, spec: CheckSpec) -> None:
        _validate_common(spec)
        _validate_n(spec, 1000)
        d = spec.get("min_drop", 0.1)
        if isinstance(d, bool) or not isinstance(d, (int, float)) or not 0 <= d < 1:
            _fail(spec, f"min_drop: in [0, 1), got {d!r}")

    def plan(self, spec: CheckSpec, rng: np.random.Generator) -> Plan:
        device = _device(spec)
        x, y = _sample(spec, rng, device, int(spec.get("n", 1000)))
        plan = build_plan(spec, rng, self.DEFAULT_STEPS, refs_extra={"x": x, "y": y}, default_budget=30.0,
                          device=device)
        plan.returns["history"] = spec.get("history", "history")
        return plan

    def judge(self, spec: CheckSpec, plan: Plan, result) -> list[Part]:
        extra = {"kind": spec.kind, **run_record(plan, result)}
        if result.status != "ok":
            return [Part(spec.name, spec.points, 0.0, _failure_text(spec, plan, result), dict(extra, failed=True))]
        curve, losses, problem = history_curve(result.values.get("history"))
        if curve is None:
            return [Part(spec.name, spec.points, 0.0, f"Not scored: {problem}.", dict(extra, failed=True))]
        extra["curve"] = curve
        if len(losses) < 4:
            return [Part(spec.name, spec.points, 0.0,
                         f"The history holds {len(losses)} loss values; at least 4 are needed to see a trend "
                         "(record one per epoch or per few steps).", dict(extra, failed=True))]
        q = len(losses) // 4
        first, last = float(np.mean(losses[:q])), float(np.mean(losses[-q:]))
        drop = float(spec.get("min_drop", 0.1))
        ok = bool(np.isfinite(first) and np.isfinite(last) and last < (1 - drop) * first)
        extra.update(first_quarter=first, last_quarter=last)
        text = (f"Mean loss over the first quarter of training: {first:.4g}; over the last quarter: {last:.4g} "
                f"(must fall by more than {drop:.0%}).")
        if not ok:
            text += (" The loss became NaN/inf: the learning rate is probably far too large." if not
                     (np.isfinite(first) and np.isfinite(last)) else
                     " The loss does not fall: check the learning rate, that the optimizer steps, and that "
                     "gradients are zeroed each step.")
            extra["failed"] = True
        return [Part(spec.name, spec.points, spec.points if ok else 0.0, text, extra)]


TRAINING_KINDS = ("milestone", "initial_loss", "overfit_small_batch", "loss_falls")


# ---------------------------------------------------------------------------------------------
# shortcuts: weights loaded from files (static scan of the submission's source)
# ---------------------------------------------------------------------------------------------
from ..static import scan_shortcuts  # noqa: E402,F401  (the scan lives with the other static scans)
