"""Activations against torch: forward and input gradient (float64 <= 1e-9 relative, float32 1e-4),
derivatives at the kinks, softmax/log-softmax stability with huge logits, validation."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from reference.nn.activation import (ELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Softplus,
                                     Softsign, Tanh)

from ._torch_compare import SETTINGS, rel_err

ELEMENTWISE = [
    (ReLU, {}, torch.nn.ReLU),
    (LeakyReLU, {}, torch.nn.LeakyReLU),
    (LeakyReLU, {"negative_slope": 0.2}, torch.nn.LeakyReLU),
    (ELU, {}, torch.nn.ELU),
    (ELU, {"alpha": 0.5}, torch.nn.ELU),
    (Sigmoid, {}, torch.nn.Sigmoid),
    (Tanh, {}, torch.nn.Tanh),
    (Softplus, {}, torch.nn.Softplus),
    (Softplus, {"beta": 2.0, "threshold": 5.0}, torch.nn.Softplus),
    (Softplus, {"beta": 0.5, "threshold": 30.0}, torch.nn.Softplus),
    (Softsign, {}, torch.nn.Softsign),
]
IDS = [f"{c.__name__}-{k}" for c, k, _ in ELEMENTWISE]


def compare(ours, theirs, x, g, tol=1e-9):
    xt = torch.tensor(x, requires_grad=True)
    yt = theirs(xt)
    y = ours.forward(x)
    assert y.dtype == x.dtype and y.shape == x.shape
    assert np.all(np.isfinite(y))
    assert rel_err(y, yt) <= tol
    yt.backward(torch.tensor(g))
    dx = ours.backward(g)
    assert dx.dtype == x.dtype and np.all(np.isfinite(dx))
    # Where every input saturates (tanh(14), sigmoid(40)) the true gradient is ~1e-13 |g| and
    # torch's own 1 - t^2 carries a cancellation error of ~1e-16 |g|; scale by at least 1e-6 |g|.
    assert rel_err(dx, xt.grad, floor=1e-6 * np.abs(g).max()) <= tol
    assert ours.grads == {} and ours.state_dict() == {}


arrays = hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=4, max_side=5),
                    elements=st.one_of(st.floats(-40, 40),
                                       st.sampled_from([0.0, -0.0, 1e-3, 25.0])))


@pytest.mark.parametrize("cls, kwargs, torch_cls", ELEMENTWISE, ids=IDS)
@settings(max_examples=30, **SETTINGS)
@given(x=arrays, seed=st.integers(0, 2**31))
def test_elementwise_matches_torch(cls, kwargs, torch_cls, x, seed):
    g = np.random.default_rng(seed).standard_normal(x.shape)
    compare(cls(**kwargs), torch_cls(**kwargs), x, g)


@pytest.mark.parametrize("cls, kwargs, torch_cls", ELEMENTWISE, ids=IDS)
def test_elementwise_float32_and_extremes(cls, kwargs, torch_cls):
    x = np.array([-1e4, -700.0, -50.0, -1.0, 0.0, 1e-7, 1.0, 19.9, 20.1, 50.0, 700.0, 1e4])
    g = np.linspace(-1, 1, x.size)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # none at ±1e4
        compare(cls(**kwargs), torch_cls(**kwargs), x, g)
    x32 = np.random.default_rng(0).standard_normal((4, 7)).astype(np.float32) * 5
    g32 = np.random.default_rng(1).standard_normal((4, 7)).astype(np.float32)
    compare(cls(**kwargs), torch_cls(**kwargs), x32, g32, tol=1e-4)


def test_derivatives_at_zero_follow_torch():
    x, g = np.zeros(3), np.ones(3)
    for layer, expected in [(ReLU(), 0.0), (LeakyReLU(0.1), 0.1), (ELU(0.7), 0.7)]:
        layer.forward(x)
        np.testing.assert_allclose(layer.backward(g), expected, rtol=0, atol=1e-15)


def test_integer_input_becomes_float64():
    assert ReLU().forward(np.array([-2, 3])).dtype == np.float64


@pytest.mark.parametrize("cls, torch_cls", [(Softmax, torch.nn.Softmax),
                                            (LogSoftmax, torch.nn.LogSoftmax)])
@settings(max_examples=40, **SETTINGS)
@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, max_side=5),
       scale=st.sampled_from([1.0, 30.0, 500.0]), data=st.data())
def test_softmax_matches_torch(cls, torch_cls, shape, scale, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    seed = data.draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * scale
    with np.errstate(over="raise", invalid="raise"):
        compare(cls(dim), torch_cls(dim), x, rng.standard_normal(shape))


@pytest.mark.parametrize("cls, torch_cls", [(Softmax, torch.nn.Softmax),
                                            (LogSoftmax, torch.nn.LogSoftmax)])
def test_softmax_huge_logits_finite(cls, torch_cls):
    x = np.array([[500.0, -500.0, 499.0, 0.0], [-1e4, -1e4 + 1.0, -1e4 - 3.0, -1e4],
                  [1e4, -1e4, 0.0, 1e4]])
    g = np.arange(12.0).reshape(3, 4) - 5
    with np.errstate(over="raise", invalid="raise"):
        compare(cls(1), torch_cls(1), x, g)
        compare(cls(0), torch_cls(0), x.T.copy(), g.T.copy())
    x32 = (np.random.default_rng(2).standard_normal((3, 6)) * 400).astype(np.float32)
    compare(cls(-1), torch_cls(-1), x32, np.ones((3, 6), np.float32), tol=1e-4)


def test_softmax_rows_sum_to_one_and_implicit_dim():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    np.testing.assert_allclose(Softmax(dim=1).forward(x).sum(axis=1), 1.0, rtol=1e-12)
    # dim=None: torch's legacy implicit choice (1 for 2-D/4-D input, 0 for 1-D/3-D)
    with pytest.warns(UserWarning):
        expected = torch.nn.Softmax()(torch.tensor(x)).numpy()
    assert rel_err(Softmax().forward(x), expected) <= 1e-12
    x3 = x[0]
    with pytest.warns(UserWarning):
        expected = torch.nn.LogSoftmax()(torch.tensor(x3)).numpy()
    assert rel_err(LogSoftmax().forward(x3), expected) <= 1e-12


@pytest.mark.parametrize("make, arg", [
    (lambda: Softmax(2).forward(np.ones((2, 2))), "dim"),
    (lambda: Softmax(-3).forward(np.ones((2, 2))), "dim"),
    (lambda: LogSoftmax(1.0).forward(np.ones((2, 2))), "dim"),
    (lambda: Softmax(0).forward(np.float64(1.0)), "input"),
])
def test_value_errors_name_the_argument(make, arg):
    with pytest.raises(ValueError, match=arg):
        make()


def test_backward_checks():
    layer = Tanh()
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones(3))
    layer.forward(np.ones(3))
    with pytest.raises(ValueError, match="grad_out"):
        layer.backward(np.ones(4))
