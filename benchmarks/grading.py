"""Grading speed: the a2_convolution example submissions (grader.authoring.examples) graded repeatedly.

Prints, per example and overall, the median seconds per submission and the share of it spent
starting the sandbox (worker launch + import of the submission), for the strongest isolation
available and for the process-only fallback, measured in the same run.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/grading.py [--repeat 5]

Goal (issue 3): under 1 s per numpy-assignment submission on a 2-core machine, all isolation on.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from grader.assignment import load  # noqa: E402
from grader.authoring.examples import write_examples  # noqa: E402
from grader.grade import grade_submission  # noqa: E402
from grader.sandbox import SandboxConfig, detect_isolation  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--assignment", default="a2_convolution")
    args = ap.parse_args()
    a = load(args.assignment)
    examples = write_examples(a, tempfile.mkdtemp(prefix="convgrade-bench-"))
    secret = b"benchmark-secret"
    levels = ["auto", "process"]
    print(f"{a.id}: {len(a.checks)} checks; {len(examples)} examples x {args.repeat} repeats")
    print(f"strongest isolation here: {detect_isolation(SandboxConfig()).level}\n")
    summary = {}
    for iso in levels:
        per_total, per_start = [], []
        print(f"isolation={iso}")
        print(f"  {'example':<30} {'median s':>9} {'start s':>8} {'start %':>8}  score")
        for ex in examples:
            totals, starts = [], []
            score = None
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                r = grade_submission(a, ex, student="bench", secret=secret, isolation=iso)
                totals.append(time.perf_counter() - t0)
                starts.append(r["convgrade"].get("timing", {}).get("sandbox_start_s", 0.0))
                score = r["score"]
            m, s = statistics.median(totals), statistics.median(starts)
            per_total += totals
            per_start += starts
            print(f"  {ex.name:<30} {m:>9.3f} {s:>8.3f} {100 * s / m:>7.0f}%  {score:g}/{a.max_score:g}")
        m, s = statistics.median(per_total), statistics.median(per_start)
        summary[iso] = m
        print(f"  {'ALL (median)':<30} {m:>9.3f} {s:>8.3f} {100 * s / m:>7.0f}%\n")
    print(f"full isolation / process-only: {summary['auto'] / summary['process']:.2f}x "
          f"(goal: under 1 s per submission with full isolation; here {summary['auto']:.2f} s)")


if __name__ == "__main__":
    main()
