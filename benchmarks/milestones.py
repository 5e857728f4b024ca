"""Time-to-accuracy of a6_training's reference solution (the master notebook), as graded.

Run:  python benchmarks/milestones.py [--epochs 4,6,8,10,12] [--threads 1,2] [--device auto|cpu|cuda]
      python benchmarks/milestones.py --seeds 10     # the spread over torch seeds, against the bands

``--seeds N``: the solution's own ``train`` defaults (as the MNIST check calls it), and the transfer
check's pretrain + fine-tune, from torch seeds 0..N-1, one CPU thread: a student's correct solution
draws its own point of this spread (its code consumes the random stream differently), so every
point should clear the check's full-marks band (checks.toml puts it three standard deviations
below the mean); the checks themselves fix ``seed = 0`` for every student.

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


def run_transfer(sol, split, spec, seed: int = 0) -> float:
    """Held-out accuracy of one graded-style run of the transfer check ``spec``: its sets (the
    pretraining and few-shot tables, read as the check reads them), its steps' epochs, its
    held-out labels."""
    from grader.checks.milestone import _subset
    from reference.data import subset_by_labels

    sets = spec.get("sets")
    pre = _subset(split, sets["pre"], int(sets["pre"].get("seed", 0)))
    few = _subset(split, sets["few"], int(sets["few"].get("seed", 0)))
    held = subset_by_labels(split, spec.get("test_labels"))
    kw = {st["call"]: st.get("kwargs", {}) for st in spec.get("steps") if "call" in st}
    torch.manual_seed(seed)
    model = sol.build_model()
    sol.train(model, pre.x_train, pre.y_train, budget_s=1e9, device="cpu", epochs=kw["train"]["epochs"])
    sol.fine_tune(model, few.x_train, few.y_train, budget_s=1e9, device="cpu")
    return float(np.mean(sol.predict(model, held.x_test, device="cpu") == held.y_test))


def _bands_summary(name: str, accs: list[float], bands) -> None:
    a = np.array(accs)
    spread = f" ± {a.std(ddof=1):.2%}" if len(a) > 1 else ""     # one seed has no standard deviation
    print(f"{name}: min {a.min():.2%}  median {np.median(a):.2%}  max {a.max():.2%}  mean {a.mean():.2%}{spread}")
    for threshold, fraction in bands:
        print(f"  below {threshold:.1%} ({fraction:.0%} of the points): {int((a < threshold - 1e-12).sum())} of "
              f"{len(a)} seeds")


def spread(sol, n: int) -> None:
    """Held-out accuracy of ``train``'s defaults (the MNIST check) and of the transfer check's
    recipe over torch seeds 0..n-1, one CPU thread, against each check's bands."""
    import inspect

    from grader.assignment import load

    checks = [c for c in load("a6_training").checks if c.kind == "milestone"]
    mnist = next(c for c in checks if c.target == "train")
    transfer = next(c for c in checks if c.target == "fine_tune")
    epochs = inspect.signature(sol.train).parameters["epochs"].default
    torch.set_num_threads(1)
    _, split = load_split("cpu")
    print(f"torch seeds 0..{n - 1}, one CPU thread. {mnist.name}: train(epochs={epochs}), bands {mnist.get('bands')}; "
          f"{transfer.name}: bands {transfer.get('bands')}")
    accs, fine = [], []
    for seed in range(n):
        s, acc = run(sol, split, epochs, "cpu", seed)
        accs.append(acc)
        fine.append(run_transfer(sol, split, transfer, seed))
        print(f"seed {seed:>3} {s:>6.1f} s  MNIST {acc:>7.2%}  transfer {fine[-1]:>7.2%}", flush=True)
    _bands_summary("MNIST", accs, mnist.get("bands"))
    _bands_summary("transfer", fine, transfer.get("bands"))


if __name__ == "__main__":
    main()
