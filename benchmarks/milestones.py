"""Time-to-accuracy of a6_training's reference solution (the master notebook), as graded.

Run:  python benchmarks/milestones.py [--epochs 4,6,8,10,12] [--threads 1,2] [--device auto|cpu|cuda]
      python benchmarks/milestones.py --seeds 10     # the spread over torch seeds, against the bands

``--seeds N``: the solution's own ``train`` defaults (as the MNIST check calls it) from torch seeds
0..N-1, one CPU thread: a student's correct solution draws its own point of this spread (its code
consumes the random stream differently), so every point should clear the check's full-marks band;
the check itself fixes ``seed = 0`` for every student.

The solution trains with a one-cycle schedule sized to its ``epochs``, so a shorter run is not a
prefix of a longer one: each point of the curve is a full run of ``train(..., epochs=E)`` from the
same seed (the grader's seed setup: ``torch.manual_seed(0)``, deterministic cuDNN), timed on the
training call alone, then scored on the held-out set. "Seconds to X%" is the wall time of the
shortest run whose held-out accuracy reaches X. CPU: the bundled MNIST subset (4,000 / 1,000).
GPU (when CUDA is available, or ``--device cuda``): full MNIST when ``$CONVGRADE_DATA_MNIST`` or
``$CONVGRADE_DATA`` names it, else the subset. Only figures from the same run are comparable.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")   # torch's spinning threads slow numpy

import argparse
import time
import types

import numpy as np
import torch

from grader.authoring.notebook import master_source
from reference import data

TARGETS = (0.97, 0.985, 0.993)


def solution_module() -> types.ModuleType:
    mod = types.ModuleType("a6_solution")
    exec(compile(master_source("a6_training"), "a6_master.py", "exec"), mod.__dict__)
    return mod


def load_split(device: str):
    if device == "cuda":
        try:
            return "mnist", data.load("mnist")
        except data.DatasetError as exc:
            print(f"# full MNIST unavailable ({exc}); using the bundled subset")
    return "mnist_subset", data.mnist_subset()


def run(sol, split, epochs: int, device: str, seed: int = 0) -> tuple[float, float]:
    """(training seconds, held-out accuracy) of one graded-style run."""
    torch.manual_seed(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    model = sol.build_model()
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    sol.train(model, split.x_train, split.y_train, budget_s=1e9, device=device, epochs=epochs)
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    pred = sol.predict(model, split.x_test, device=device)
    return seconds, float(np.mean(pred == split.y_test))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", default="4,6,8,10,12")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    ap.add_argument("--seeds", type=int, default=0, help="the spread over this many torch seeds instead")
    args = ap.parse_args(argv)
    epochs = [int(e) for e in args.epochs.split(",")]
    sol = solution_module()
    if args.seeds:
        return spread(sol, args.seeds)
    devices = ["cpu"]
    if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()):
        devices = ["cuda"] if args.device == "cuda" else ["cpu", "cuda"]
    for device in devices:
        name, split = load_split(device)
        thread_list = [int(t) for t in args.threads.split(",")] if device == "cpu" else [torch.get_num_threads()]
        for threads in thread_list:
            torch.set_num_threads(threads)
            where = f"{device} ({threads} thread{'s' if threads > 1 else ''})" if device == "cpu" else \
                f"cuda ({torch.cuda.get_device_name(0)})"
            print(f"\n{name} on {where}: train {len(split.y_train)}, held out {len(split.y_test)}")
            print(f"{'epochs':>6} {'train s':>8} {'accuracy':>9}")
            curve = []
            for e in epochs:
                s, acc = run(sol, split, e, device)
                curve.append((e, s, acc))
                print(f"{e:>6} {s:>8.1f} {acc:>9.2%}", flush=True)
            for target in TARGETS:
                hit = [s for _, s, acc in curve if acc >= target]
                print(f"seconds to {target:.1%}: " + (f"{min(hit):.1f}" if hit else "not reached"))


def spread(sol, n: int) -> None:
    """Held-out accuracy of ``train``'s defaults over torch seeds 0..n-1, against the MNIST check's bands."""
    import inspect

    from grader.assignment import load

    spec = next(c for c in load("a6_training").checks if c.kind == "milestone" and c.target == "train")
    bands = spec.get("bands")
    epochs = inspect.signature(sol.train).parameters["epochs"].default
    torch.set_num_threads(1)
    _, split = load_split("cpu")
    print(f"{spec.name}: train(epochs={epochs}) from torch seeds 0..{n - 1}, one CPU thread; bands {bands}")
    accs = []
    for seed in range(n):
        s, acc = run(sol, split, epochs, "cpu", seed)
        accs.append(acc)
        print(f"seed {seed:>3} {s:>6.1f} s {acc:>8.2%}", flush=True)
    a = np.array(accs)
    print(f"min {a.min():.2%}  median {np.median(a):.2%}  max {a.max():.2%}  mean {a.mean():.2%} ± {a.std(ddof=1):.2%}")
    for threshold, fraction in bands:
        print(f"below {threshold:.1%} ({fraction:.0%} of the points): {int((a < threshold - 1e-12).sum())} of {n} seeds")


if __name__ == "__main__":
    main()
