"""Reference self-check: every layer of ``reference.nn`` against torch on random cases.

``convgrade selfcheck`` prints, per layer, the max relative error (forward, input gradient,
parameter gradients and buffers, float64) and the reference's and torch's time for
forward+backward in the same run.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Callable

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402


@dataclass
class Case:
    name: str
    make: Callable   # rng -> (reference layer, torch module or callable, input shape, target or None)


def _cases():
    import torch
    import torch.nn as tnn

    from reference import nn

    def same(name, *args, shape, label=None, **kwargs):
        return Case(label or name, lambda rng: (getattr(nn, name)(*args, **kwargs),
                                                getattr(tnn, name)(*args, **kwargs), shape, None))

    class TorchMaxout(tnn.Module):
        def __init__(self, i, o, k):
            super().__init__()
            self.o, self.k = o, k
            self.weight = tnn.Parameter(torch.randn(o * k, i))
            self.bias = tnn.Parameter(torch.randn(o * k))

        def forward(self, x):
            return tnn.functional.linear(x, self.weight, self.bias).view(x.shape[0], self.o, self.k).max(-1).values

    def dice(p, t, eps=1.0):
        inter = (p * t).sum(dim=(2, 3))
        return (1 - (2 * inter + eps) / (p.sum(dim=(2, 3)) + t.sum(dim=(2, 3)) + eps)).mean()

    return [
        same("Linear", 20, 30, shape=(8, 20)),
        Case("Maxout", lambda rng: (nn.Maxout(20, 10, 3), TorchMaxout(20, 10, 3), (8, 20), None)),
        same("ReLU", shape=(8, 3, 5, 5)), same("LeakyReLU", 0.1, shape=(8, 3, 5, 5)),
        same("ELU", shape=(8, 3, 5, 5)), same("Sigmoid", shape=(8, 3, 5, 5)), same("Tanh", shape=(8, 3, 5, 5)),
        same("Softplus", shape=(8, 3, 5, 5)), same("Softsign", shape=(8, 3, 5, 5)),
        same("Softmax", dim=1, shape=(8, 10)), same("LogSoftmax", dim=1, shape=(8, 10)),
        Case("CrossEntropyLoss", lambda rng: (nn.CrossEntropyLoss(), tnn.CrossEntropyLoss(), (8, 10),
                                              rng.integers(0, 10, 8))),
        Case("MSELoss", lambda rng: (nn.MSELoss(), tnn.MSELoss(), (8, 10), rng.standard_normal((8, 10)))),
        Case("DiceLoss", lambda rng: (nn.DiceLoss(), dice, (4, 2, 8, 8),
                                      (rng.random((4, 2, 8, 8)) > 0.5).astype(np.float64))),
        same("Conv1d", 3, 4, 3, stride=2, padding=1, shape=(4, 3, 17)),
        same("Conv2d", 3, 8, 3, stride=2, padding=1, dilation=1, groups=1, padding_mode="reflect", shape=(4, 3, 16, 16),
             label="Conv2d s2 reflect"),
        same("Conv2d", 6, 6, 3, padding=2, dilation=2, groups=3, shape=(4, 6, 12, 12), label="Conv2d d2 groups3"),
        same("Conv3d", 2, 4, 3, padding=1, shape=(2, 2, 6, 6, 6)),
        same("ConvTranspose1d", 3, 4, 3, stride=2, padding=1, output_padding=1, shape=(4, 3, 9)),
        same("ConvTranspose2d", 4, 6, 3, stride=2, padding=1, output_padding=1, groups=2, shape=(4, 4, 7, 7)),
        same("ConvTranspose3d", 2, 4, 3, stride=2, padding=1, shape=(2, 2, 4, 4, 4)),
        same("MaxPool1d", 3, stride=2, padding=1, shape=(4, 3, 17)),
        same("MaxPool2d", 3, stride=2, padding=1, shape=(4, 3, 15, 15)),
        same("AvgPool1d", 3, stride=2, padding=1, shape=(4, 3, 17)),
        same("AvgPool2d", 3, stride=2, padding=1, count_include_pad=False, shape=(4, 3, 15, 15)),
        same("AdaptiveAvgPool2d", (3, 5), shape=(4, 3, 13, 11)),
        same("BatchNorm1d", 10, shape=(16, 10)),
        same("BatchNorm2d", 6, shape=(8, 6, 5, 5)),
        Case("Dropout (eval)", lambda rng: (nn.Dropout(0.3).eval(), tnn.Dropout(0.3).eval(), (8, 10), None)),
        Case("Dropout2d (eval)", lambda rng: (nn.Dropout2d(0.3).eval(), tnn.Dropout2d(0.3).eval(), (8, 3, 4, 4), None)),
        same("Flatten", shape=(4, 3, 5, 5)),
        same("Upsample", scale_factor=2, mode="nearest", shape=(2, 3, 5, 5), label="Upsample nearest"),
        same("Upsample", size=(9, 7), mode="bilinear", align_corners=False, shape=(2, 3, 5, 4),
             label="Upsample bilinear"),
        same("Upsample", scale_factor=2, mode="bilinear", align_corners=True, shape=(2, 3, 5, 4),
             label="Upsample bilinear ac"),
        same("ZeroPad2d", (1, 2, 0, 3), shape=(2, 3, 5, 5)),
        same("ReflectionPad2d", 2, shape=(2, 3, 5, 5)),
        same("ReplicationPad2d", (1, 2, 3, 0), shape=(2, 3, 5, 5)),
        Case("Sequential", lambda rng: (
            nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 4 * 4, 10)),
            tnn.Sequential(tnn.Conv2d(3, 4, 3, padding=1, bias=False), tnn.BatchNorm2d(4), tnn.ReLU(), tnn.MaxPool2d(2),
                           tnn.Flatten(), tnn.Linear(4 * 4 * 4, 10)), (4, 3, 8, 8), None)),
    ]


def _rel(a, b) -> float:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    scale = max(float(np.abs(b).max()) if b.size else 0.0, 1e-300)
    return float(np.abs(a - b).max() / scale) if a.size else 0.0


def check_case(case: Case, rng: np.random.Generator):
    """(max relative error, reference seconds, torch seconds) for one random case."""
    import torch

    ref, tor, shape, target = case.make(rng)
    if isinstance(tor, torch.nn.Module):
        tor = tor.double()
        for p in tor.parameters():   # random affine parameters, not torch's ones/zeros
            with torch.no_grad():
                p.copy_(torch.randn_like(p) * 0.5)
        ref.load_state_dict({k: v.detach().numpy() for k, v in tor.state_dict().items()})
        ref.train(tor.training)
    x = rng.standard_normal(shape)
    if "Pool" in case.name and "Avg" not in case.name:
        x = rng.permutation(x.size).reshape(shape) / x.size
    xt = torch.tensor(x, requires_grad=True)
    errs = []
    t0 = time.perf_counter()
    if target is not None:
        loss = ref.forward(x, target)
        dx = ref.backward()
        t_ref = time.perf_counter() - t0
        t0 = time.perf_counter()
        tt = torch.tensor(target)
        lt = tor(xt, tt)
        lt.backward()
        t_tor = time.perf_counter() - t0
        errs += [_rel(loss, lt.detach().numpy()), _rel(dx, xt.grad.numpy())]
        return max(errs), t_ref, t_tor
    y = ref.forward(x)
    g = rng.standard_normal(np.shape(y))
    dx = ref.backward(g)
    t_ref = time.perf_counter() - t0
    t0 = time.perf_counter()
    yt = tor(xt)
    yt.backward(torch.tensor(g))
    t_tor = time.perf_counter() - t0
    errs += [_rel(y, yt.detach().numpy()), _rel(dx, xt.grad.numpy())]
    if isinstance(tor, torch.nn.Module):
        tgrads = {k: p.grad.numpy() for k, p in tor.named_parameters() if p.grad is not None}
        rgrads = dict(ref.named_grads())
        for k, v in tgrads.items():
            errs.append(_rel(rgrads.get(k, np.full(1, np.nan)), v))
        tstate = tor.state_dict()
        for k, v in ref.state_dict().items():
            if "running" in k:
                errs.append(_rel(v, tstate[k].numpy()))
    return max(errs), t_ref, t_tor


def run_selfcheck(cases: int = 5, echo=print, tol: float = 1e-9) -> bool:
    import torch

    torch.manual_seed(0)
    torch.nn.Linear(2, 2)(torch.zeros(1, 2)).sum().backward()   # warm torch up: first calls are slow
    rng = np.random.default_rng(0)
    echo(f"{'layer':<22} {'max rel err':>12} {'ref ms':>9} {'torch ms':>9}  ok")
    all_ok = True
    for case in _cases():
        worst, tr, tt = 0.0, [], []
        try:
            for _ in range(cases):
                e, a, b = check_case(case, rng)
                worst = max(worst, e)
                tr.append(a)
                tt.append(b)
            ok = worst <= tol
            echo(f"{case.name:<22} {worst:>12.1e} {np.median(tr) * 1e3:>9.2f} {np.median(tt) * 1e3:>9.2f}  "
                 f"{'yes' if ok else 'NO'}")
        except Exception as exc:   # report and go on: the table shows every layer
            ok = False
            echo(f"{case.name:<22} {'error':>12}  {type(exc).__name__}: {exc}")
        all_ok &= ok
    echo("all layers agree with torch" if all_ok else "SOME LAYERS DISAGREE WITH TORCH")
    return all_ok


if __name__ == "__main__":
    raise SystemExit(0 if run_selfcheck() else 1)
