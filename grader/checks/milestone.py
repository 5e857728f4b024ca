"""Training milestones: the student's model trained in the sandbox, judged on held-out data.

Four kinds share one machinery (data sets, steps, seeds, budget, device):

``milestone`` — train under a compute budget, predict the held-out images, score the accuracy in
bands (partial credit); optionally a baseline's accuracy (e.g. training from scratch) must be beaten::

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
    test_subset = 800                  # optional: held-out images drawn per student (default: all)
    compare = { accuracy = 0.78, share = 0.4, margin = 0.0, label = "training from scratch",
                label_ru = "обучение с нуля" }       # label_ru: the label in Russian feedback
    batch_independence = { images = 200, fillers = 300, points = 1, min_agreement = 0.99 }
                                       # optional row: predict `images` held-out images again mixed
                                       # among noise `fillers`; the labels must not change (eval mode)

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
``overfit_small_batch`` — train on ``n`` (32) training images; the grader's evaluation of the
model on those same images must reach ``min_accuracy`` (1.0). ``loss_falls`` — the grader's
cross-entropy of the model on training images after ``train`` must be below ``(1 - min_drop)``
times the same before it. All three judge logits the grader's helper computes from the model
object (see "The sanity kinds" below), never the student's ``predict`` or reported history.

Honesty of the measurement:

* The worker receives training images and labels and the held-out *images* only; the held-out
  labels stay in ``plan.context``. Predictions come back as plain arrays and are scored here.
* The held-out images arrive in an order drawn per student from the secret check seed (and,
  with ``test_subset``, only that many of them, also drawn per student): a dataset's public order
  (the bundled MNIST file is sorted by class; splits use fixed seeds) carries no labels, so a
  prediction from position alone scores chance. Their count and size are the same for everyone.
* A comparison (``compare``) is against a fixed baseline accuracy of the check, the one the
  instructor measured for the baseline (e.g. the reference solution trained from scratch on the
  same few labels, best of several seeds), never against a run the submission performs itself:
  that run could be sabotaged to make any model look better.
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
import glob
import math
import os

import numpy as np

from ..i18n import localized, t
from .base import CheckDefinitionError, CheckKind, CheckSpec, Part, Plan, register, split_points, worker_error_text

DEVICES = ("cpu", "cuda")
FRAMEWORKS = ("torch", "numpy")
PREFIX = "_cg_"                 # names the grader's own steps bind in the worker namespace
NOISE_SE = 2.0                  # "within noise": |score - threshold| <= NOISE_SE standard errors
MAX_CURVE = 500                 # points per drawn series
MAX_SERIES = 8                  # series of a history drawn (and sent back by the worker)
MAX_HISTORY = 2000              # values per series the worker sends back (evenly subsampled)


# ---------------------------------------------------------------------------------------------
# device and data
# ---------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _cuda_in_grader() -> bool:
    # The sandbox reaches a GPU only through the /dev/nvidia* nodes it binds (sandbox/isolation.py):
    # without them there is no CUDA to grade on, and torch (seconds to import, before the worker
    # can even start) is not asked.
    if not glob.glob("/dev/nvidia*"):
        return False
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
    # the specs first: asking for CUDA imports torch, which a numpy assignment never needs
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
            note = t("training.gpu_dataset_missing", gpu_dataset=gpu_name, error=exc, dataset=name)
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

    def __init__(self, spec: CheckSpec, device: str, seed: int, order_rng: np.random.Generator | None = None):
        self.dataset, split, self.note = _load_split(spec, device)
        test_labels = spec.get("test_labels")
        if test_labels is not None:
            from reference.data import subset_by_labels
            held = subset_by_labels(split, test_labels)
            self.x_test, self.y_test = held.x_test, held.y_test
        else:
            self.x_test, self.y_test = split.x_test, split.y_test
        if order_rng is not None:
            # The held-out order (and with test_subset, which images) is drawn per student from the
            # secret check seed: a dataset's public order (sorted by class, a fixed split seed)
            # must not tell the labels by position.
            order = order_rng.permutation(len(self.y_test))
            n = spec.get("test_subset")
            if n is not None:
                order = order[:int(n)]
            self.x_test, self.y_test = self.x_test[order], self.y_test[order]
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
    names, owners = [], []
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
        owners += [None] * (len(plan.steps) - len(owners)) + [i, None]   # which student step (for errors)
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
    plan.context.update(n_setup=n_setup, step_names=names, n_student=len(student), owners=owners)
    return plan


def _step_of(plan: Plan, index) -> str:
    """The student's step (by its call name) that a worker error index points at."""
    if not isinstance(index, int):
        return ""
    if index < plan.context["n_setup"]:
        return t("training.step_setup", framework=plan.context.get("framework", "torch"))
    owners = plan.context["owners"]
    k = owners[index] if 0 <= index < len(owners) else None
    if k is not None:
        return t("training.step_in", step=plan.context["step_names"][k])
    if 0 <= index < len(plan.steps) and "grader" in plan.steps[index]:
        return t("training.step_grader_eval")
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
        advice = t("training.timeout_watch_budget" if ctx.get("budget_passed", True) else "training.timeout_faster")
        return t("training.timeout", budget=f"{ctx['budget_s']:g}", device=ctx["device"],
                 grace=f"{ctx['grace_s']:g}", advice=advice)
    if (plan.context["device"] == "cuda" and result.values.get("cuda") is False):
        return t("training.gpu_not_visible")
    where = _step_of(plan, (result.error or {}).get("step"))
    return worker_error_text(result) + (f" {where}" if where else "") + "."


