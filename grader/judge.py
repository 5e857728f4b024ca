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

from .i18n import t

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
    """A worker value's type in words, in the current language (never its content)."""
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return t("grading.value_array", shape=fmt_shape(value.shape))
    if isinstance(value, dict) and "$unencodable" in value:
        return t("grading.value_object", type=value["$unencodable"])
    return t("grading.value_type", type=type(value).__name__)


def compare(actual, expected: np.ndarray, what: str | None = None, dtype: str = "float64",
            rtol: float | None = None) -> Comparison:
    """Compare a decoded worker value with a trusted expected array. ``what`` names the value in
    the message, in the current language (default: "output", ``grading.what_output``)."""
    expected = np.asarray(expected, dtype=np.float64)
    rtol = RTOL.get(dtype, 1e-6) if rtol is None else rtol

    def name() -> str:          # only a failure's message needs it
        return t("grading.what_output") if what is None else what

    if actual is None:
        return Comparison(False, "missing", t("grading.cmp_missing", what=name()))
    # only read here (never kept): a float64 array is used as it is, anything else is converted
    arr = actual if type(actual) is np.ndarray and actual.dtype == np.float64 else as_array(actual)
    if arr is None:
        return Comparison(False, "type", t("grading.cmp_type", what=name(), shape=fmt_shape(expected.shape),
                                           got=describe_value(actual)))
    if arr.shape != expected.shape:
        hint = t("grading.cmp_shape_hint") if arr.size == expected.size and arr.size > 1 else ""
        return Comparison(False, "shape", t("grading.cmp_shape", what=name(), got=fmt_shape(arr.shape),
                                            shape=fmt_shape(expected.shape), hint=hint), n_total=expected.size)
    finite = np.isfinite(arr)
    if not finite.all():
        bad = int((~finite).sum())
        kind = "NaN" if np.isnan(arr).any() else "inf"
        return Comparison(False, "nonfinite", t("grading.cmp_nonfinite", what=name(), bad=bad, kind=kind),
                          n_wrong=bad, n_total=arr.size)
    if arr.size == 0:
        return Comparison(True, n_total=0)
    diff = np.abs(arr - expected)
    scale = max(float(np.abs(expected).max()), float(np.abs(arr).max()))
    atol = rtol * 1e-3
    limit = rtol * scale + atol
    max_err = float(diff.max())
    rel = max_err / scale if scale > 0 else max_err
    # the largest error within the limit (not NaN) means no entry is over it: the count and the
    # worst position are needed only otherwise
    n_wrong = 0 if max_err <= limit else int((diff > limit).sum())
    if n_wrong == 0:
        return Comparison(True, max_abs_error=max_err, rel_error=rel, n_total=arr.size,
                          error_map=diff)
    worst = tuple(int(i) for i in np.unravel_index(int(diff.argmax()), diff.shape)) if diff.ndim else ()
    return Comparison(
        False, "value",
        t("grading.cmp_value", what=name(), n_wrong=n_wrong, n=arr.size, err=f"{max_err:.3g}", rel=f"{rel:.2g}",
          tol=f"{rtol:g}"),
        max_abs_error=max_err, rel_error=rel, worst_index=worst, n_wrong=n_wrong,
        n_total=arr.size, error_map=diff)


def close(actual, expected: np.ndarray, dtype: str = "float64", rtol: float | None = None) -> bool:
    """True when ``actual`` would pass ``compare`` against ``expected`` (used by diagnoses)."""
    return compare(actual, expected, dtype=dtype, rtol=rtol).ok
