"""Realistic results.json dicts (docs/ARCHITECTURE.md, "Checks and results") for the report tests.

``make_results(student, kind)`` with kind one of:

* ``passing``: every check passed;
* ``failing``: a conv2d forward check failed with a zero-padding bug (error only on the border,
  heatmap with 2 channels), a LeNet training check failed (loss curve plateaus), the rest passed;
  the failing output quotes student stdout holding ``<script>``;
* ``hidden``: a hidden check failed; its extra_data still carries a ``case`` and a heatmap with
  the marker ``SECRET-CASE`` so tests can prove the renderers never show them;
* ``crashed``: the submission never loaded (``load_error``), every check scored 0.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

ASSIGNMENT = "hw2-conv"
CHECKS = [("conv2d_forward", 3.0), ("conv2d_backward", 3.0), ("maxpool2d_forward", 2.0),
          ("train_lenet", 2.0)]
SECRET = "SECRET-CASE"


def padding_bug_heatmap(size: int = 8, channels: int = 2, seed: int = 0) -> dict:
    """|error| of a conv whose padding is wrong: large on the one-pixel border, 0 inside."""
    rng = np.random.default_rng(seed)
    err = np.zeros((channels, size, size))
    border = np.ones((size, size), dtype=bool)
    border[1:-1, 1:-1] = False
    err[:, border] = rng.uniform(0.4, 1.2, size=(channels, int(border.sum())))
    return {"title": "|output - expected|, sample 0", "channels": err.round(4).tolist()}


def loss_curve(n: int = 10) -> dict:
    x = list(range(1, n + 1))
    loss = (2.3 - 0.05 * np.log1p(np.arange(n))).round(4).tolist()         # barely moves
    acc = (0.11 + 0.01 * np.arange(n) / n).round(4).tolist()
    return {"x": x, "series": {"loss": loss, "accuracy": acc}}


def _test(name, points, passed, number, visibility="visible", output="", extra=None):
    t = {"name": name, "number": str(number), "score": points if passed else 0.0,
         "max_score": points, "status": "passed" if passed else "failed",
         "visibility": visibility, "output": output or ("Passed." if passed else "Failed."),
         "tags": []}
    if extra is not None:
        t["extra_data"] = extra
    return t


def make_results(student: str = "alice", kind: str = "passing", *, late: dict | None = None,
                 name: str | None = None, isolation: str = "bwrap", execution_time: float = 4.2) -> dict:
    if kind not in ("passing", "failing", "hidden", "crashed"):
        raise ValueError(f"kind: unknown {kind!r}")
    tests = []
    for i, (check, pts) in enumerate(CHECKS, start=1):
        tests.append(_test(check, pts, True, i, extra={"kind": "forward", "diagnoses": []}))
    notes = ["Dropped 2 IPython magics (`%matplotlib inline`, `!pip install torch`)."]
    load_error = None
    if kind == "failing":
        tests[0] = _test(
            "conv2d_forward", 3.0, False, 1,
            output=("Case `Conv2d(3, 2, kernel_size=3, padding=1)` on input of shape `(2, 3, 8, 8)`: "
                    "values differ.\n\n**Expected** `out[0, 0, 0, 0] = 0.4172`, **got** `0.1031`; "
                    "max abs error 1.19 at `(0, 1, 7, 0)`; 56 of 256 values wrong.\n\n"
                    "Your code printed:\n\n```\n<script>alert('x')</script> debug: pad=0\n```"),
            extra={"kind": "forward", "case": "Conv2d(3, 2, kernel_size=3, padding=1), x: (2, 3, 8, 8)",
                   "diagnoses": [{"code": "border_padding",
                                  "message": "Errors only on the 1-pixel border: the input is not "
                                             "zero-padded (or padded with the wrong mode)."}],
                   "heatmap": padding_bug_heatmap()})
        tests[3] = _test(
            "train_lenet", 2.0, False, 4,
            output="After 10 epochs the accuracy is **0.12** (needs ≥ 0.90); the loss barely moved.",
            extra={"kind": "training", "case": "LeNet-5 on 1000 MNIST digits, SGD lr=0.01",
                   "diagnoses": [{"code": "no_learning", "message": "The loss stays near ln(10): "
                                  "the gradients are probably not applied."}],
                   "curve": loss_curve()})
    elif kind == "hidden":
        tests[1] = _test(
            "conv2d_backward", 3.0, False, 2, visibility="hidden",
            output="Hidden case 2 of 4: `dW` differs (max abs error 0.31).",
            extra={"kind": "backward", "case": f"{SECRET}: stride=2, dilation=2, x: (1, 4, 9, 9)",
                   "diagnoses": [{"code": "grad_not_summed",
                                  "message": "dW looks like one sample's gradient, not the batch sum."}],
                   "heatmap": {"title": SECRET, "channels": padding_bug_heatmap(4, 1)["channels"]}})
    elif kind == "crashed":
        load_error = "SyntaxError: invalid syntax (submission.py, line 12)"
        notes = []
        tests = [_test(check, pts, False, i, output="Not run: the submission did not load.")
                 for i, (check, pts) in enumerate(CHECKS, start=1)]
    score = float(sum(t["score"] for t in tests))
    cg = {"assignment": ASSIGNMENT, "version": "0.1.0", "student": student,
          "isolation": {"level": isolation, "details": "no network, 2 GiB, 60 s"},
          "limits": {"memory_mb": 2048, "time_s": 60}, "submission_sha256": "ab" * 32,
          "notes": notes, "load_error": load_error}
    if name:
        cg["name"] = name
    if late:
        raw = score
        score = round(raw * (1 - late["penalty_fraction"]), 4)
        cg["late"] = {"days_late": late["days_late"], "penalty_fraction": late["penalty_fraction"],
                      "raw_score": raw}
    return {"score": score, "execution_time": execution_time, "output": "", "tests": tests,
            "convgrade": cg}


def write_batch(out_dir: Path, results_by_student: dict[str, dict]) -> Path:
    """Lay out OUT/<student>/results.json like the batch grader does."""
    out_dir = Path(out_dir)
    for student, res in results_by_student.items():
        d = out_dir / student
        d.mkdir(parents=True, exist_ok=True)
        (d / "results.json").write_text(json.dumps(res, ensure_ascii=False), encoding="utf-8")
    (out_dir / "index.json").write_text(json.dumps(sorted(results_by_student)), encoding="utf-8")
    return out_dir


def assert_self_contained(page: str):
    """No markup that loads or runs anything: every tag is checked (escaped text may mention
    ``http://`` or ``<script>`` as harmless characters)."""
    tags = re.findall(r"<[^>]*>", page)
    assert tags
    for tag in tags:
        name = re.match(r"</?\s*([a-zA-Z0-9]*)", tag).group(1).lower()
        assert name not in ("script", "link", "iframe", "object", "embed", "img", "base", "meta") or (
            name == "meta" and ("charset" in tag or "viewport" in tag)), tag
        local = re.sub(r'\bhref="#[A-Za-z0-9_-]*"', "", tag)     # a link within the page loads nothing
        assert not re.search(r"https?:|\b(src|href|xlink:href|action)\s*=|\bon\w+\s*=|javascript:", local, re.I), tag
    for style in re.findall(r"<style>(.*?)</style>", page, flags=re.S) + re.findall(r'style="([^"]*)"', page):
        assert "@import" not in style and not re.search(r"url\((?!#)", style), style
    for url in re.findall(r"url\(([^)]*)\)", page):
        assert url.startswith("#"), url
