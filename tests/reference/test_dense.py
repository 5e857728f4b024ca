"""Linear, Maxout and Flatten against torch: forward, input gradient, parameter gradients,
float32, state dicts, validation."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.nn.flatten import Flatten
from reference.nn.linear import Linear, Maxout

from ._torch_compare import SETTINGS, rel_err


def torch_maxout(x, weight, bias, out_features, pieces):
    z = torch.nn.functional.linear(x, weight, bias)
    return z.reshape(*z.shape[:-1], out_features, pieces).max(dim=-1).values


@settings(max_examples=40, **SETTINGS)
@given(lead=st.lists(st.integers(1, 4), min_size=0, max_size=2), fin=st.integers(1, 7),
       fout=st.integers(1, 6), bias=st.booleans(), seed=st.integers(0, 2**31))
def test_linear_matches_torch(lead, fin, fout, bias, seed):
    layer = Linear(fin, fout, bias=bias, rng=seed)
    ref = torch.nn.Linear(fin, fout, bias=bias, dtype=torch.float64)
    assert list(layer.state_dict()) == list(ref.state_dict())
    ref.load_state_dict({k: torch.tensor(v) for k, v in layer.state_dict().items()})
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((*lead, fin))
    xt = torch.tensor(x, requires_grad=True)
    yt = ref(xt)
    y = layer.forward(x)
    assert y.dtype == np.float64 and rel_err(y, yt) <= 1e-9
    g = rng.standard_normal(y.shape)
    yt.backward(torch.tensor(g))
    dx = layer.backward(g)
    assert rel_err(dx, xt.grad) <= 1e-9
    assert rel_err(layer.grads["weight"], ref.weight.grad) <= 1e-9
    if bias:
        assert rel_err(layer.grads["bias"], ref.bias.grad) <= 1e-9
    else:
        assert "bias" not in layer.grads and layer.bias is None
    assert dict(layer.named_grads()).keys() == {n for n, _ in ref.named_parameters()}


def test_linear_init_is_torch_default_range_and_seeded():
    a, b = Linear(50, 40, rng=3), Linear(50, 40, rng=3)
    np.testing.assert_array_equal(a.weight, b.weight)
    assert a.weight.shape == (40, 50) and a.bias.shape == (40,)
    bound = 1 / np.sqrt(50)
    assert np.abs(a.weight).max() <= bound and np.abs(a.weight).max() > 0.9 * bound
    assert not np.array_equal(Linear(50, 40, rng=4).weight, a.weight)


@pytest.mark.parametrize("cls", [Linear, Maxout])
def test_float32_stays_float32(cls):
    kwargs = dict(pieces=3) if cls is Maxout else {}
    layer = cls(6, 4, rng=0, dtype=np.float32, **kwargs)
    x = np.random.default_rng(1).standard_normal((5, 6)).astype(np.float32)
    y = layer.forward(x)
    assert y.dtype == np.float32
    dx = layer.backward(np.ones_like(y))
    assert dx.dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.grads.values())
    layer64 = cls(6, 4, rng=0, **kwargs)
    y64 = layer64.forward(x.astype(np.float64))
    assert rel_err(y, y64) <= 1e-4
    assert rel_err(dx, layer64.backward(np.ones_like(y64))) <= 1e-4


def test_float32_input_with_float64_parameters_computes_in_float32():
    layer = Linear(3, 2, rng=0)
    y = layer.forward(np.ones((2, 3), np.float32))
    assert y.dtype == np.float32
    assert layer.backward(np.ones((2, 2), np.float32)).dtype == np.float32
    assert layer.grads["weight"].dtype == np.float64


@settings(max_examples=40, **SETTINGS)
@given(lead=st.lists(st.integers(1, 4), min_size=0, max_size=2), fin=st.integers(1, 6),
       fout=st.integers(1, 4), pieces=st.integers(1, 4), bias=st.booleans(),
       seed=st.integers(0, 2**31))
def test_maxout_matches_torch(lead, fin, fout, pieces, bias, seed):
    layer = Maxout(fin, fout, pieces, bias=bias, rng=seed)
    assert layer.weight.shape == (fout * pieces, fin)
    assert list(layer.state_dict()) == (["weight", "bias"] if bias else ["weight"])
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((*lead, fin))
    w = torch.tensor(layer.weight, requires_grad=True)
    b = torch.tensor(layer.bias, requires_grad=True) if bias else None
    xt = torch.tensor(x, requires_grad=True)
    yt = torch_maxout(xt, w, b, fout, pieces)
    y = layer.forward(x)
    assert y.shape == (*lead, fout) and rel_err(y, yt) <= 1e-9
    g = rng.standard_normal(y.shape)
    yt.backward(torch.tensor(g))
    assert rel_err(layer.backward(g), xt.grad) <= 1e-9
    assert rel_err(layer.grads["weight"], w.grad) <= 1e-9
    if bias:
        assert rel_err(layer.grads["bias"], b.grad) <= 1e-9


def test_maxout_groups_consecutive_rows():
    layer = Maxout(1, 2, 3, bias=False)
    layer.weight[:] = np.array([[1.0], [5.0], [2.0], [-1.0], [-3.0], [0.5]])
    np.testing.assert_array_equal(layer.forward(np.array([[1.0], [-1.0]])),
                                  [[5.0, 0.5], [-1.0, 3.0]])


def test_maxout_tie_sends_gradient_to_first_max():
    layer = Maxout(2, 1, 3)
    layer.weight[:] = np.array([[1.0, 0.0], [2.0, 1.0], [2.0, 1.0]])   # rows 1 and 2 tie
    layer.bias[:] = 0.0
    y = layer.forward(np.array([[1.0, 1.0]]))
    assert y[0, 0] == 3.0
    dx = layer.backward(np.array([[1.0]]))
    np.testing.assert_array_equal(layer.grads["weight"], [[0, 0], [1, 1], [0, 0]])
    np.testing.assert_array_equal(dx, [[2.0, 1.0]])
    np.testing.assert_array_equal(layer.grads["bias"], [0, 1, 0])


@settings(max_examples=30, **SETTINGS)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=5), data=st.data())
def test_flatten_matches_torch(shape, data):
    n = len(shape)
    start = data.draw(st.integers(-n, n - 1))
    end = data.draw(st.integers(start % n, n - 1))
    end = data.draw(st.sampled_from([end, end - n]))
    x = np.random.default_rng(0).standard_normal(shape)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.nn.Flatten(start, end)(xt)
    layer = Flatten(start, end)
    y = layer.forward(x)
    np.testing.assert_array_equal(y, yt.detach().numpy())
    g = np.random.default_rng(1).standard_normal(y.shape)
    yt.backward(torch.tensor(g))
    np.testing.assert_array_equal(layer.backward(g), xt.grad.numpy())
    assert layer.grads == {} and layer.state_dict() == {}


@pytest.mark.parametrize("make, arg", [
    (lambda: Linear(0, 3), "in_features"),
    (lambda: Linear(3, -1), "out_features"),
    (lambda: Linear(2.5, 3), "in_features"),
    (lambda: Linear(3, 3, dtype=np.int32), "dtype"),
    (lambda: Maxout(3, 0, 2), "out_features"),
    (lambda: Maxout(3, 2, 0), "pieces"),
    (lambda: Linear(3, 2).forward(np.ones((4, 5))), "in_features"),
    (lambda: Linear(3, 2).forward(np.float64(1.0)), "in_features"),
    (lambda: Maxout(3, 2, 2).forward(np.ones((4, 2))), "in_features"),
    (lambda: Flatten(1.5), "start_dim"),
    (lambda: Flatten(0, "x"), "end_dim"),
    (lambda: Flatten(3).forward(np.ones((2, 3))), "start_dim"),
    (lambda: Flatten(0, 4).forward(np.ones((2, 3))), "end_dim"),
    (lambda: Flatten(1, 0).forward(np.ones((2, 3))), "start_dim"),
])
def test_value_errors_name_the_argument(make, arg):
    with pytest.raises(ValueError, match=arg):
        make()


def test_backward_checks_grad_out_shape():
    layer = Linear(3, 2)
    layer.forward(np.ones((4, 3)))
    with pytest.raises(ValueError, match="grad_out"):
        layer.backward(np.ones((4, 3)))
    with pytest.raises(RuntimeError, match="before forward"):
        Maxout(3, 2, 2).backward(np.ones((1, 2)))