def _labels(value, n: int) -> tuple[np.ndarray | None, str]:
    """Untrusted predictions -> int64 ``(n,)`` array, or None with the reason."""
    if value is None:
        return None, t("training.pred_missing")
    if isinstance(value, dict):
        return None, t("training.pred_unencodable", why=value.get("$unencodable") or t("training.unknown_type"))
    arr = np.asarray(value) if isinstance(value, np.ndarray) else None
    if arr is None:
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            return None, t("training.pred_not_labels")
    arr = np.array(arr, dtype=np.float64, copy=True)
    if arr.ndim == 2 and arr.shape[0] == n and arr.shape[1] > 1:
        return None, t("training.pred_logits", shape=arr.shape, n=n)
    arr = arr.reshape(-1) if arr.ndim == 2 and 1 in arr.shape else arr
    if arr.shape != (n,):
        return None, t("training.pred_shape", shape=arr.shape, n=n)
    if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
        return None, t("training.pred_not_integer")
    return arr.astype(np.int64), ""


def _not_enough_hint(acc: float, y: np.ndarray) -> str:
    """What to look at when the accuracy is below the full-marks band: chance level or not."""
    chance = float(np.max(np.bincount(np.asarray(y, dtype=np.int64)))) / len(y)
    return t("training.hint_chance" if acc <= chance + 0.05 else "training.hint_not_enough")


def noise_note(score: float, thresholds, n: int) -> str:
    """A sentence when ``score`` lies within NOISE_SE binomial standard errors of a threshold."""
    se = math.sqrt(max(score * (1 - score), 1.0 / n) / n)
    near = [x for x in thresholds if abs(score - x) <= NOISE_SE * se]
    if not near:
        return ""
    return t("training.noise_note", thresholds=", ".join(f"{x:.1%}" for x in near), n=n, se=f"{se:.2%}")


def _return_history(plan: Plan, name: str) -> None:
    """Return the student's history through the worker's bound (at most MAX_SERIES series of
    MAX_HISTORY values: a history of thousands of series never reaches the reply cap)."""
    plan.steps.append({"let": f"{PREFIX}history", "grader": "history", "path": str(name),
                       "kwargs": {"series": MAX_SERIES, "points": MAX_HISTORY}})
    plan.returns["history"] = f"{PREFIX}history"


