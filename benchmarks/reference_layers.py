"""Speed of the numpy reference layers against torch CPU, measured in the same process.

Run:  python benchmarks/reference_layers.py [--repeats 5] [--quick]

For each layer and dtype it prints the median time of forward + backward for the reference
layer and for torch (same weights, same thread count as numpy's BLAS), their ratio
(reference / torch: lower is better, 1.0 = as fast as torch), and for convolutions the GFLOP/s
achieved (forward + input gradient + weight gradient = 3 x forward multiply-adds x 2). Beside
each layer, interleaved with its runs (so under the same load), a numpy GEMM of 768^3 in the
same dtype gives the machine's ceiling at that moment ("GEMM GF/s").
Only ratios from the same run are comparable: a shared machine's speed swings.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")   # torch's spinning threads slow numpy

import argparse
import math
import sys
import time

import numpy as np
import torch

from reference.nn.conv import Conv2d, ConvTranspose2d
from reference.nn.pooling import MaxPool2d

try:
    from reference.nn.normalization import BatchNorm2d
except ImportError as exc:          # written by another engineer; the row is skipped without it
    BatchNorm2d = None
    _BN_MISSING = f"{type(exc).__name__}: {exc}"


def blas_threads() -> int:
    """Threads numpy's BLAS uses (threadpoolctl if available, else the usual env vars)."""
    try:
        from threadpoolctl import threadpool_info
        counts = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
        if counts:
            return max(counts)
    except ImportError:
        pass
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return os.cpu_count() or 1


def median_time(fn, repeats: int) -> float:
    fn()                                   # warm-up (allocations, lazy init)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def gemm_gflops(dtype, repeats: int, n: int = 1024) -> float:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    return 2 * n ** 3 / median_time(lambda: a @ b, repeats) / 1e9


def torch_dtype(dtype):
    return torch.float64 if dtype == np.float64 else torch.float32


