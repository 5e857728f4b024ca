"""Check kind ``heldout_predictions``: the student's numpy model trained in the sandbox on a
dataset's training split, scored on the held-out split whose labels never leave the grader.

For numpy-only assignments (the ``milestone`` kind of :mod:`grader.checks.milestone` drives torch:
its setup imports torch, which such assignments forbid). The worker receives the training images
and labels and the held-out *images*; the held-out labels stay in ``plan.context`` and the
predictions that come back are scored here, in accuracy bands (partial credit)::

    [[check]]
    name = "TwoLayerNet trained on digits: held-out accuracy"
    kind = "heldout_predictions"
    target = "train"
    dataset = "digits"                 # a reference.data dataset (digits, mnist_subset, ...)
    flatten = true                     # images (N, 1, 8, 8) -> (N, 64) float64
    steps = [ { let = "model", call = "TwoLayerNet", kwargs = { in_features = 64, hidden = 64, classes = 10 } },
              { let = "history", call = "train", args = ["$model", "$x_train", "$y_train"] },
              { let = "pred", call = "predict", args = ["$model", "$x_test"] } ]
    predictions = "pred"               # the name holding the (N,) predicted labels
    history = "history"                # optional: a dict with a "loss" list -> training curve
    bands = [[0.95, 1.0], [0.90, 0.5]] # [threshold, fraction of the points], best first
    time_limit_s = 60                  # the probe's deadline (the whole build/train/predict)
    seed = 0                           # optional: numpy's global seed before the steps

Placeholders in step values: ``"$x_train"``, ``"$y_train"``, ``"$x_test"``, ``"$seed"``; any other
``"$name"`` refers to a name an earlier step bound (``let``). Before the student's steps the
grader seeds ``numpy.random`` (through the student module's ``__builtins__.__import__``, the way
the milestone kind does), so a model initialised with ``np.random`` is reproducible.
"""
from __future__ import annotations

import numpy as np

from .base import CheckDefinitionError, CheckKind, Part, Plan, register, require_target, worker_error_text
from .milestone import _labels, _validate_bands, history_curve, noise_note

PREFIX = "_cg_"
DATA_REFS = ("x_train", "y_train", "x_test")


def _fail(spec, message: str):
    raise CheckDefinitionError(f"check {spec.name!r}: {message}")


def load_split(spec):
    """(x_train, y_train, x_test, y_test) of the check's dataset; images flattened to float64
    ``(N, features)`` when ``flatten``."""
    from reference import data

    split = data.load(spec.get("dataset"))
    xs = [np.asarray(split.x_train), np.asarray(split.x_test)]
    if spec.get("flatten", False):
        xs = [x.reshape(len(x), -1) for x in xs]
    xs = [np.ascontiguousarray(x, dtype=np.float64) for x in xs]
    return xs[0], np.asarray(split.y_train, dtype=np.int64), xs[1], np.asarray(split.y_test, dtype=np.int64)


def _resolve(value, plan: Plan, arrays: dict, seed: int):
    if isinstance(value, str) and value.startswith("$"):
        name = value[1:]
        if name.startswith("$"):
            return name
        if name == "seed":
            return seed
        if name in arrays:
            refs = plan.context.setdefault("array_refs", {})
            if name not in refs:
                refs[name] = plan.array(arrays[name])
            return refs[name]
        return {"$ref": name}
    if isinstance(value, list):
        return [_resolve(v, plan, arrays, seed) for v in value]
    if isinstance(value, dict):
        return {"$dict": {k: _resolve(v, plan, arrays, seed) for k, v in value.items()}}
    return value