def history_curve(value) -> tuple[dict | None, list[float] | None, str]:
    """A student's history (dict of equal-length lists; ``loss`` required) -> (curve, losses, problem).
    At most :data:`MAX_SERIES` series (``loss`` first) and :data:`MAX_CURVE` points each are drawn,
    whatever the worker sent."""
    if not isinstance(value, dict) or "loss" not in value:
        return None, None, t("training.history_missing")
    series = {}
    keys = ["loss"] + [k for k in value if k != "loss"]
    for key in keys:
        ys = value[key]
        if len(series) >= MAX_SERIES:
            break
        if key.startswith("$") or not isinstance(ys, (list, np.ndarray)):
            continue
        try:
            arr = np.array(ys, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            continue
        series[str(key)] = arr
    if "loss" not in series or series["loss"].size == 0:
        return None, None, t("training.history_bad_loss")
    n = series["loss"].size
    keep = {k: v for k, v in series.items() if v.size == n and k not in ("time", "epoch", "step")}
    step = max(1, math.ceil(n / MAX_CURVE))
    x = list(range(1, n + 1))[::step]
    curve = {"x": x, "series": {k: [float(u) if np.isfinite(u) else None for u in v[::step]]
                                for k, v in keep.items()}}
    return curve, [float(u) for u in series["loss"]], ""


# ---------------------------------------------------------------------------------------------
# kinds
# ---------------------------------------------------------------------------------------------
DEFAULT_TRAIN_STEPS = [
    {"let": "model", "call": "build_model"},
    {"let": "history", "call": "train", "args": ["$model", "$x_train", "$y_train"],
     "kwargs": {"budget_s": "$budget_s", "device": "$device"}},
    {"let": "pred", "call": "predict", "args": ["$model", "$x_test"], "kwargs": {"device": "$device"}},
]


# A torch optimizer's first construction imports torch._dynamo (1.6 s of CPU in every fresh worker,
# on the critical path of each submission's first training step): pooled workers of an assignment
# that trains with torch import it ahead (CheckKind.worker_imports; grader.sandbox.pool).
TRAIN_IMPORTS = ("torch._dynamo",)


class _Trains(CheckKind):
    """A kind whose probes train the student's model."""

    def worker_imports(self, spec: CheckSpec) -> tuple[str, ...]:
        return TRAIN_IMPORTS if _framework(spec) == "torch" else ()

    def trains_alike(self, spec: CheckSpec) -> bool:
        """Whether every student's run trains the same model: a visible check (one public seed for
        all). A hidden one draws its batch from the student's seed, so each trains another."""
        return spec.visible


@register
class Milestone(_Trains):
    """Accuracy on held-out data after training under a budget (see the module docstring)."""
    kind = "milestone"

    def validate(self, spec: CheckSpec) -> None:
        if spec.get("budget_s") is None:
            _fail(spec, "budget_s: required (seconds, or { cpu = ..., gpu = ... })")
        _validate_common(spec)
        _validate_bands(spec)
        if spec.get("metric", "accuracy") != "accuracy":
            _fail(spec, f"metric: only \"accuracy\" is supported, got {spec.get('metric')!r}")
        n = spec.get("test_subset")
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 10):
            _fail(spec, f"test_subset: the number of held-out images drawn per student, an int >= 10, got {n!r}")
        cmp = spec.get("compare")
        if cmp is not None:
            if not isinstance(cmp, dict):
                _fail(spec, "compare: a table with accuracy = <baseline accuracy> (share, margin, label optional)")
            if "predictions" in cmp:
                _fail(spec, "compare.predictions: a baseline the submission computes itself (its own scratch run) "
                            "can be sabotaged to win the comparison; give the baseline's accuracy instead "
                            "(compare.accuracy, measured on the reference solution's run)")
            acc = cmp.get("accuracy")
            if isinstance(acc, bool) or not isinstance(acc, (int, float)) or not 0 < acc < 1:
                _fail(spec, f"compare.accuracy: the baseline's held-out accuracy in (0, 1), got {acc!r}")
            unknown = set(cmp) - {"accuracy", "share", "margin", "label", "label_ru", "source"}
            if unknown:
                _fail(spec, f"compare: unknown keys {sorted(unknown)}")
            share = cmp.get("share", 0.5)
            if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share < 1:
                _fail(spec, f"compare.share: must be in (0, 1), got {share!r}")
        bi = spec.get("batch_independence")
        if bi is not None:
            if not isinstance(bi, dict) or set(bi) - {"images", "fillers", "points", "min_agreement"}:
                _fail(spec, "batch_independence: a table with images, fillers, points, min_agreement")
            for key, lo in (("images", 10), ("fillers", 1)):
                v = bi.get(key, 200)
                if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                    _fail(spec, f"batch_independence.{key}: an int >= {lo}, got {v!r}")
            v = bi.get("min_agreement", 0.99)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < 1:
                _fail(spec, f"batch_independence.min_agreement: must be in (0, 1), got {v!r}")
            v = bi.get("points", 0.15 * spec.points)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < spec.points:
                _fail(spec, f"batch_independence.points: the row's points, in (0, {spec.points:g}), got {v!r}")
            if (float(cmp.get("share", 0.5)) if cmp else 0.0) + _batch_share(spec) >= 1:
                _fail(spec, "batch_independence.points + compare.share: must leave points for the accuracy")

    def trains_alike(self, spec: CheckSpec) -> bool:
        """Visible, or ``seed`` fixed: the torch seed and the training sets then come from the
        check alone (:class:`_Data` draws only the held-out order, and ``batch_independence``'s
        images, from the student's seed), so students differ only in what is predicted."""
        return spec.visible or spec.get("seed") is not None

    def parts(self, spec: CheckSpec) -> list[tuple[str, float]]:
        """The accuracy row, then the comparison's and the batch-independence row when the check has them."""
        pts = split_points(spec.points, _weights(spec))
        names = {"main": spec.display_name, "compare": lambda: _beats_row(spec, spec.get("compare")),
                 "batch": lambda: _batch_row(spec)}
        return [(names[k]() if callable(names[k]) else names[k], pts[k]) for k in pts]

    def plan(self, spec: CheckSpec, rng: np.random.Generator) -> Plan:
        device = _device(spec)
        seed_rng = np.random.default_rng(rng.integers(0, 2**63 - 1))
        order_rng = np.random.default_rng(rng.integers(0, 2**63 - 1))
        data = _Data(spec, device, int(spec.get("seed", 0)), order_rng)
        plan = build_plan(spec, seed_rng, DEFAULT_TRAIN_STEPS, data=data, device=device)
        plan.returns["pred"] = spec.get("predictions", "pred")
        if spec.get("history"):
            _return_history(plan, spec.get("history"))
        plan.context.update(y_test=data.y_test, dataset=data.dataset, data_note=data.note)
        if spec.get("batch_independence") is not None:
            _mixed_prediction(spec, plan, data.x_test, order_rng)
        return plan

    def judge(self, spec: CheckSpec, plan: Plan, result) -> list[Part]:
        ctx = plan.context
        y = ctx["y_test"]
        n = len(y)
        cmp = spec.get("compare")
        bi = spec.get("batch_independence")
        pts = split_points(spec.points, _weights(spec))
        record = run_record(plan, result)
        extra = {"kind": spec.kind, "dataset": ctx["dataset"], "n_test": n, **record}
        if spec.get("history"):
            curve, _, _ = history_curve(result.values.get("history"))
            if curve:
                extra["curve"] = curve
        pred, problem = _labels(result.values.get("pred"), n)
        if result.status != "ok" and pred is None or result.status == "timeout":
            msg = _failure_text(spec, plan, result)
            parts = [Part(spec.display_name, pts["main"], 0.0, msg, dict(extra, failed=True))]
            if cmp:
                parts.append(Part(_beats_row(spec, cmp), pts["compare"], 0.0, t("training.compare_not_run"),
                                  {"kind": spec.kind, "failed": True}))
            if bi is not None:
                parts.append(Part(_batch_row(spec), pts["batch"], 0.0, t("training.compare_not_run"),
                                  {"kind": spec.kind, "failed": True}))
            return parts
        lines = [t("training.trained_on", device=record["device"], budget=f"{record['budget_s']:g}",
                   wall=f"{record['wall_s']:.1f}")]
        if ctx.get("data_note"):
            lines.append(ctx["data_note"] + ".")
        if pred is None:
            acc, frac = None, 0.0
            lines.append(t("training.not_scored", problem=problem))
        else:
            acc = float(np.mean(pred == y))
            bands = spec.get("bands", [[1.0, 1.0]])
            frac = next((float(f) for thr, f in bands if acc >= thr - 1e-12), 0.0)
            extra["accuracy"] = acc
            want = ", ".join(t("training.band", threshold=f"{thr:.1%}", fraction=f"{f:.0%}") for thr, f in bands)
            lines.append(t("training.held_out_accuracy", accuracy=f"{acc:.2%}", n=n, bands=want))
            note = noise_note(acc, [thr for thr, _ in bands], n)
            if note:
                lines.append(note)
                extra["within_noise"] = True
            if frac < 1:
                lines.append(_not_enough_hint(acc, y))
            if result.status != "ok":
                lines.append(t("training.after_predicting", error=worker_error_text(result)))
        main = Part(spec.display_name, pts["main"], round(pts["main"] * frac, 6), "\n\n".join(lines),
                    dict(extra, **({} if frac >= 1 else {"failed": True})))
        parts = [main]
        if cmp:
            parts.append(self._compare(spec, cmp, pts["compare"], acc, frac))
        if bi is not None:
            parts.append(_judge_batch(spec, plan, result, pts["batch"], pred))
        return parts

    @staticmethod
    def _compare(spec, cmp, points, acc, frac) -> Part:
        """The main accuracy against the baseline's, a fixed number of the check (``compare.accuracy``,
        measured by the instructor on the reference solution): nothing the submission runs can move it."""
        label = _compare_label(cmp)
        name = _beats_row(spec, cmp)
        if acc is None:
            return Part(name, points, 0.0, t("training.compare_not_scored"), {"kind": spec.kind, "failed": True})
        acc_b = float(cmp["accuracy"])
        margin = float(cmp.get("margin", 0.0))
        ok = acc > acc_b + margin and frac > 0   # beating a useless baseline with a useless model earns nothing
        verdict = (t("training.compare_better") if ok else t("training.compare_not_better", label=label)
                   if frac > 0 else t("training.compare_useless"))
        text = t("training.compare", accuracy=f"{acc:.2%}", baseline=f"{acc_b:.2%}", label=label,
                 margin=t("training.compare_margin", margin=f"{margin:.1%}") if margin else "", verdict=verdict)
        extra = {"kind": spec.kind, "accuracy": acc, "accuracy_compare": acc_b}
        if not ok:
            extra["failed"] = True
        return Part(name, points, points if ok else 0.0, text, extra)


