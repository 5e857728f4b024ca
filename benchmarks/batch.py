"""Batch grading throughput and the cost of a crash: ``convgrade grade-batch`` on a generated class.

Generates N submissions of an assignment (default: 300 of a2_convolution) from its bundled
examples — correct (.py and notebook), buggy variants, a crash at import, a broken notebook and
a forward that hangs — then

1. runs ``python -m grader grade-batch ASSIGNMENT SUBS -o OUT -j J`` once, uninterrupted, and
   reports submissions per minute (wall clock of the whole command, start-up included);
2. runs it again into a fresh OUT, ``kill -9``s it once half of the results exist, and resumes;
   the *resume cost* is the resumed run's time minus the remaining work's share of the
   uninterrupted run (what the crash cost beyond the work that was left anyway), and the
   gradebooks of both ways are compared.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/batch.py [--n 300] [--jobs 2]
        [--executor local|threads] [--hang 0.01] [--no-resume] [--keep DIR]

A hanging submission costs the assignment's sandbox ``wall_s`` (60 s for a2) of one worker; the
mix has ``--hang`` of them (1 % by default), and the report shows the throughput with and
without their share. Goal (issue 7): >= 120 submissions per minute on 2 cores, isolation on.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]

HANG = "\n\ndef _hang(self, x):\n    while True:\n        pass\n\n\nConv2d.forward = _hang\n"
BUGGY = ("conv2d_flipped_kernel.py", "conv2d_always_zero_padding.py", "conv2d_bias_grad_not_summed.py",
         "conv2d_weight_grad_divided_by_batch.py", "maxpool_grad_to_all.py")


def generate(folder: Path, n: int, hang: float, seed: int = 0) -> dict[str, int]:
    """Write ``n`` submissions ``stu000.py`` ... into ``folder``; returns counts per kind."""
    from grader.assignment import load
    from grader.authoring.examples import write_examples

    ex = folder.parent / "examples"
    write_examples(load("a2_convolution"), ex)
    rng = random.Random(seed)
    correct = (ex / "correct.py").read_text()
    n_hang = int(round(hang * n))
    kinds = (["hang"] * n_hang + ["crash"] * int(0.04 * n) + ["broken"] * int(0.03 * n)
             + ["notebook"] * int(0.10 * n) + ["buggy"] * int(0.40 * n))
    kinds += ["correct"] * (n - len(kinds))
    rng.shuffle(kinds)
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for i, kind in enumerate(kinds):
        counts[kind] = counts.get(kind, 0) + 1
        tag = f"\n# student {i}: {rng.random()}\n"
        if kind == "correct":
            (folder / f"stu{i:03d}.py").write_text(correct + tag)
        elif kind == "buggy":
            (folder / f"stu{i:03d}.py").write_text((ex / rng.choice(BUGGY)).read_text() + tag)
        elif kind == "hang":
            (folder / f"stu{i:03d}.py").write_text(correct + HANG + tag)
        elif kind == "crash":
            (folder / f"stu{i:03d}.py").write_text((ex / "import_crash.py").read_text() + tag)
        elif kind == "broken":
            shutil.copy(ex / "broken_notebook.ipynb", folder / f"stu{i:03d}.ipynb")
        else:
            nb = json.loads((ex / "correct_notebook.ipynb").read_text())
            nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": tag})
            (folder / f"stu{i:03d}.ipynb").write_text(json.dumps(nb))
    return counts


def command(args, subs: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "grader", "grade-batch", args.assignment, str(subs), "-o", str(out),
            "-j", str(args.jobs), "--executor", args.executor, "--no-progress"]


def run(args, subs: Path, out: Path, kill_at: int | None = None) -> tuple[float, int]:
    """(seconds, return code); with ``kill_at``, SIGKILL once that many results exist."""
    env = dict(os.environ, CONVGRADE_SECRET="benchmark-secret", OMP_WAIT_POLICY="PASSIVE")
    t0 = time.monotonic()
    p = subprocess.Popen(command(args, subs, out), cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    if kill_at is not None:
        while p.poll() is None and sum(1 for _ in out.glob("*/results.json")) < kill_at:
            time.sleep(0.02)
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
    _, err = p.communicate()
    seconds = time.monotonic() - t0
    if err.strip():
        print("   ", err.strip().splitlines()[-1][:160])
    return seconds, p.returncode


def gradebook(out: Path) -> bytes:
    from grader.report.gradebook import collect, write_csv

    with tempfile.TemporaryDirectory() as tmp:
        return write_csv(collect(out), Path(tmp) / "g.csv", "plain").read_bytes()


def hang_seconds(out: Path, subs: Path) -> float:
    total = 0.0
    for f in subs.glob("*.py"):
        if "Conv2d.forward = _hang" in f.read_text():
            r = json.loads((out / f.stem / "results.json").read_text())
            total += r["execution_time"]
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--assignment", default="a2_convolution")
    ap.add_argument("--executor", choices=["local", "threads"], default="local")
    ap.add_argument("--hang", type=float, default=0.01, help="fraction of submissions whose forward hangs")
    ap.add_argument("--no-resume", action="store_true", help="skip the kill -9 / resume measurement")
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = ap.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="convgrade-bench-"))
    try:
        subs = work / "subs"
        if subs.exists():
            shutil.rmtree(subs)
        counts = generate(subs, args.n, args.hang)
        print(f"{args.n} submissions of {args.assignment}: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
        print(f"executor {args.executor}, -j {args.jobs}, cores {os.cpu_count()}")

        full = work / "full"
        shutil.rmtree(full, ignore_errors=True)
        t_full, rc = run(args, subs, full)
        rate = 60.0 * args.n / t_full
        hang_s = hang_seconds(full, subs)
        rest_rate = 60.0 * (args.n - counts.get("hang", 0)) / max(1e-9, t_full - hang_s / args.jobs)
        print(f"uninterrupted: {t_full:.1f} s, {rate:.1f} submissions/min (exit {rc})")
        print(f"   the {counts.get('hang', 0)} hanging submissions took {hang_s:.0f} worker-s; "
              f"without their share: {rest_rate:.1f} submissions/min")

        if not args.no_resume:
            crash = work / "crash"
            shutil.rmtree(crash, ignore_errors=True)
            half = args.n // 2
            t_a, rc_a = run(args, subs, crash, kill_at=half)
            done = sum(1 for _ in crash.glob("*/results.json"))
            t_b, rc_b = run(args, subs, crash)
            remaining_share = t_full * (args.n - done) / args.n
            print(f"kill -9 after {t_a:.1f} s with {done} results (exit {rc_a}); resumed run {t_b:.1f} s (exit {rc_b})")
            print(f"resume cost: {t_b - remaining_share:+.1f} s (resumed run minus the remaining work's "
                  f"share {remaining_share:.1f} s of the uninterrupted run); total with the crash "
                  f"{t_a + t_b:.1f} s vs {t_full:.1f} s")
            same = gradebook(crash) == gradebook(full)
            print(f"gradebook after kill -9 + resume equals the uninterrupted one: {same}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
