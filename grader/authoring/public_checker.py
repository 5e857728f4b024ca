"""convgrade public checks, runnable inside the student's notebook (shipped as ``convgrade_public.py``).

Self-contained: numpy only. The release step (``convgrade release``) stores, for every *visible*
check of the assignment, the probe the grader would run (constructor arguments, parameters,
inputs, all drawn from the public seed) and the expected answers in ``public_checks.json`` and
``public_checks.npz`` next to this file. :func:`run_check` replays the probe against the names
defined in the notebook and compares, so ``grader.check("q")`` in the notebook reports what
``convgrade check`` reports for the same inputs (``convgrade check`` adds diagnoses of likely
mistakes). Nothing here is secret: hidden checks are never written into the release.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA_JSON = "public_checks.json"
DATA_NPZ = "public_checks.npz"
RTOL = {"float64": 1e-6, "float32": 2e-4}
_DATA = None


# ----------------------------------------------------------------------------- probe replay

class _Probe:
    """Runs grader probe steps (let/call/get/hasattr/set) against a namespace ``env``."""

    def __init__(self, env: dict, arrays: list):
        self.env, self.arrays, self.ns = env, arrays, {}

    def lookup(self, name):
        if name in self.ns:
            return self.ns[name]
        if name in self.env:
            return self.env[name]
        raise NameError(f"name '{name}' is not defined in your notebook")

    def resolve(self, path):
        first, *rest = path.split(".")
        obj = self.lookup(first)
        for part in rest:
            if isinstance(obj, dict):
                obj = obj[part]
            elif isinstance(obj, (list, tuple)) and part.isdigit():
                obj = obj[int(part)]
            else:
                obj = getattr(obj, part)
        return obj

    def decode(self, value):
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, inner), = value.items()
            if key == "$array":
                return np.array(self.arrays[inner], copy=True)
            if key == "$ref":
                return self.resolve(inner)
            if key == "$tuple":
                return tuple(self.decode(v) for v in inner)
            if key == "$rng":
                return np.random.default_rng(inner)
            if key == "$dict":
                return {k: self.decode(v) for k, v in inner.items()}
            if key == "$float":
                return float(inner)
        return {k: self.decode(v) for k, v in value.items()}

    def step(self, step):
        if "call" in step:
            result = self.resolve(step["call"])(*self.decode(step.get("args", [])),
                                                **self.decode(step.get("kwargs", {})))
        elif "grader" in step:   # the grader's own helpers (in the sandbox: the worker's copies)
            args = self.decode(step.get("args", []))
            if "path" in step:
                try:
                    args = [self.resolve(step["path"])] + list(args)
                except Exception:
                    args = [None] + list(args)
            result = _grader_helper(step["grader"])(*args, **self.decode(step.get("kwargs", {})))
        elif "get" in step:
            result = self.resolve(step["get"])
        elif "hasattr" in step:
            try:
                self.resolve(step["hasattr"])
                result = True
            except Exception:
                result = False
        elif "set" in step:
            head, _, last = step["set"].rpartition(".")
            value = self.decode(step.get("value"))
            if not head:
                self.ns[last] = value
            else:
                parent = self.resolve(head)
                if isinstance(parent, dict):
                    parent[last] = value
                else:
                    setattr(parent, last, value)
            return
        else:
            raise ValueError(f"unknown probe step {step!r}")
        if "let" in step:
            self.ns[step["let"]] = result


def _grader_helper(name):
    """Local replays of the sandbox worker's helpers (``{"grader": name}`` steps) for the public
    checks in a student's notebook: same answers for an honest model (the grade itself always
    comes from the worker's own copies, grader/sandbox/worker.py)."""
    def torch():
        import torch as t
        return t

    def param_shapes(model):
        return [[n, [int(d) for d in p.shape]] for n, p in model.named_parameters()]

    def shape_trace(model, input_shape):
        t = torch()
        layers, hooks = [], []
        model.to("meta")
        for n, m in model.named_modules():
            if not list(m.children()):
                kind = next((c.__name__ for c in type(m).__mro__ if c.__module__.startswith("torch.nn")), type(m).__name__)
                hooks.append(m.register_forward_hook(
                    lambda mod, i, o, n=n, kind=kind: layers.append([n, kind, [int(d) for d in o.shape]])))
        try:
            with t.no_grad():
                y = model(t.empty(tuple(input_shape), device="meta"))
        finally:
            for h in hooks:
                h.remove()
        return [[int(d) for d in y.shape], layers]

    def load_weights(model, params, buffers=()):
        t = torch()
        with t.no_grad():
            for p, a in zip(model.parameters(), params):
                p.copy_(t.as_tensor(a, dtype=p.dtype))
            for b, a in zip([b for b in model.buffers() if b.is_floating_point()], buffers):
                b.copy_(t.as_tensor(a, dtype=b.dtype))

    def run(model, x, train=False):
        t = torch()
        model.double().train(train)
        with t.no_grad():
            return model(t.as_tensor(x, dtype=t.float64)).numpy()

    def param_stats(model):
        ps = [p.detach().double() for p in model.parameters()]
        return {"n_params": int(sum(p.numel() for p in ps)), "param_sum": float(sum(p.sum() for p in ps)),
                "param_norm": float(sum((p ** 2).sum() for p in ps)) ** 0.5}

    def classify(model, x, grad=False):
        t = torch()
        ps = list(model.parameters())
        was = model.training
        model.eval()
        xt = t.as_tensor(x, dtype=ps[0].dtype if ps else t.float32).to(ps[0].device if ps else "cpu")
        gnorm = None
        with t.enable_grad() if grad else t.no_grad():
            out = model(xt)
            if grad and ps:
                gs = t.autograd.grad(out.sum(), [p for p in ps if p.requires_grad], allow_unused=True)
                gnorm = float(sum(float((g.double() ** 2).sum()) for g in gs if g is not None)) ** 0.5
        model.train(was)
        return dict(param_stats(model), logits=out.detach().double().cpu().numpy(), grad_norm=gnorm)

    def history(h, series=8, points=2000):
        if not isinstance(h, dict):
            return None
        keys = (["loss"] if "loss" in h else []) + [k for k in h if k != "loss" and isinstance(k, str)]
        return {k: np.asarray(h[k], dtype=np.float64).reshape(-1)[:points] for k in keys[:series]}

    helpers = {f.__name__: f for f in (param_shapes, shape_trace, load_weights, run, param_stats, classify, history)}
    if name not in helpers:
        raise ValueError(f"unknown grader helper {name!r}")
    return helpers[name]