def _mixed_prediction(spec: CheckSpec, plan: Plan, x_test: np.ndarray, rng: np.random.Generator) -> None:
    """Batch independence: the student's prediction step once more, on ``images`` of the held-out
    images mixed (in a drawn order) among ``fillers`` grader-made noise images. A model predicted
    in eval mode labels an image the same whatever its batch; one left in training mode (batch
    norm on the batch's own statistics, dropout on) does not."""
    bi = spec.get("batch_independence")
    name = spec.get("predictions", "pred")
    step = next((st for st in plan.steps[plan.context["n_setup"]:] if st.get("let") == name), None)
    if step is None:
        raise CheckDefinitionError(f"check {spec.name!r}: batch_independence: no step binds {name!r}")
    k = min(int(bi.get("images", 200)), len(x_test))
    chosen = np.sort(rng.choice(len(x_test), size=k, replace=False))
    x = np.asarray(x_test)
    lo, hi = float(np.min(x)), float(np.max(x))
    fillers = (lo + (hi - lo) * rng.random((int(bi.get("fillers", 200)),) + x.shape[1:])).astype(x.dtype)
    mixed = np.concatenate([x[chosen], fillers])
    order = rng.permutation(len(mixed))
    where = np.empty(len(mixed), dtype=np.int64)
    where[order] = np.arange(len(mixed))                 # mixed[i] sits at position where[i]
    ref_test = plan.context["array_refs"].get("x_test")
    if ref_test is None:
        raise CheckDefinitionError(f"check {spec.name!r}: batch_independence: the step binding {name!r} "
                                   "must predict \"$x_test\"")
    ref_mixed = plan.array(mixed[order])

    def swap(v):
        if v == ref_test:
            return ref_mixed
        if isinstance(v, list):
            return [swap(u) for u in v]
        if isinstance(v, dict):
            return {key: swap(u) for key, u in v.items()}
        return v
    again = {key: swap(v) for key, v in step.items()}
    again["let"] = f"{PREFIX}pred_mixed"
    plan.steps.append(again)
    plan.returns["pred_mixed"] = f"{PREFIX}pred_mixed"
    plan.context.update(batch_chosen=chosen, batch_where=where[:k], batch_n=len(mixed))


