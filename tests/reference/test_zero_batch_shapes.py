"""The grader's shape runs of large reference models (grader.checks.torch_models._zero_batch_run):
a batch of zero images on the CPU, the batch size put back, must give exactly the shapes the meta
device gives with the real batch — for every reference builder, on every model check's inputs of
every bundled assignment, and on larger batches and odd sizes besides. Zero-batch runs never
import torch._dynamo or sympy (what the meta device's first torch.cat or empty_like costs: seconds
in every process that loads a5)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from grader.assignment import available, load                       # noqa: E402
from grader.checks.base import CheckSpec                             # noqa: E402
from grader.checks.torch_models import REFERENCES, _build, _run, _zero_batch_run  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EXTRA = [   # (builder, init, input shapes): beyond the bundled checks, other sizes and batch sizes
    ("LeNet5", {}, [[7, 1, 32, 32]]),
    ("LeNet5", {"num_classes": 3, "in_channels": 3}, [[2, 3, 32, 32]]),
    ("VGGStack", {"config": [8, "M", 16, 16, "M"], "batch_norm": True}, [[3, 3, 64, 48], [1, 3, 9, 9]]),
    ("BasicBlock", {"in_channels": 8, "out_channels": 16, "stride": 2}, [[4, 8, 33, 17]]),
    ("Bottleneck", {"in_channels": 16, "planes": 4, "stride": 2}, [[2, 16, 31, 31]]),
    ("DepthwiseSeparable", {"in_channels": 8, "out_channels": 12, "stride": 2}, [[3, 8, 65, 64]]),
    ("InceptionModule", {"in_channels": 8, "ch1x1": 4, "ch3x3red": 4, "ch3x3": 6, "ch5x5red": 2, "ch5x5": 3,
                         "pool_proj": 2}, [[2, 8, 70, 70]]),
    ("UNet", {}, [[2, 1, 572, 572]]),
    ("UNet", {"in_channels": 3, "num_classes": 4, "base_channels": 8, "depth": 3, "padding": 1}, [[2, 3, 256, 192]]),
]


def _cases():
    out = [pytest.param(b, init, s, id=f"{b}-extra{i}") for i, (b, init, s) in enumerate(EXTRA)]
    for aid in available():
        a = load(aid, validate=False)      # collection: the checks' inputs only
        for c in a.checks:
            if c.get("reference", c.target) in REFERENCES and c.get("inputs"):
                out.append(pytest.param(c.get("reference", c.target), c.get("init", {}), c.get("inputs"),
                                        id=f"{aid}-{c.name[:40]}"))
    return out


def test_every_reference_is_covered():
    assert {p.values[0] for p in _cases()} == set(REFERENCES)


@pytest.mark.parametrize("builder,init,inputs", _cases())
def test_zero_batch_gives_the_meta_shapes(builder, init, inputs):
    spec = CheckSpec("t", "model_shapes", 1, target=builder, params={"init": init})
    for shape in inputs:
        got = _zero_batch_run(_build(spec, "meta"), shape)
        assert got is not None, (builder, shape)
        want = _run(_build(spec, "meta"), shape, "meta")
        assert (got[0], list(got[1])) == (want[0], list(want[1])), (builder, shape)


def test_loading_a5_imports_neither_dynamo_nor_sympy():
    code = ("import sys, grader.assignment as A; A.load('a5_architectures'); "
            "print(sorted(m for m in ('torch._dynamo', 'sympy') if m in sys.modules))")
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                       env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "OMP_WAIT_POLICY": "PASSIVE"})
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip().splitlines()[-1] == "[]"


def test_a_batch_of_none_is_not_answered():
    spec = CheckSpec("t", "model_shapes", 1, target="UNet", params={"init": {}})
    assert _zero_batch_run(_build(spec, "meta"), (0, 1, 572, 572)) is None