def run_probe(env: dict, steps: list, returns: dict, arrays: list):
    """Run ``steps`` against ``env``; return ({key: value}, error text or None). Like the grader's
    worker, values whose path can be evaluated are returned even after a failing step."""
    probe = _Probe(env, arrays)
    error = None
    for i, step in enumerate(steps):
        try:
            probe.step(step)
        except Exception as exc:   # the student's code failed: report it, keep what was computed
            error = f"`{type(exc).__name__}: {str(exc)[:300]}` (in `{step.get('call') or step.get('get') or ''}`)"
            break
    values = {}
    for key, path in returns.items():
        try:
            values[key] = probe.resolve(path)
        except Exception:
            continue
    return values, error


# ----------------------------------------------------------------------------- comparison

def _numeric(value):
    """A student's value as a float64 array, or None."""
    if isinstance(value, (bool, np.bool_)) or value is None or value is Ellipsis:
        return None
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return arr


def _plain(value):
    """``value`` as JSON-like data (tuples as lists, numpy scalars as Python numbers)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _short(value, cap: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= cap else text[:cap] + " ..."


def _shape_text(shape) -> str:
    return "(" + ", ".join(str(int(s)) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def compare_value(actual, expected, rtol: float, atol: float = 0.0) -> str | None:
    """None when ``actual`` matches ``expected``, else one sentence saying how it differs.
    Structured answers (``[[name, shape], ...]``, shape traces) are compared exactly."""
    try:
        exp = np.asarray(expected, dtype=np.float64)
    except (TypeError, ValueError):
        got = _plain(actual)
        if got == expected:
            return None
        return f"expected {_short(expected)}, got {_short(got)}"
    if actual is None:
        return "got None (does your function `return` its result?)"
    if actual is Ellipsis:
        return "got `...`: not written yet"
    arr = _numeric(actual)
    if arr is None:
        return f"expected {'an array of shape ' + _shape_text(exp.shape) if exp.ndim else 'a number'}, " \
               f"got a {type(actual).__name__}"
    if arr.shape != exp.shape:
        return f"shape {_shape_text(arr.shape)}, expected {_shape_text(exp.shape)}"
    if not np.all(np.isfinite(arr)):
        return "contains NaN or inf"
    err = np.abs(arr - exp)
    scale = np.maximum(np.abs(exp), np.abs(arr))
    bad = err > atol + rtol * np.maximum(scale, np.max(np.abs(exp), initial=0.0) * 1e-3 + 1e-12)
    if exp.ndim == 0:
        bad = err > atol + rtol * abs(float(exp))
        return None if not bad else f"expected {float(exp):.6g}, got {float(arr):.6g}"
    if not bad.any():
        return None
    worst = np.unravel_index(int(np.argmax(err)), err.shape)
    rel = float(err[worst] / max(float(np.max(np.abs(exp))), 1e-12))
    return (f"{int(bad.sum())} of {bad.size} values differ (max relative error {rel:.2e}); largest error at "
            f"index {tuple(int(i) for i in worst)}: expected {exp[worst]:.6g}, got {arr[worst]:.6g}")


def _expected(spec, arrays):
    v = spec.get("value")
    if isinstance(v, dict) and "$npz" in v:
        return arrays[v["$npz"]]
    if isinstance(v, dict) and "$fraction" in v:
        num, den = v["$fraction"]
        return num / den
    return v


def _judge_key(key, spec, actual, present, npz) -> str | None:
    mode = spec["mode"]
    label = spec.get("label", key)
    if not present:
        return f"{label}: missing (not computed)"
    want = _expected(spec, npz)
    if mode == "exact":
        return None if actual == want else f"{label}: expected {want!r}, got {actual!r}"
    if mode == "shape":
        got = np.shape(actual) if _numeric(actual) is not None else None
        if got is None:
            return f"{label}: expected an array of shape {_shape_text(want)}, got {type(actual).__name__}"
        return None if tuple(got) == tuple(want) else f"{label}: shape {_shape_text(got)}, expected {_shape_text(want)}"
    problem = compare_value(actual, want, spec.get("rtol", 1e-6), spec.get("atol", 0.0))
    return None if problem is None else f"{label}: {problem}"


def _judge_fd(fd, values, npz) -> list[str]:
    """Backward against central differences of the student's own forward (gradient_consistency)."""
    h, g = fd["h"], npz[fd["grad_out"]]
    problems = []

    def directional(kp, km):
        yp, ym = _numeric(values.get(kp)), _numeric(values.get(km))
        if yp is None or ym is None or yp.shape != g.shape or ym.shape != g.shape:
            return None
        return float(np.sum(g * (yp - ym)) / (2 * h))

    def agree(label, fdv, an):
        if fdv is None or an is None or not (math.isfinite(fdv) and math.isfinite(an)):
            problems.append(f"{label}: could not be evaluated")
        elif abs(fdv - an) / max(abs(fdv), abs(an), 1e-8) > 1e-4:
            problems.append(f"{label}: your backward gives {an:.6g}, finite differences of your forward give {fdv:.6g}")

    dx = _numeric(values.get("dx"))
    for j, key in enumerate(fd["dirs"]):
        v = npz[key]
        an = float(np.sum(dx * v)) if dx is not None and dx.shape == v.shape else None
        agree(f"dx along direction {j + 1}", directional(f"yp{j}", f"ym{j}"), an)
    for p, key in fd["pdirs"]:
        v = npz[key]
        gp = _numeric(values.get(f"grad:{p}"))
        an = float(np.sum(gp * v)) if gp is not None and gp.shape == v.shape else None
        agree(f"grads[{p!r}]", directional(f"wp_{p}", f"wm_{p}"), an)
    return problems


