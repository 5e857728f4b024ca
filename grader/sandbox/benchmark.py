"""Time to start a worker and answer one trivial probe, per isolation level.

    python -m grader.sandbox.benchmark [--repeat 7]

Prints the median and min over ``repeat`` sessions of: start (launch + import), one probe,
close, and the total, plus a bare ``python -I -c "import numpy"`` as the floor. Timings swing
with machine load: compare only numbers from the same run.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import numpy as np

from . import SandboxConfig, WorkerSession, detect_isolation

SOURCE = "import numpy as np\n\ndef double(x):\n    return 2 * x\n"


def one(config: SandboxConfig) -> tuple[float, float, float]:
    t0 = time.perf_counter()
    s = WorkerSession(SOURCE, config)
    r = s.start()
    t1 = time.perf_counter()
    p = s.probe([{"let": "y", "call": "double", "args": [{"$array": 0}]}], {"y": "y"}, [np.ones((2, 3))])
    t2 = time.perf_counter()
    s.close()
    t3 = time.perf_counter()
    if r.status != "ok" or p.status != "ok":
        raise RuntimeError(f"benchmark session failed: {r} {p}")
    return t1 - t0, t2 - t1, t3 - t2


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args(argv)
    floor = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-I", "-c", "import numpy"], check=True)
        floor.append(time.perf_counter() - t)
    print(f"{'python -I -c import numpy':28s} median {statistics.median(floor):.3f} s  min {min(floor):.3f} s")
    for iso in ("bwrap", "process"):
        config = SandboxConfig(isolation=iso)
        level = detect_isolation(config).level
        if iso == "bwrap" and not level.startswith("bwrap"):
            print(f"{iso}: unavailable here ({level})")
            continue
        one(config)   # warm the caches (detect_isolation, page cache)
        rows = [one(config) for _ in range(args.repeat)]
        cols = list(zip(*rows))
        totals = [sum(r) for r in rows]
        print(f"{level:28s} start {statistics.median(cols[0]):.3f}  probe {statistics.median(cols[1]):.4f}  "
              f"close {statistics.median(cols[2]):.4f}  total median {statistics.median(totals):.3f} s  "
              f"min {min(totals):.3f} s")


if __name__ == "__main__":
    main()