def _weights(spec: CheckSpec) -> dict[str, float]:
    """Shares of a milestone's points: ``main`` (the accuracy), ``compare``, ``batch``."""
    weights = {"main": 1.0}
    if spec.get("compare"):
        weights["compare"] = float(spec.get("compare").get("share", 0.5))
    if spec.get("batch_independence") is not None:
        weights["batch"] = _batch_share(spec)
    weights["main"] = 1.0 - sum(v for k, v in weights.items() if k != "main")
    return weights


def _batch_share(spec: CheckSpec) -> float:
    """The batch-independence row's share of the check's points (``points``, default 15 %)."""
    return float(spec.get("batch_independence").get("points", 0.15 * spec.points)) / float(spec.points)


def _batch_row(spec: CheckSpec) -> str:
    return t("training.row_batch", name=spec.display_name)


def _judge_batch(spec: CheckSpec, plan: Plan, result, points: float, pred) -> Part:
    """The held-out images' labels predicted among fillers against the same images' main labels."""
    ctx = plan.context
    name, extra = _batch_row(spec), {"kind": spec.kind}
    if pred is None:
        return Part(name, points, 0.0, t("training.compare_not_scored"), dict(extra, failed=True))
    mixed, problem = _labels(result.values.get("pred_mixed"), ctx["batch_n"])
    if mixed is None:
        why = problem if result.status == "ok" else worker_error_text(result)
        return Part(name, points, 0.0, t("training.not_scored", problem=why), dict(extra, failed=True))
    chosen = ctx["batch_chosen"]
    same = float(np.mean(pred[chosen] == mixed[ctx["batch_where"]]))
    need = float(spec.get("batch_independence").get("min_agreement", 0.99))
    ok = same >= need - 1e-12
    extra["agreement"] = same
    text = t("training.batch", n=len(chosen), fillers=ctx["batch_n"] - len(chosen), same=f"{same:.1%}",
             need=f"{need:.0%}")
    if not ok:
        text += " " + t("training.batch_hint")
        extra["failed"] = True
    return Part(name, points, points if ok else 0.0, text, extra)


def _compare_label(cmp: dict) -> str:
    """The baseline's name in the current language (``label``/``label_ru`` of ``compare``)."""
    return localized(cmp, "label") or t("training.compare_default_label")


def _beats_row(spec: CheckSpec, cmp: dict) -> str:
    """The comparison row's name: ``"<check>: beats <label>"`` in the current language."""
    return t("training.row_beats", name=spec.display_name, label=_compare_label(cmp))


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


# The sanity kinds judge evidence the grader computes itself (issue 11, class 7): logits from the
# grader's own evaluation of the student's model object in the worker (``{"grader": "classify"}``:
# eval mode, the grader's images, the worker's own code), parameter statistics enumerated from the
# model's modules, and losses computed here with the reference cross-entropy. What the student's
# ``predict`` returns or ``train`` reports as a history is not scored (the history is drawn as a
# curve only). ``framework = "numpy"`` models have no common interface to evaluate, so numpy checks
# still judge the student's own predictions (say so in such an assignment).
EVAL_NOISE = 0.01        # evaluation images: the training images + N(0, (0.01 * range)^2), shuffled


def _model_name(spec: CheckSpec) -> str:
    return str(spec.get("model", "model"))


def _array_ref(plan: Plan, name: str, value: np.ndarray) -> dict:
    """The plan's array for ``name`` (one frame however often it is used)."""
    refs = plan.context["array_refs"]
    if name not in refs:
        refs[name] = plan.array(value)
    return refs[name]


def _eval_images(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, n: int | None = None):
    """The grader's evaluation images: ``n`` of the training images (all by default) in a drawn
    order, with a little noise, so a lookup of the exact inputs (or of their position) fails."""
    order = rng.permutation(len(y))[:n]
    x = np.asarray(x, dtype=np.float64)[order]
    lo, hi = float(np.min(x)), float(np.max(x))
    noisy = np.clip(x + rng.standard_normal(x.shape) * EVAL_NOISE * max(hi - lo, 1e-6), lo, hi)
    return noisy.astype(np.float32), np.asarray(y)[order]


