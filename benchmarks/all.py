"""Every row of the speed table (issue 15) from one command, each beside its same-run baseline.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/all.py [--quick] [--repeats 5]
        [--batch-n 100,300] [--skip cli,batch,rss,validate,layers] [--suite]

Rows (whole processes, alternating runs, medians; ratios, not absolute goals — a shared
machine's speed swings, and only figures of the same run are comparable). The baselines, run
beside each row: ``otter run`` of the same notebook, a bare ``python -c "import numpy"`` (the
floor of any process that grades numpy code), and torch CPU for the reference layers.

1. ``convgrade grade`` of the a2 master notebook with full isolation vs ``otter run`` of the
   same notebook with otter's public tests (built here by ``otter assign`` + ``otter generate``
   from the same master, no isolation) and vs bare python; ``convgrade grade`` with
   ``CONVGRADE_DEVICE=cpu``.
2. ``convgrade grade-batch`` throughput at each n (hang-free class from benchmarks/batch.py),
   the fitted fixed + per-submission cost, the same middle n with pre-started workers instead of
   the zygote (a batch worker always has a warm pool), and the per-submission cost in bare-python
   starts.
3. ``convgrade validate`` of every bundled assignment (whole processes, wall clock each, the
   sum) against bare python.
4. ``make test`` wall clock (only with ``--suite``: it runs the whole suite, tens of minutes).
5. Peak RSS (ru_maxrss) of the grader process and of its sandbox worker for that grade, of the
   ``otter run`` process tree, and of bare python with numpy.
6. Reference Conv2d / ConvTranspose2d / MaxPool2d / BatchNorm2d vs torch CPU, with the numpy
   GEMM ceiling measured beside each layer (benchmarks/reference_layers.py).

``--quick``: 3 repeats, batch n = 20,60, validate of a2 only, reference layers at 3 repeats.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

PY = sys.executable
RSS_PROBE = """
import atexit, json, resource, runpy, sys
OUT = sys.argv[1]
def report():
    with open(OUT, "w") as fh:
        json.dump({"self_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                   "children_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                   "torch": "torch" in sys.modules}, fh)
atexit.register(report)
sys.argv = ["convgrade"] + sys.argv[2:]
runpy.run_module("grader", run_name="__main__")
"""


def compiled() -> None:
    """Byte-compile the project once: an installed wheel has its .pyc files, and a checkout run
    with PYTHONDONTWRITEBYTECODE would time compiling the grader from source in every process."""
    import compileall

    for pkg in ("grader", "reference"):
        compileall.compile_dir(str(ROOT / pkg), quiet=1)


def env(**extra) -> dict:
    e = dict(os.environ, PYTHONPATH=str(ROOT), OMP_WAIT_POLICY="PASSIVE", CONVGRADE_SECRET="benchmark-secret")
    e.pop("CONVGRADE_DEVICE", None)
    e.update(extra)
    return e


def timed(cmd, cwd, environ) -> tuple[float, int, int]:
    """(seconds, exit code, ru_maxrss KiB of the process tree) of one whole process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    seconds = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    p.stderr.close()
    return seconds, p.returncode, usage.ru_maxrss


BARE = [PY, "-c", "import numpy"]


def bare_python(work: Path, repeats: int) -> tuple[float, int]:
    """(median seconds, peak RSS KiB) of ``python -c "import numpy"``: the floor of any process
    that grades numpy code, measured now, beside the row that quotes it."""
    runs = [timed(BARE, work, env()) for _ in range(max(3, repeats))]
    return statistics.median(r[0] for r in runs), max(r[2] for r in runs)


def otter_setup(work: Path) -> tuple[Path, Path, int]:
    """(autograder.zip, submission notebook, public test cases) for ``otter run``, built from the
    a2 master the way ``convgrade release`` builds the student notebook (otter assign with one
    otter test per visible check, each judged by grader.kit), then ``otter generate``."""
    from grader.assignment import load
    from grader.authoring.notebook import MASTER, parse
    from grader.authoring.release import _otter_assign, _with_tests, checks_by_question, public_checks, public_manifest

    a = load("a2_convolution")
    master = parse(a.path / MASTER)
    by_question = checks_by_question(a, master)
    work.mkdir(parents=True, exist_ok=True)
    _otter_assign(_with_tests(a, master, by_question), work)
    ag = work / "otter" / "autograder"
    (ag / "assignment.toml").write_text(public_manifest(a), encoding="utf-8")   # the release folder's
    (ag / "checks.toml").write_text(public_checks(a), encoding="utf-8")         # public files, beside it
    proc = subprocess.run([PY, "-c", "from otter.cli import cli; cli()", "generate", "assignment.toml",
                           "checks.toml"], cwd=ag,
                          capture_output=True, text=True, timeout=600, env=env())
    if proc.returncode != 0:
        raise RuntimeError(f"otter generate failed: {proc.stderr[-1500:]}")
    n_cases = sum(len(v) for v in by_question.values())
    return ag / "autograder.zip", ag / MASTER, n_cases