def load_data(folder: Path | str | None = None):
    """(metadata dict, arrays) of the public checks stored next to this file (or in ``folder``)."""
    global _DATA
    if folder is None and _DATA is not None:
        return _DATA
    base = Path(folder) if folder is not None else HERE
    meta = json.loads((base / DATA_JSON).read_text(encoding="utf-8"))
    with np.load(base / DATA_NPZ, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    if folder is None:
        _DATA = (meta, arrays)
    return meta, arrays


def evaluate(env: dict, name: str, data=None) -> tuple[bool, str]:
    """(passed, feedback Markdown) of the public check called ``name`` on the names in ``env``."""
    meta, npz = data if data is not None else load_data()
    check = meta["checks"][name]
    arrays = [npz[k] for k in check["arrays"]]
    values, error = run_probe(env, check["steps"], check["returns"], arrays)
    if check.get("fd"):
        problems = _judge_fd(check["fd"], values, npz)
    else:
        problems = [p for key, spec in check["expect"].items()
                    if (p := _judge_key(key, spec, values.get(key), key in values, npz)) is not None]
    head = f"**{name}** — {check['case']}"
    if not problems and error is None:
        return True, f"{head}: correct."
    lines = [head]
    if error is not None:
        lines.append(f"Your code raised {error}.")
    lines += [f"- {p}" for p in problems]
    lines.append("Run `convgrade check` for a diagnosis of the likely mistake.")
    return False, "\n".join(lines)


def run_check(env: dict, name: str) -> None:
    """Raise AssertionError with the feedback when public check ``name`` fails (otter test body)."""
    passed, text = evaluate(env, name)
    if not passed:
        raise AssertionError(text)