def _after_model(plan: Plan, spec: CheckSpec, steps: list[dict]) -> None:
    """Insert grader steps right after the student's step that binds the model (and its clock)."""
    name = _model_name(spec)
    for i, st in enumerate(plan.steps):
        if st.get("let") == name and i >= plan.context["n_setup"]:
            plan.steps[i + 2:i + 2] = steps   # + 1: the clock step after it
            plan.context["owners"][i + 2:i + 2] = [None] * len(steps)
            return
    raise CheckDefinitionError(f"check {spec.name!r}: no step binds the model {name!r} (let = \"{name}\")")


def _evidence(value) -> tuple[dict | None, str]:
    """The worker's ``classify`` answer, checked: logits array and parameter statistics."""
    if not isinstance(value, dict) or not isinstance(value.get("logits"), np.ndarray):
        return None, t("training.eval_failed")
    n = value.get("n_params")
    if type(n) is not int or n <= 0:
        return None, t("training.no_params")
    for key in ("param_sum", "param_norm"):
        if not isinstance(value.get(key), float) or not math.isfinite(value[key]):
            return None, t("training.params_not_finite")
    return value, ""


def _validate_model_bound(spec: CheckSpec, default_steps: list[dict]) -> None:
    """The grader evaluates the model the steps bind: one step must ``let`` it (``model`` key)."""
    if _torch_kind(spec):
        steps = spec.get("steps") or default_steps
        if not any(st.get("let") == _model_name(spec) for st in steps):
            _fail(spec, f"steps: no step binds the model {_model_name(spec)!r} (let = \"{_model_name(spec)}\"), "
                        "which the grader evaluates")


def _stats_changed(before, after) -> bool:
    return any(abs(after[k] - before[k]) > 1e-9 * (1.0 + abs(before[k])) for k in ("param_sum", "param_norm"))


def _cross_entropy(logits: np.ndarray, y: np.ndarray) -> float:
    from reference.nn import CrossEntropyLoss
    return float(CrossEntropyLoss()(np.array(logits, dtype=np.float64, copy=True), y))


def _torch_kind(spec: CheckSpec) -> bool:
    return _framework(spec) == "torch"


@register
class InitialLoss(CheckKind):
    """An untrained model's cross-entropy on ``n`` training images ≈ log C (the lecture's sanity
    check), from logits the grader's helper computes from the model (with gradients: logits that
    do not depend on the parameters, or are the same for every image, are not a model's)."""
    kind = "initial_loss"
    trains_alike = _Trains.trains_alike      # its batch, like theirs, is the student's unless visible
    DEFAULT_STEPS = [{"let": "model", "call": "build_model"}]

    def validate(self, spec: CheckSpec) -> None:
        _validate_common(spec)
        _validate_n(spec, 256)
        _validate_model_bound(spec, self.DEFAULT_STEPS)
        if not _torch_kind(spec):
            _fail(spec, "framework: initial_loss evaluates a torch model (framework = \"torch\")")
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
        plan.steps.append({"let": f"{PREFIX}eval", "grader": "classify",
                           "args": [{"$ref": _model_name(spec)}, _array_ref(plan, "x", x)],
                           "kwargs": {"grad": True}})
        plan.returns["eval"] = f"{PREFIX}eval"
        plan.context["y"] = y
        return plan

    def judge(self, spec: CheckSpec, plan: Plan, result) -> list[Part]:
        y = plan.context["y"]
        c = int(spec.get("classes", 10))
        extra = {"kind": spec.kind}
        if result.status != "ok":
            return [Part(spec.display_name, spec.points, 0.0, _failure_text(spec, plan, result),
                         dict(extra, failed=True))]

        def fail(text):
            return [Part(spec.display_name, spec.points, 0.0, text, dict(extra, failed=True))]

        ev, problem = _evidence(result.values.get("eval"))
        if ev is None:
            return fail(t("training.not_scored", problem=problem))
        logits = np.array(ev["logits"], dtype=np.float64, copy=True)
        if logits.shape != (len(y), c):
            return fail(t("training.initial_shape", shape=logits.shape, n=len(y), classes=c))
        if not np.all(np.isfinite(logits)):
            return fail(t("training.initial_not_finite"))
        grad = ev.get("grad_norm")
        if not isinstance(grad, float) or not grad > 0:
            return fail(t("training.not_scored", problem=t("training.initial_no_grad")))
        if float(np.max(np.ptp(logits, axis=0))) <= 1e-7 * (1.0 + float(np.max(np.abs(logits)))):
            return fail(t("training.not_scored", problem=t("training.initial_constant")))
        loss = _cross_entropy(logits, y)
        expected = math.log(c)
        tol = float(spec.get("tolerance", 0.15))
        ok = abs(loss - expected) <= tol * expected
        extra.update(loss=loss, expected=expected)
        text = t("training.initial_loss", n=len(y), loss=f"{loss:.3f}", classes=c, expected=f"{expected:.3f}",
                 tolerance=f"{tol:.0%}")
        if not ok:
            probs = np.exp(logits - logits.max(1, keepdims=True))
            probs /= probs.sum(1, keepdims=True)
            text += " " + t("training.initial_confident" if probs.max(1).mean() > 0.5 else "training.initial_raw_logits")
            extra["failed"] = True
        return [Part(spec.display_name, spec.points, spec.points if ok else 0.0, text, extra)]