def row_cli(work: Path, repeats: int) -> dict:
    print("== 1. one a2 notebook, whole processes, alternating (median of %d)" % repeats, flush=True)
    nb = ROOT / "assignments" / "a2_convolution" / "master.ipynb"
    zip_path, otter_nb, n_cases = otter_setup(work / "otter-build")
    (work / "otter-out").mkdir()
    runs = {
        "convgrade grade (full isolation)": ([PY, "-m", "grader", "grade", "a2_convolution", str(nb),
                                             "-o", str(work / "r.json")], env()),
        "convgrade grade, CONVGRADE_DEVICE=cpu": ([PY, "-m", "grader", "grade", "a2_convolution", str(nb),
                                                  "-o", str(work / "r2.json")], env(CONVGRADE_DEVICE="cpu")),
        "otter run (no isolation)": ([PY, "-c", "from otter.cli import cli; cli()", "run", "-a", str(zip_path),
                                      "-o", str(work / "otter-out"), str(otter_nb)], env()),
        "bare python -c 'import numpy'": (BARE, env()),
    }
    times = {k: [] for k in runs}
    rss = {}
    for name, (cmd, e) in runs.items():      # warm-up (disk cache, __pycache__)
        timed(cmd, work, e)
    for _ in range(repeats):
        for name, (cmd, e) in runs.items():
            s, rc, kib = timed(cmd, work, e)
            if rc not in (0, 1):
                print(f"   {name}: exit {rc}")
            times[name].append(s)
            rss[name] = max(rss.get(name, 0), kib)
    med = {k: statistics.median(v) for k, v in times.items()}
    r = json.loads((work / "r.json").read_text())
    o = json.loads((work / "otter-out" / "results.json").read_text())
    otter_score = sum(t.get("score") or 0 for t in o.get("tests", []))
    n_checks = len(r["tests"])
    base = med["otter run (no isolation)"]
    bare = med["bare python -c 'import numpy'"]
    for name, m in med.items():
        print(f"   {name:42s} {m:7.3f} s   x otter {m / base:5.2f}   x bare python {m / bare:5.1f}")
    print(f"   convgrade: {n_checks} rows, score {r['score']:g}/{sum(t['max_score'] for t in r['tests']):g}, "
          f"isolation {r['convgrade']['isolation']['level']}, sandbox start {r['convgrade']['timing']['sandbox_start_s']:.3f} s; "
          f"otter: {n_cases} public cases, score {otter_score:g}")
    return {"med": med, "rss_tree": rss, "bare": bare}


def row_rss(work: Path, cli: dict | None = None) -> dict:
    print("== 5. peak RSS (ru_maxrss), same notebook", flush=True)
    nb = ROOT / "assignments" / "a2_convolution" / "master.ipynb"
    out = work / "rss.json"
    subprocess.run([PY, "-c", RSS_PROBE, str(out), "grade", "a2_convolution", str(nb), "-o", str(work / "r3.json")],
                   cwd=work, env=env(), stdout=subprocess.DEVNULL, check=False)
    d = json.loads(out.read_text())
    _, bare_kib = bare_python(work, 3)
    grader = d["self_kib"] / 1024
    print(f"   grader process {grader:6.1f} MiB (torch imported: {d['torch']}); "
          f"largest reaped child (RUSAGE_CHILDREN) {d['children_kib'] / 1024:6.1f} MiB")
    print(f"   baseline: bare python + numpy {bare_kib / 1024:6.1f} MiB -> grader x {grader / (bare_kib / 1024):4.2f}")
    otter_kib = (cli or {}).get("rss_tree", {}).get("otter run (no isolation)")
    if otter_kib:
        print(f"   baseline: otter run (largest process of its tree) {otter_kib / 1024:6.1f} MiB -> grader x "
              f"{grader / (otter_kib / 1024):4.2f}")
    return d