@register
class HeldoutPredictions(CheckKind):
    kind = "heldout_predictions"

    def validate(self, spec):
        from reference.data import DATASETS

        require_target(spec, "the student's training function")
        if spec.get("dataset") not in DATASETS:
            _fail(spec, f"dataset: must be one of {', '.join(DATASETS)}, got {spec.get('dataset')!r}")
        steps = spec.get("steps")
        if not isinstance(steps, list) or not steps or not all(isinstance(s, dict) for s in steps):
            _fail(spec, "steps: a non-empty list of step tables (let/call/get/set)")
        for i, s in enumerate(steps, 1):
            if len([k for k in ("call", "get", "set", "hasattr") if k in s]) != 1:
                _fail(spec, f"steps[{i}]: needs exactly one of call/get/set/hasattr")
            if str(s.get("let", "")).startswith(PREFIX):
                _fail(spec, f"steps[{i}].let: names starting with {PREFIX} are the grader's")
        if not isinstance(spec.get("predictions", "pred"), str):
            _fail(spec, "predictions: the name of the step result holding the predicted labels")
        _validate_bands(spec)
        t = spec.get("time_limit_s", 60)
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not t > 0:
            _fail(spec, f"time_limit_s: a positive number of seconds, got {t!r}")
        seed = spec.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            _fail(spec, f"seed: a non-negative int, got {seed!r}")

    def plan(self, spec, rng):
        x_train, y_train, x_test, y_test = load_split(spec)
        seed = int(spec.get("seed", int(rng.integers(0, 2**31 - 1))))
        plan = Plan([], {}, timeout=float(spec.get("time_limit_s", 60)),
                    context={"y_test": y_test, "seed": seed, "n_train": len(y_train)})
        arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test}   # never y_test
        plan.steps = [{"let": PREFIX + "np", "call": "__builtins__.__import__", "args": ["numpy"]},
                      {"call": PREFIX + "np.random.seed", "args": [seed % 2**32]}]
        for raw in spec.get("steps"):
            plan.steps.append({k: (_resolve(v, plan, arrays, seed) if k in ("args", "kwargs", "value") else v)
                               for k, v in raw.items()})
        plan.returns["pred"] = spec.get("predictions", "pred")
        if spec.get("history"):
            plan.returns["history"] = spec.get("history")
        return plan

    def judge(self, spec, plan, result):
        y = plan.context["y_test"]
        n = len(y)
        extra = {"kind": self.kind, "dataset": spec.get("dataset"), "n_test": n,
                 "wall_s": round(float(getattr(result, "seconds", 0.0) or 0.0), 3)}
        if spec.get("history"):
            curve, _, _ = history_curve(result.values.get("history"))
            if curve:
                extra["curve"] = curve
        pred, problem = _labels(result.values.get("pred"), n, "predictions")
        if pred is None:
            why = (f"your code did not finish within {plan.timeout:g} s: training must be faster (vectorize; "
                   "fewer epochs)" if result.status == "timeout" else
                   worker_error_text(result) if result.status != "ok" else problem)
            return [Part(spec.name, spec.points, 0.0, f"Not scored: {why}.", dict(extra, failed=True))]
        acc = float(np.mean(pred == y))
        bands = spec.get("bands", [[1.0, 1.0]])
        frac = next((float(f) for t, f in bands if acc >= t - 1e-12), 0.0)
        extra["accuracy"] = acc
        want = ", ".join(f"{t:.1%} for {f:.0%} of the points" for t, f in bands)
        lines = [f"Trained on {plan.context['n_train']} {spec.get('dataset')} training images in the sandbox "
                 f"({extra['wall_s']:.1f} s). Held-out accuracy: {acc:.2%} on {n} images ({want})."]
        note = noise_note(acc, [t for t, _ in bands], n)
        if note:
            lines.append(note)
            extra["within_noise"] = True
        if frac < 1:
            chance = float(np.max(np.bincount(y))) / n
            if acc <= chance + 0.05:
                lines.append("That is about chance level: the network did not learn. Check the sign of the update "
                             "(w ← w − lr·grad), the learning rate, that predictions are the argmax over classes "
                             "(axis 1), and that every layer's backward feeds the next.")
            else:
                lines.append("The network learns, but not enough: check the learning rate, the number of epochs, "
                             "the weight initialisation and that the gradients are averaged over the batch.")
            extra["failed"] = True
        if result.status != "ok":
            lines.append(f"(After predicting, {worker_error_text(result)}.)")
        return [Part(spec.name, spec.points, round(spec.points * frac, 6), "\n\n".join(lines), extra)]
