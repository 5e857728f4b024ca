"""Time-to-accuracy of a6_training's reference solution (the master notebook), as graded.

Run:  python benchmarks/milestones.py [--epochs 4,6,8,10,12] [--threads 1,2] [--device auto|cpu|cuda]

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
    args = ap.parse_args(argv)
    epochs = [int(e) for e in args.epochs.split(",")]
    sol = solution_module()
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


if __name__ == "__main__":
    main()