@register
class OverfitSmallBatch(_Trains):
    """Training on ``n`` examples must reach ``min_accuracy`` on those same examples — judged by the
    grader's own evaluation of the model after ``train`` (the images shuffled, with a little noise),
    and the model's parameters must have changed during training."""
    kind = "overfit_small_batch"
    DEFAULT_STEPS = [{"let": "model", "call": "build_model"},
                     {"let": "history", "call": "train", "args": ["$model", "$x", "$y"],
                      "kwargs": {"budget_s": "$budget_s", "device": "$device"}}]
    NUMPY_STEPS = DEFAULT_STEPS + [{"let": "pred", "call": "predict", "args": ["$model", "$x"],
                                    "kwargs": {"device": "$device"}}]

    def validate(self, spec: CheckSpec) -> None:
        _validate_common(spec)
        _validate_n(spec, 32)
        _validate_model_bound(spec, self.DEFAULT_STEPS)
        m = spec.get("min_accuracy", 1.0)
        if isinstance(m, bool) or not isinstance(m, (int, float)) or not 0 < m <= 1:
            _fail(spec, f"min_accuracy: in (0, 1], got {m!r}")

    def plan(self, spec: CheckSpec, rng: np.random.Generator) -> Plan:
        device = _device(spec)
        x, y = _sample(spec, rng, device, int(spec.get("n", 32)))
        torch_kind = _torch_kind(spec)
        plan = build_plan(spec, rng, self.DEFAULT_STEPS if torch_kind else self.NUMPY_STEPS,
                          refs_extra={"x": x, "y": y}, default_budget=20.0, device=device)
        if not torch_kind:
            if spec.get("history", "history"):
                _return_history(plan, spec.get("history", "history"))
            plan.returns["pred"] = spec.get("predictions", "pred")
            plan.context["y"] = y
            return plan
        xe, ye = _eval_images(x, y, rng)
        model = {"$ref": _model_name(spec)}
        _after_model(plan, spec, [{"let": f"{PREFIX}before", "grader": "param_stats", "args": [model]}])
        plan.steps.append({"let": f"{PREFIX}eval", "grader": "classify", "args": [model, plan.array(xe)]})
        plan.returns.update(before=f"{PREFIX}before", eval=f"{PREFIX}eval")
        if spec.get("history", "history"):
            _return_history(plan, spec.get("history", "history"))
        plan.context["y"] = ye
        return plan

    def judge(self, spec: CheckSpec, plan: Plan, result) -> list[Part]:
        y = plan.context["y"]
        extra = {"kind": spec.kind, **run_record(plan, result)}
        curve, _, _ = history_curve(result.values.get("history"))
        if curve:
            extra["curve"] = curve
        if result.status != "ok":
            return [Part(spec.display_name, spec.points, 0.0, _failure_text(spec, plan, result),
                         dict(extra, failed=True))]
        graders = ""
        if _torch_kind(spec):
            ev, problem = _evidence(result.values.get("eval"))
            before = result.values.get("before")
            if ev is not None and not (isinstance(before, dict) and all(isinstance(before.get(k), float)
                                                                        for k in ("param_sum", "param_norm"))):
                ev, problem = None, t("training.params_unread")
            if ev is not None and not _stats_changed(before, ev):
                ev, problem = None, t("training.params_unchanged")
            pred = None
            if ev is not None:
                logits = np.asarray(ev["logits"])
                if logits.ndim != 2 or logits.shape[0] != len(y):
                    problem = t("training.logits_shape", shape=logits.shape, n=len(y))
                else:
                    pred = np.argmax(np.nan_to_num(logits, nan=-np.inf), axis=1)
            graders = t("training.overfit_by_grader")
        else:
            pred, problem = _labels(result.values.get("pred"), len(y))
        if pred is None:
            return [Part(spec.display_name, spec.points, 0.0, t("training.not_scored", problem=problem),
                         dict(extra, failed=True))]
        acc = float(np.mean(pred == y))
        need = float(spec.get("min_accuracy", 1.0))
        ok = acc >= need - 1e-12
        extra["accuracy"] = acc
        text = t("training.overfit", n=len(y), how=graders, accuracy=f"{acc:.1%}", need=f"{need:.0%}")
        if not ok:
            text += " " + t("training.overfit_hint")
            extra["failed"] = True
        return [Part(spec.display_name, spec.points, spec.points if ok else 0.0, text, extra)]