def bench_pair(ours, theirs, x_shape, dtype, repeats, train=True):
    """Median forward+backward time of the reference layer and of the torch module."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal(x_shape).astype(dtype)
    y = ours.forward(x)
    g = rng.standard_normal(y.shape).astype(dtype)

    def ref_step():
        ours.forward(x)
        ours.backward(g)

    xt = torch.tensor(x, requires_grad=True)
    gt = torch.tensor(g)
    inputs = [xt] + [p for p in theirs.parameters()]

    def torch_step():
        out = theirs(xt)
        torch.autograd.grad(out, inputs, gt)

    a = rng.standard_normal((GEMM_N, GEMM_N)).astype(dtype)
    b = rng.standard_normal((GEMM_N, GEMM_N)).astype(dtype)
    t_ref, t_torch, t_gemm = interleaved_medians([ref_step, torch_step, lambda: a @ b], repeats)
    return t_ref, t_torch, 2 * GEMM_N ** 3 / t_gemm / 1e9


GEMM_N = 768


def interleaved_medians(fns, repeats: int) -> list[float]:
    """Median times of ``fns`` run in turn, so all see the same machine load."""
    for fn in fns:                         # warm-up (allocations, lazy init)
        fn()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, ts in zip(fns, times):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
    return [float(np.median(ts)) for ts in times]


def conv_flops(c_out, c_in_per_group, kernel, out_hw, n) -> float:
    """Multiply-adds x 2 of forward, input gradient and weight gradient together."""
    return 3 * 2 * n * c_out * c_in_per_group * math.prod(kernel) * math.prod(out_hw)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="3 repeats")
    args = ap.parse_args(argv)
    repeats = 3 if args.quick else args.repeats
    dtypes = [np.float64, np.float32]

    threads = blas_threads()
    torch.set_num_threads(threads)
    print(f"numpy {np.__version__}, torch {torch.__version__}, numpy BLAS threads {threads}, "
          f"torch threads {torch.get_num_threads()}, median of {repeats}")
    print()
    header = f"{'layer':58s} {'dtype':8s} {'ref ms':>9s} {'torch ms':>9s} {'ratio':>6s} " \
             f"{'ref GF/s':>9s} {'torch GF/s':>10s} {'GEMM GF/s':>10s}"
    print(header)
    print("-" * len(header))

    def row(name, dt, t_ref, t_torch, gemm, flops=None):
        gf = (f"{flops / t_ref / 1e9:9.1f} {flops / t_torch / 1e9:10.1f}" if flops
              else f"{'':9s} {'':10s}")
        print(f"{name:58s} {np.dtype(dt).name:8s} {t_ref * 1e3:9.1f} {t_torch * 1e3:9.1f} "
              f"{t_ref / t_torch:6.2f} {gf} {gemm:10.1f}", flush=True)

    conv_cases = [
        ("Conv2d(64,64,3,padding=1) N=32 32x32", (64, 64, 3), dict(padding=1), (32, 64, 32, 32)),
        ("Conv2d(3,64,7,stride=2,padding=3) N=8 224x224", (3, 64, 7), dict(stride=2, padding=3),
         (8, 3, 224, 224)),
    ]
    tconv_cases = [
        ("ConvTranspose2d(64,32,4,stride=2,padding=1) N=32 16x16", (64, 32, 4),
         dict(stride=2, padding=1), (32, 64, 16, 16)),
    ]
    pool_cases = [
        ("MaxPool2d(2) N=32 C=64 32x32", (2,), dict(), (32, 64, 32, 32)),
        ("MaxPool2d(3,stride=2,padding=1) N=8 C=64 112x112", (3,), dict(stride=2, padding=1),
         (8, 64, 112, 112)),
    ]
    for dt in dtypes:
        tdt = torch_dtype(dt)
        for name, args_, kw, shape in conv_cases:
            torch.manual_seed(0)
            theirs = torch.nn.Conv2d(*args_, **kw, dtype=tdt)
            ours = Conv2d(*args_, **kw, dtype=dt)
            ours.load_state_dict(theirs.state_dict())
            t_ref, t_torch, gemm = bench_pair(ours, theirs, shape, dt, repeats)
            out_hw = ours.forward(np.zeros((1,) + shape[1:], dtype=dt)).shape[2:]
            row(name, dt, t_ref, t_torch, gemm,
                conv_flops(args_[1], args_[0], ours.kernel_size, out_hw, shape[0]))
        for name, args_, kw, shape in tconv_cases:
            torch.manual_seed(0)
            theirs = torch.nn.ConvTranspose2d(*args_, **kw, dtype=tdt)
            ours = ConvTranspose2d(*args_, **kw, dtype=dt)
            ours.load_state_dict(theirs.state_dict())
            t_ref, t_torch, gemm = bench_pair(ours, theirs, shape, dt, repeats)
            # a transposed conv costs what the conv it transposes costs (input side = x)
            row(name, dt, t_ref, t_torch, gemm,
                conv_flops(args_[0], args_[1], ours.kernel_size, shape[2:], shape[0]))
        for name, args_, kw, shape in pool_cases:
            t_ref, t_torch, gemm = bench_pair(MaxPool2d(*args_, **kw), torch.nn.MaxPool2d(*args_, **kw),
                                        shape, dt, repeats)
            row(name, dt, t_ref, t_torch, gemm)
        name = "BatchNorm2d(64) train N=32 32x32"
        if BatchNorm2d is None:
            print(f"{name:58s} {np.dtype(dt).name:8s} skipped: reference BatchNorm2d not "
                  f"available ({_BN_MISSING})")
        else:
            theirs = torch.nn.BatchNorm2d(64, dtype=tdt)
            try:
                ours = BatchNorm2d(64, dtype=dt)
            except TypeError:
                ours = BatchNorm2d(64).to(dt)
            t_ref, t_torch, gemm = bench_pair(ours, theirs, (32, 64, 32, 32), dt, repeats)
            row(name, dt, t_ref, t_torch, gemm)
    return 0


if __name__ == "__main__":
    sys.exit(main())
