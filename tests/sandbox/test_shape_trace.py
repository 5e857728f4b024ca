"""The worker's shape trace (a5's output-shape and trace checks): a small model on a small input
runs on the CPU on zeros, so a fresh worker never pays for the meta device's lazy imports
(torch._dynamo for tanh, sympy for pooling: seconds each); a large one runs on meta as before and
an assignment with such checks has its pooled workers import those modules ahead."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[2]

PROBE = r"""
import json, runpy, sys
import torch, torch.nn as nn
helpers = runpy.run_path(sys.argv[1])["TorchHelpers"](torch)
lenet = nn.Sequential(nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(6, 16, 5), nn.Tanh(),
                      nn.AvgPool2d(2), nn.Flatten(), nn.Linear(16 * 5 * 5, 10))
state = torch.random.get_rng_state()
small = helpers.shape_trace(lenet, [2, 1, 32, 32])
out = {"small": small, "small_device": next(lenet.parameters()).device.type,
       "rng_kept": bool(torch.equal(state, torch.random.get_rng_state())),
       "dynamo_after_small": "torch._dynamo" in sys.modules}
# training-mode batch norm on one value per channel fails on the CPU (and on meta): the same error
bn = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
try:
    helpers.shape_trace(bn, [1, 1, 3, 3])
    out["bn"] = "passed"
except Exception as exc:
    out["bn"] = type(exc).__name__
big = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.MaxPool2d(2))
out["big"] = helpers.shape_trace(big, [1, 1, 600, 600])
out["big_device"] = next(big.parameters()).device.type
print(json.dumps(out))
"""


def test_small_models_trace_on_the_cpu_without_the_meta_imports_large_ones_on_meta():
    proc = subprocess.run([sys.executable, "-c", PROBE, str(ROOT / "grader" / "sandbox" / "worker.py")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["small"] == [[2, 10], [["0", "Conv2d", [2, 6, 28, 28]], ["1", "Tanh", [2, 6, 28, 28]],
                                      ["2", "AvgPool2d", [2, 6, 14, 14]], ["3", "Conv2d", [2, 16, 10, 10]],
                                      ["4", "Tanh", [2, 16, 10, 10]], ["5", "AvgPool2d", [2, 16, 5, 5]],
                                      ["6", "Flatten", [2, 400]], ["7", "Linear", [2, 10]]]]
    assert out["small_device"] == "cpu" and out["rng_kept"]
    assert not out["dynamo_after_small"]
    assert out["bn"] == "ValueError"
    assert out["big"] == [[1, 4, 300, 300], [["0", "Conv2d", [1, 4, 600, 600]], ["1", "MaxPool2d", [1, 4, 300, 300]]]]
    assert out["big_device"] == "meta"


def test_pools_preload_what_the_checks_would_import_lazily():
    from grader.assignment import load
    from grader.checks.torch_models import META_IMPORTS
    from grader.grade import sandbox_config
    from grader.sandbox.pool import default_preload

    a5 = sandbox_config(load("a5_architectures"))     # the 572x572 U-Net traces run on meta
    assert a5.torch_preload == META_IMPORTS
    assert default_preload(a5) == ("torch", *META_IMPORTS)
    # a6 trains: an optimizer's first construction imports torch._dynamo
    assert default_preload(sandbox_config(load("a6_training"))) == ("torch", "torch._dynamo")
    assert default_preload(sandbox_config(load("a2_convolution"))) == ()
