"""Grading a numpy assignment never imports torch (nor other heavy libraries) in the grader.

Runs the real CLI, ``python -m grader grade a2_convolution master.ipynb``, in a fresh process
whose exit hook writes the modules it imported and its peak RSS.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "sklearn", "scipy", "otter", "dask", "distributed", "pandas", "mlxtend", "matplotlib")

PROBE = """
import atexit, json, resource, runpy, sys
OUT = sys.argv[1]
def report():
    with open(OUT, "w") as fh:
        json.dump({"modules": sorted(sys.modules),
                   "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}, fh)
atexit.register(report)
sys.argv = ["convgrade"] + sys.argv[2:]
runpy.run_module("grader", run_name="__main__")
"""


def test_grading_a_numpy_assignment_imports_no_torch(tmp_path):
    out = tmp_path / "modules.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_WAIT_POLICY="PASSIVE")
    env.pop("CONVGRADE_DEVICE", None)
    proc = subprocess.run([sys.executable, "-c", PROBE, str(out), "grade", "a2_convolution",
                           str(ROOT / "assignments" / "a2_convolution" / "master.ipynb"),
                           "-o", str(tmp_path / "results.json")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = json.loads(out.read_text())
    loaded = {m.split(".")[0] for m in report["modules"]}
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    results = json.loads((tmp_path / "results.json").read_text())
    assert abs(results["score"] - sum(t["max_score"] for t in results["tests"])) < 1e-6


def test_the_worker_of_a_grade_starts_before_the_grader_imports_numpy():
    """What `grade` and `check` need to start a numpy assignment's worker early (the course, the
    manifest's sandbox configuration, the pool) imports no numpy: that fifth of a second overlaps
    the worker's own start (grader.cli._start_early)."""
    code = ("import sys\n"
            "import grader.cli, grader.course, grader.sandbox.config, grader.sandbox.pool\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'torch')))")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stdout + proc.stderr[-2000:]
