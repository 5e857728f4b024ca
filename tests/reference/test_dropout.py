"""Dropout / Dropout2d: eval identity, inverted scaling (statistically), reproducible masks,
backward through the same mask, whole-channel masks, p = 0 and p = 1, validation."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.nn.dropout import Dropout, Dropout2d

from ._torch_compare import SETTINGS


@pytest.mark.parametrize("cls", [Dropout, Dropout2d])
def test_eval_is_identity(cls):
    x = np.random.default_rng(0).standard_normal((3, 4, 5, 5))
    layer = cls(0.7, rng=1).eval()
    y = layer.forward(x)
    np.testing.assert_array_equal(y, x)
    g = np.random.default_rng(2).standard_normal(x.shape)
    np.testing.assert_array_equal(layer.backward(g), g)
    assert layer.grads == {} and layer.state_dict() == {}


@pytest.mark.parametrize("cls", [Dropout, Dropout2d])
@settings(max_examples=25, **SETTINGS)
@given(p=st.floats(0.0, 0.95), seed=st.integers(0, 2**31))
def test_mask_scaling_and_backward_use_same_mask(cls, p, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, 3, 2, 5))
    layer = cls(p, rng=seed)
    y = layer.forward(x)
    mask = layer.mask
    assert mask.dtype == x.dtype
    assert set(np.unique(mask)) <= {0.0, 1.0 / (1.0 - p)}
    np.testing.assert_array_equal(y, x * mask)
    g = rng.standard_normal(x.shape)
    np.testing.assert_array_equal(layer.backward(g), g * mask)
    if p == 0.0:
        np.testing.assert_array_equal(y, x)


@pytest.mark.parametrize("cls", [Dropout, Dropout2d])
def test_same_seed_same_mask(cls):
    x = np.ones((5, 6, 4, 4))
    a, b, c = cls(0.5, rng=123), cls(0.5, rng=np.random.default_rng(123)), cls(0.5, rng=124)
    ya, yb, yc = a.forward(x), b.forward(x), c.forward(x)
    np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(ya, yc)
    assert not np.array_equal(a.forward(x), ya)          # a fresh mask on every call


@pytest.mark.parametrize("cls, shape", [(Dropout, (200, 500)), (Dropout2d, (400, 250, 2, 2))])
@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_inverted_scaling_keeps_expectation(cls, shape, p):
    layer = cls(p, rng=7)
    x = np.full(shape, 3.0)
    y = layer.forward(x)
    kept = layer.mask.reshape(layer.mask.shape[0], -1)[:, 0] if cls is Dropout2d else layer.mask
    n = kept.size
    frac_kept = np.count_nonzero(kept) / n
    assert abs(frac_kept - (1 - p)) < 5 * np.sqrt(p * (1 - p) / n) + 1e-12
    # E[y] = x: mean of y within 5 standard errors of 3
    se = 3.0 * np.sqrt(p / (1 - p) / n)
    assert abs(y.mean() - 3.0) < 5 * se


def test_p_one_gives_zeros_and_p_zero_identity():
    x = np.random.default_rng(0).standard_normal((3, 4, 2, 2))
    for cls in (Dropout, Dropout2d):
        layer = cls(1.0, rng=0)
        y = layer.forward(x)
        assert np.all(y == 0) and np.all(np.isfinite(y))
        assert np.all(layer.backward(np.ones_like(x)) == 0)
        np.testing.assert_array_equal(cls(0.0, rng=0).forward(x), x)
        with torch.no_grad():
            t = {Dropout: torch.nn.Dropout, Dropout2d: torch.nn.Dropout2d}[cls](1.0)
            assert torch.all(t(torch.tensor(x)) == 0)


def test_dropout2d_zeroes_whole_channels():
    x = np.random.default_rng(1).standard_normal((6, 8, 5, 4)) + 10     # never zero itself
    layer = Dropout2d(0.5, rng=3)
    y = layer.forward(x)
    assert layer.mask.shape == (6, 8, 1, 1)
    zero = np.all(y == 0, axis=(2, 3))
    alive = np.all(y != 0, axis=(2, 3))
    assert np.all(zero | alive)                          # each channel all-zero or all-kept
    assert zero.any() and alive.any()
    np.testing.assert_allclose(y[alive], 2 * x[alive])
    # a 3-D input is (N, C, L), as torch reads it
    layer.forward(np.ones((2, 3, 7)))
    assert layer.mask.shape == (2, 3, 1)


def test_float32_stays_float32():
    x = np.ones((4, 3, 2, 2), np.float32)
    for cls in (Dropout, Dropout2d):
        layer = cls(0.3, rng=0)
        assert layer.forward(x).dtype == np.float32
        assert layer.backward(x).dtype == np.float32


def test_dropout_mean_matches_torch_statistically():
    x = np.full((400, 400), 2.0)
    torch.manual_seed(0)
    yt = torch.nn.Dropout(0.4)(torch.tensor(x)).numpy()
    y = Dropout(0.4, rng=0).forward(x)
    assert set(np.unique(y)) == set(np.unique(yt))      # same values: 0 and 2 / 0.6
    assert abs(np.mean(y == 0) - np.mean(yt == 0)) < 0.01


@pytest.mark.parametrize("make, arg", [
    (lambda: Dropout(-0.1), "p"),
    (lambda: Dropout(1.5), "p"),
    (lambda: Dropout2d(2), "p"),
    (lambda: Dropout("0.5"), "p"),
    (lambda: Dropout2d(0.5).forward(np.ones((2, 3))), "input"),
])
def test_value_errors_name_the_argument(make, arg):
    with pytest.raises(ValueError, match=arg):
        make()


def test_backward_checks():
    layer = Dropout(0.5)
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones(3))
    layer.forward(np.ones(3))
    with pytest.raises(ValueError, match="grad_out"):
        layer.backward(np.ones(4))
