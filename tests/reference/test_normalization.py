"""BatchNorm1d/2d against torch over several train steps then eval: forward, input gradient,
weight/bias gradients, running statistics and num_batches_tracked, float32, validation."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.nn.normalization import BatchNorm1d, BatchNorm2d

from ._torch_compare import SETTINGS, rel_err

TORCH = {BatchNorm1d: torch.nn.BatchNorm1d, BatchNorm2d: torch.nn.BatchNorm2d}


def make_pair(cls, c, kwargs, rng, dtype=np.float64):
    ours = cls(c, dtype=dtype, **kwargs)
    theirs = TORCH[cls](c, dtype=torch.float64 if dtype == np.float64 else torch.float32, **kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    if ours.affine:                                     # random affine parameters, shared
        state = ours.state_dict()
        state["weight"] = rng.uniform(0.5, 2.0, c).astype(dtype)
        state["bias"] = rng.standard_normal(c).astype(dtype)
        ours.load_state_dict(state)
        theirs.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    return ours, theirs


def step(ours, theirs, x, g, tol):
    xt = torch.tensor(x, requires_grad=True)
    for p in theirs.parameters():
        p.grad = None
    yt = theirs(xt)
    y = ours.forward(x)
    assert y.dtype == x.dtype and rel_err(y, yt) <= tol
    yt.backward(torch.tensor(g))
    dx = ours.backward(g)
    assert dx.dtype == x.dtype and rel_err(dx, xt.grad) <= tol
    if ours.affine:
        assert rel_err(ours.grads["weight"], theirs.weight.grad) <= tol
        assert rel_err(ours.grads["bias"], theirs.bias.grad) <= tol
    else:
        assert ours.grads == {}


def check_buffers(ours, theirs, tol):
    for key, value in theirs.state_dict().items():
        mine = ours.state_dict()[key]
        if key == "num_batches_tracked":
            assert mine.dtype == np.int64 and mine.shape == () and int(mine) == int(value)
        else:
            assert rel_err(mine, value) <= tol, key


@st.composite
def bn_case(draw):
    cls = draw(st.sampled_from([BatchNorm1d, BatchNorm2d]))
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    if cls is BatchNorm2d:
        shape = (n, c, draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    else:
        shape = draw(st.sampled_from([(n, c), (n, c, draw(st.integers(1, 5)))]))
    if np.prod(shape) // c < 2:                         # training needs > 1 value per channel
        shape = (shape[0] + 1,) + shape[1:]
    kwargs = dict(momentum=draw(st.sampled_from([0.1, 0.35, None])),
                  eps=draw(st.sampled_from([1e-5, 1e-3])),
                  affine=draw(st.booleans()), track_running_stats=draw(st.booleans()))
    return cls, shape, kwargs


@settings(max_examples=40, **SETTINGS)
@given(case=bn_case(), steps=st.integers(1, 4), seed=st.integers(0, 2**31))
def test_batchnorm_train_then_eval_matches_torch(case, steps, seed):
    cls, shape, kwargs = case
    rng = np.random.default_rng(seed)
    ours, theirs = make_pair(cls, shape[1], kwargs, rng)
    ours.train(), theirs.train()
    for _ in range(steps):
        x = rng.standard_normal(shape) * rng.uniform(0.5, 3) + rng.uniform(-2, 2)
        step(ours, theirs, x, rng.standard_normal(shape), 1e-9)
        check_buffers(ours, theirs, 1e-9)
    ours.eval(), theirs.eval()
    x = rng.standard_normal(shape) * 2
    step(ours, theirs, x, rng.standard_normal(shape), 1e-9)
    check_buffers(ours, theirs, 1e-9)                   # eval leaves buffers alone


def test_eval_uses_running_stats_train_uses_batch_stats():
    bn = BatchNorm2d(2)
    bn.running_mean = np.array([1.0, -1.0])
    bn.running_var = np.array([4.0, 0.25])
    x = np.random.default_rng(0).standard_normal((3, 2, 2, 2)) + 5
    bn.eval()
    y = bn.forward(x)
    expected = (x - bn.running_mean[None, :, None, None]) / np.sqrt(
        bn.running_var[None, :, None, None] + 1e-5)
    np.testing.assert_allclose(y, expected, rtol=1e-13)
    assert int(bn.num_batches_tracked) == 0
    bn.train()
    y = bn.forward(x)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, rtol=1e-3)
    assert int(bn.num_batches_tracked) == 1
    np.testing.assert_allclose(bn.running_mean,
                               0.9 * np.array([1.0, -1.0]) + 0.1 * x.mean(axis=(0, 2, 3)))


def test_float32():
    rng = np.random.default_rng(5)
    ours, theirs = make_pair(BatchNorm2d, 3, {}, rng, dtype=np.float32)
    for _ in range(3):
        x = (rng.standard_normal((4, 3, 3, 2)) * 3 + 1).astype(np.float32)
        step(ours, theirs, x, rng.standard_normal(x.shape).astype(np.float32), 1e-4)
    check_buffers(ours, theirs, 1e-4)
    assert ours.running_var.dtype == np.float32


def test_float32_input_with_float64_module_computes_in_float32():
    bn = BatchNorm1d(3)
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    assert bn.forward(x).dtype == np.float32
    assert bn.backward(np.ones_like(x)).dtype == np.float32
    assert bn.running_mean.dtype == np.float64 and bn.grads["weight"].dtype == np.float64


def test_to_keeps_num_batches_tracked_int64():
    bn = BatchNorm1d(2).to(np.float32)
    assert bn.weight.dtype == np.float32 and bn.num_batches_tracked.dtype == np.int64


@pytest.mark.parametrize("make, arg", [
    (lambda: BatchNorm1d(0), "num_features"),
    (lambda: BatchNorm2d(2.0), "num_features"),
    (lambda: BatchNorm1d(3, eps=-1.0), "eps"),
    (lambda: BatchNorm1d(3, momentum=1.5), "momentum"),
    (lambda: BatchNorm1d(3).forward(np.ones((2, 4))), "num_features"),
    (lambda: BatchNorm2d(3).forward(np.ones((2, 4, 2, 2))), "num_features"),
    (lambda: BatchNorm1d(3).forward(np.ones((2, 3, 2, 2))), "input"),
    (lambda: BatchNorm2d(3).forward(np.ones((2, 3))), "input"),
    (lambda: BatchNorm1d(3).forward(np.ones((1, 3))), "more than 1 value per channel"),
])
def test_value_errors_name_the_argument(make, arg):
    with pytest.raises(ValueError, match=arg):
        make()


def test_single_sample_allowed_in_eval():
    bn = BatchNorm1d(3).eval()
    np.testing.assert_allclose(bn.forward(np.ones((1, 3))), 1 / np.sqrt(1 + 1e-5))
