"""Trusted comparison of a worker's answer with the reference.

Everything the worker returns has already been decoded into fresh float64 arrays or plain Python
values by the protocol layer; this module never trusts their type anyway. Order of judgement:
presence, type, shape, finiteness, then values under a tolerance that is relative to the
magnitude of both arrays (so ``compare(a, b)`` and ``compare(b, a)`` agree) and depends on the
dtype the check computes in.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Relative tolerance by the dtype the check feeds the student's code.
RTOL = {"float64": 1e-6, "float32": 2e-4}


@dataclass
class Comparison:
    ok: bool
    problem: str = ""            # "missing" | "type" | "shape" | "nonfinite" | "value" | ""
    message: str = ""            # one short sentence for the student
    max_abs_error: float = 0.0
    rel_error: float = 0.0
    worst_index: tuple = ()
    n_wrong: int = 0
    n_total: int = 0
    error_map: np.ndarray | None = field(default=None, repr=False)   # |actual - expected|


def fmt_shape(shape) -> str:
    return "(" + ", ".join(str(int(s)) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def as_array(value) -> np.ndarray | None:
    """A decoded worker value as a float64 array, or None when it is not numeric data."""
    if isinstance(value, np.ndarray):
        return np.array(value, dtype=np.float64, copy=True)
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return np.array(float(value), dtype=np.float64)
    if isinstance(value, list):
        try:
            arr = np.array(value, dtype=np.float64)
        except (TypeError, ValueError):
            return None
        return arr
    return None


def describe_value(value) -> str:
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"an array of shape {fmt_shape(value.shape)}"
    if isinstance(value, dict) and "$unencodable" in value:
        return f"an object of type {value['$unencodable']}"
    return f"a {type(value).__name__}"


def compare(actual, expected: np.ndarray, what: str = "output", dtype: str = "float64",
            rtol: float | None = None) -> Comparison:
    """Compare a decoded worker value with a trusted expected array."""
    expected = np.asarray(expected, dtype=np.float64)
    rtol = RTOL.get(dtype, 1e-6) if rtol is None else rtol
    if actual is None:
        return Comparison(False, "missing", f"no {what} was returned (got None)")
    arr = as_array(actual)
    if arr is None:
        return Comparison(False, "type", f"{what} should be an array of shape "
                          f"{fmt_shape(expected.shape)}, got {describe_value(actual)}")
    if arr.shape != expected.shape:
        if arr.size == expected.size and arr.size > 1:
            hint = " (same number of elements: check your reshape/transpose)"
        else:
            hint = ""
        return Comparison(False, "shape", f"{what} has shape {fmt_shape(arr.shape)}, expected "
                          f"{fmt_shape(expected.shape)}{hint}", n_total=expected.size)
    finite = np.isfinite(arr)
    if not finite.all():
        bad = int((~finite).sum())
        kind = "NaN" if np.isnan(arr).any() else "inf"
        return Comparison(False, "nonfinite", f"{what} contains {bad} non-finite value(s) ({kind})",
                          n_wrong=bad, n_total=arr.size)
    if arr.size == 0:
        return Comparison(True, n_total=0)
    diff = np.abs(arr - expected)
    scale = max(float(np.abs(expected).max()), float(np.abs(arr).max()))
    atol = rtol * 1e-3
    limit = rtol * scale + atol
    max_err = float(diff.max())
    rel = max_err / scale if scale > 0 else max_err
    wrong = diff > limit
    n_wrong = int(wrong.sum())
    worst = tuple(int(i) for i in np.unravel_index(int(diff.argmax()), diff.shape)) if diff.ndim else ()
    if n_wrong == 0:
        return Comparison(True, max_abs_error=max_err, rel_error=rel, n_total=arr.size,
                          error_map=diff)
    return Comparison(
        False, "value",
        f"{what} differs: {n_wrong} of {arr.size} values wrong, max abs error {max_err:.3g} "
        f"(relative {rel:.2g}, tolerance {rtol:g})",
        max_abs_error=max_err, rel_error=rel, worst_index=worst, n_wrong=n_wrong,
        n_total=arr.size, error_map=diff)


def close(actual, expected: np.ndarray, dtype: str = "float64", rtol: float | None = None) -> bool:
    """True when ``actual`` would pass ``compare`` against ``expected`` (used by diagnoses)."""
    return compare(actual, expected, dtype=dtype, rtol=rtol).ok