def row_batch(work: Path, ns: list[int]) -> None:
    import numpy as np
    from batch import generate

    print(f"== 2. grade-batch a2_convolution -j {os.cpu_count()}, hang-free class, n = {ns}", flush=True)
    pts, base = [], {}
    mid = ns[len(ns) // 2]
    # A batch worker always grades from its warm pool (at least one worker ahead), so the baseline
    # is the pool without the zygote: workers started ahead, each an interpreter + numpy of its own.
    runs = [(n, "zygote") for n in ns] + [(mid, "prestarted")]
    labels = {"zygote": "zygote pool", "prestarted": "pre-started workers (baseline)"}
    for n, mode in runs:
        subs = work / f"subs{n}"
        if not subs.exists():
            generate(subs, n, 0.0, seed=n)
        out = work / f"out{n}-{mode}"
        cmd = [PY, "-m", "grader", "grade-batch", "a2_convolution", str(subs), "-o", str(out), "-j",
               str(os.cpu_count() or 2), "--no-progress"]
        s, rc, _ = timed(cmd, ROOT, env(CONVGRADE_WARM_POOL="1", CONVGRADE_ZYGOTE="0" if mode == "prestarted" else "1"))
        done = sum(1 for _ in out.glob("*/results.json"))
        print(f"   n = {n:5d} {labels[mode]:20s} {s:7.1f} s  {60 * n / s:6.0f}/min  ({done} results, exit {rc}"
              f"{': the class has crashing and broken uploads by design' if rc == 1 else ''})", flush=True)
        if mode == "zygote":
            pts.append((n, s))
        else:
            base[mode] = s
    if len(pts) >= 2:
        n_arr, t_arr = np.array(pts, dtype=float).T
        per, fixed = np.polyfit(n_arr, t_arr, 1)
        bare, _ = bare_python(work, 3)
        print(f"   fit: {fixed:.1f} s fixed + {per:.3f} s per submission -> {60 / per:.0f}/min at large n; "
              f"at n = {mid}: zygote / pre-started workers {dict(pts)[mid] / base['prestarted']:.2f}x time")
        print(f"   baseline: bare python -c 'import numpy' {bare:.3f} s -> one submission costs "
              f"{per / bare:.2f} bare-python starts of wall clock on {os.cpu_count()} cores")


def row_validate(work: Path, only: list[str] | None = None) -> None:
    from grader.assignment import available

    ids = only or list(available())
    print(f"== 3. convgrade validate, {'every bundled assignment' if not only else ', '.join(ids)} "
          "(whole processes)", flush=True)
    bare, _ = bare_python(work, 3)
    total = 0.0
    for a in ids:
        s, rc, kib = timed([PY, "-m", "grader", "validate", a], ROOT, env())
        total += s
        print(f"   {a:32s} {s:7.1f} s  x bare python {s / bare:6.0f}  peak RSS {kib / 1024:6.1f} MiB "
              f"(exit {rc})", flush=True)
    print(f"   all: {total:.1f} s (baseline: bare python -c 'import numpy' {bare:.3f} s)")


def row_suite() -> None:
    print("== 4. make test", flush=True)
    s, rc, _ = timed(["make", "test"], ROOT, env())
    print(f"   make test: {s / 60:.1f} min (exit {rc})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch-n", default=None, help="comma-separated class sizes (default 100,300)")
    ap.add_argument("--validate-only", default=None, help="comma-separated assignment ids (default: every one)")
    ap.add_argument("--suite", action="store_true", help="also time make test (the whole suite: tens of minutes)")
    ap.add_argument("--skip", default="", help="comma-separated rows to skip: cli,batch,validate,rss,layers")
    args = ap.parse_args(argv)
    repeats = 3 if args.quick else args.repeats
    ns = [int(x) for x in (args.batch_n or ("20,60" if args.quick else "100,300")).split(",")]
    skip = set(filter(None, args.skip.split(",")))
    only = args.validate_only.split(",") if args.validate_only else (["a2_convolution"] if args.quick else None)
    print(f"cores {os.cpu_count()}, load average {os.getloadavg()[0]:.2f} (a shared machine: figures are noisy; "
          "compare ratios within this run)\n", flush=True)
    compiled()
    work = Path(tempfile.mkdtemp(prefix="convgrade-all-"))
    cli = None
    try:
        if "cli" not in skip:
            cli = row_cli(work, repeats)
        if "batch" not in skip:
            row_batch(work, ns)
        if "validate" not in skip:
            row_validate(work, only)
        if args.suite:
            row_suite()
        else:
            print("== 4. make test: skipped (benchmarks/all.py --suite runs the whole suite)", flush=True)
        if "rss" not in skip:
            row_rss(work, cli)
        if "layers" not in skip:
            print("== 6. reference layers vs torch CPU, GEMM ceiling beside each layer", flush=True)
            subprocess.run([PY, str(ROOT / "benchmarks" / "reference_layers.py"), "--repeats", str(repeats)],
                           cwd=ROOT, env=env(), check=False)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