@register
class LossFalls(_Trains):
    """Training lowers the loss: the grader's cross-entropy of the model on ``eval_n`` (256) of the
    training images (shuffled, with a little noise) after ``train`` must be below ``(1 - min_drop)``
    times the same before it. The history ``train`` returns is drawn as a curve, not scored.
    (``framework = "numpy"``: the history's last quarter against its first, as reported.)"""
    kind = "loss_falls"
    DEFAULT_STEPS = [{"let": "model", "call": "build_model"},
                     {"let": "history", "call": "train", "args": ["$model", "$x", "$y"],
                      "kwargs": {"budget_s": "$budget_s", "device": "$device"}}]

    def validate(self, spec: CheckSpec) -> None:
        _validate_common(spec)
        _validate_n(spec, 1000)
        _validate_model_bound(spec, self.DEFAULT_STEPS)
        d = spec.get("min_drop", 0.1)
        if isinstance(d, bool) or not isinstance(d, (int, float)) or not 0 <= d < 1:
            _fail(spec, f"min_drop: in [0, 1), got {d!r}")
        e = spec.get("eval_n", 256)
        if isinstance(e, bool) or not isinstance(e, int) or e < 8:
            _fail(spec, f"eval_n: an int >= 8, got {e!r}")

    def plan(self, spec: CheckSpec, rng: np.random.Generator) -> Plan:
        device = _device(spec)
        x, y = _sample(spec, rng, device, int(spec.get("n", 1000)))
        plan = build_plan(spec, rng, self.DEFAULT_STEPS, refs_extra={"x": x, "y": y}, default_budget=30.0,
                          device=device)
        if _torch_kind(spec):
            xe, ye = _eval_images(x, y, rng, int(spec.get("eval_n", 256)))
            model = {"$ref": _model_name(spec)}
            ref = plan.array(xe)
            _after_model(plan, spec, [{"let": f"{PREFIX}before", "grader": "classify", "args": [model, ref]}])
            plan.steps.append({"let": f"{PREFIX}after", "grader": "classify", "args": [model, ref]})
            plan.returns.update(before=f"{PREFIX}before", after=f"{PREFIX}after")
            plan.context["y_eval"] = ye
        _return_history(plan, spec.get("history", "history"))
        return plan

    def judge(self, spec: CheckSpec, plan: Plan, result) -> list[Part]:
        extra = {"kind": spec.kind, **run_record(plan, result)}
        if result.status != "ok":
            return [Part(spec.display_name, spec.points, 0.0, _failure_text(spec, plan, result),
                         dict(extra, failed=True))]
        curve, losses, problem = history_curve(result.values.get("history"))
        if curve is not None:
            extra["curve"] = curve
        drop = float(spec.get("min_drop", 0.1))
        if _torch_kind(spec):
            return [self._judge_measured(spec, plan, result, extra, drop)]
        if curve is None:
            return [Part(spec.display_name, spec.points, 0.0, t("training.not_scored", problem=problem),
                         dict(extra, failed=True))]
        if len(losses) < 4:
            return [Part(spec.display_name, spec.points, 0.0, t("training.history_short", n=len(losses)),
                         dict(extra, failed=True))]
        q = len(losses) // 4
        first, last = float(np.mean(losses[:q])), float(np.mean(losses[-q:]))
        return [self._verdict(spec, extra, first, last, drop,
                              lambda a, b: t("training.loss_quarters", first=a, last=b))]

    def _judge_measured(self, spec, plan, result, extra, drop) -> Part:
        y = plan.context["y_eval"]
        ev = {}
        for key in ("before", "after"):
            ev[key], problem = _evidence(result.values.get(key))
            if ev[key] is None:
                return Part(spec.display_name, spec.points, 0.0, t("training.not_scored", problem=problem),
                            dict(extra, failed=True))
            logits = np.asarray(ev[key]["logits"])
            if logits.ndim != 2 or logits.shape[0] != len(y) or logits.shape[1] <= int(np.max(y)):
                problem = t("training.logits_shape", shape=logits.shape, n=len(y))
                return Part(spec.display_name, spec.points, 0.0, t("training.not_scored", problem=problem),
                            dict(extra, failed=True))
        first = _cross_entropy(ev["before"]["logits"], y) if np.all(np.isfinite(ev["before"]["logits"])) else math.nan
        last = _cross_entropy(ev["after"]["logits"], y) if np.all(np.isfinite(ev["after"]["logits"])) else math.nan
        return self._verdict(spec, extra, first, last, drop,
                             lambda a, b: t("training.loss_measured", n=len(y), first=a, last=b))

    @staticmethod
    def _verdict(spec, extra, first, last, drop, measured) -> Part:
        """``measured(first, last)``: the sentence naming the two losses (numbers formatted)."""
        ok = bool(np.isfinite(first) and np.isfinite(last) and last < (1 - drop) * first)
        extra.update(first_quarter=first, last_quarter=last)
        text = t("training.loss_must_fall", measured=measured(f"{first:.4g}", f"{last:.4g}"), drop=f"{drop:.0%}")
        if not ok:
            text += " " + t("training.loss_flat" if np.isfinite(first) and np.isfinite(last) else "training.loss_nan")
            extra["failed"] = True
        return Part(spec.display_name, spec.points, spec.points if ok else 0.0, text, extra)


TRAINING_KINDS = ("milestone", "initial_loss", "overfit_small_batch", "loss_falls")


# ---------------------------------------------------------------------------------------------
# shortcuts: weights loaded from files (static scan of the submission's source)
# ---------------------------------------------------------------------------------------------
from ..static import scan_shortcuts  # noqa: E402,F401  (the scan lives with the other static scans)
