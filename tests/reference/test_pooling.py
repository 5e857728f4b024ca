"""MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool2d against torch: forward, indices, input gradient,
ceil_mode, validation. Inputs are random permutations, so no window has tied maxima."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.nn.pooling import AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d

from ._torch_compare import SETTINGS, rel_err as _rel_err, to_numpy

TORCH = {MaxPool1d: torch.nn.MaxPool1d, MaxPool2d: torch.nn.MaxPool2d,
         AvgPool1d: torch.nn.AvgPool1d, AvgPool2d: torch.nn.AvgPool2d,
         AdaptiveAvgPool2d: torch.nn.AdaptiveAvgPool2d}


def rel_err(ours, theirs) -> float:
    """``_torch_compare.rel_err`` where torch has -inf (a dilated max-pool window wholly in the
    padding): those entries must be -inf in ours too and are left out of the error."""
    ours, theirs = np.asarray(ours, dtype=np.float64), to_numpy(theirs).astype(np.float64)
    assert np.shape(ours) == theirs.shape, (np.shape(ours), theirs.shape)
    inf = np.isinf(theirs)
    np.testing.assert_array_equal(ours[inf], theirs[inf])
    return _rel_err(np.where(inf, 0, ours), np.where(inf, 0, theirs))


def distinct_input(shape, seed, dtype=np.float64):
    """A random permutation of 0..size-1, scaled: distinct values, so max-pooling has no ties."""
    rng = np.random.default_rng(seed)
    return (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.37 - 5).astype(dtype)


def compare_with_torch(cls, kwargs, x_shape, seed, dtype=np.float64, tol=1e-9):
    ours, theirs = cls(**kwargs), TORCH[cls](**kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []
    x = distinct_input(x_shape, seed, dtype)
    xt = torch.tensor(x, requires_grad=True)
    yt = theirs(xt)
    y = ours.forward(x)
    if kwargs.get("return_indices"):
        (y, idx), (yt, idxt) = y, yt
        assert idx.dtype == np.int64
        np.testing.assert_array_equal(idx, idxt.numpy())
    assert y.dtype == dtype
    assert rel_err(y, yt) <= tol
    g = np.random.default_rng(seed + 1).standard_normal(tuple(yt.shape)).astype(dtype)
    # A dilated max-pool window lying wholly in the padding outputs -inf and does not depend on
    # the input: its gradient must vanish. torch instead scatters it to an index outside the
    # plane (into the next channel), so torch gets a zero upstream gradient there and we get
    # the random one: the results agree only if ours drops it.
    yt.backward(torch.tensor(np.where(np.isinf(yt.detach().numpy()), 0, g)))
    dx = ours.backward(g)
    assert dx.dtype == dtype and dx.shape == x.shape
    assert rel_err(dx, xt.grad) <= tol
    assert ours.grads == {}


@st.composite
def pool_case(draw, dims: int, with_dilation: bool):
    k = tuple(draw(st.integers(1, 4)) for _ in range(dims))
    stride = None if draw(st.booleans()) else tuple(draw(st.integers(1, 5)) for _ in range(dims))
    padding = tuple(draw(st.integers(0, kk // 2)) for kk in k)
    dil = tuple(draw(st.integers(1, 2)) for _ in range(dims)) if with_dilation else (1,) * dims
    sizes = tuple(max(dl * (kk - 1) + 1 - 2 * p, 1) + draw(st.integers(0, 6))
                  for kk, p, dl in zip(k, padding, dil))
    kwargs = dict(kernel_size=k if len(set(k)) > 1 or draw(st.booleans()) else k[0],
                  stride=stride, padding=padding, ceil_mode=draw(st.booleans()))
    if with_dilation:
        kwargs.update(dilation=dil, return_indices=draw(st.booleans()))
    else:
        kwargs.update(count_include_pad=draw(st.booleans()))
    return kwargs, (draw(st.integers(1, 3)), draw(st.integers(1, 3))) + sizes


@settings(max_examples=60, **SETTINGS)
@given(case=pool_case(2, with_dilation=True), seed=st.integers(0, 2**16))
def test_maxpool2d_matches_torch(case, seed):
    compare_with_torch(MaxPool2d, *case, seed)


@settings(max_examples=30, **SETTINGS)
@given(case=pool_case(1, with_dilation=True), seed=st.integers(0, 2**16))
def test_maxpool1d_matches_torch(case, seed):
    compare_with_torch(MaxPool1d, *case, seed)


@settings(max_examples=60, **SETTINGS)
@given(case=pool_case(2, with_dilation=False), seed=st.integers(0, 2**16))
def test_avgpool2d_matches_torch(case, seed):
    compare_with_torch(AvgPool2d, *case, seed)


@settings(max_examples=30, **SETTINGS)
@given(case=pool_case(1, with_dilation=False), seed=st.integers(0, 2**16))
def test_avgpool1d_matches_torch(case, seed):
    compare_with_torch(AvgPool1d, *case, seed)


@settings(max_examples=40, **SETTINGS)
@given(h=st.integers(1, 12), w=st.integers(1, 12),
       out=st.one_of(st.integers(1, 7), st.tuples(st.one_of(st.none(), st.integers(1, 14)),
                                                 st.one_of(st.none(), st.integers(1, 14)))),
       seed=st.integers(0, 2**16))
def test_adaptive_avgpool2d_matches_torch(h, w, out, seed):
    compare_with_torch(AdaptiveAvgPool2d, dict(output_size=out), (2, 3, h, w), seed)


EDGE_CASES = [
    ("stride > kernel", MaxPool2d, dict(kernel_size=2, stride=3), (1, 2, 11, 7)),
    ("kernel = input", MaxPool2d, dict(kernel_size=(5, 3)), (2, 2, 5, 3)),
    ("overlapping windows", MaxPool2d, dict(kernel_size=3, stride=1), (2, 2, 6, 5)),
    ("ceil_mode last window in left padding", MaxPool2d,
     dict(kernel_size=2, stride=2, padding=1, ceil_mode=True, return_indices=True), (1, 1, 5, 4)),
    ("ceil_mode window dropped", MaxPool1d, dict(kernel_size=2, stride=2, ceil_mode=True),
     (1, 1, 6)),
    ("dilated, rectangular", MaxPool2d,
     dict(kernel_size=(2, 3), stride=(1, 2), dilation=(3, 1), padding=(1, 1),
          return_indices=True), (2, 3, 9, 8)),
    ("dilated window wholly in the padding", MaxPool1d,
     dict(kernel_size=2, stride=1, padding=1, dilation=2, return_indices=True), (1, 2, 1)),
    ("avg ceil_mode beyond right padding", AvgPool2d,
     dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), (2, 2, 6, 6)),
    ("avg ceil_mode exclude pad", AvgPool2d,
     dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
     (2, 2, 6, 7)),
    ("avg global", AvgPool2d, dict(kernel_size=(4, 6)), (3, 2, 4, 6)),
    ("adaptive to larger output", AdaptiveAvgPool2d, dict(output_size=(7, 5)), (2, 2, 3, 4)),
    ("adaptive global", AdaptiveAvgPool2d, dict(output_size=1), (2, 3, 5, 7)),
]


@pytest.mark.parametrize("name,cls,kwargs,x_shape", EDGE_CASES, ids=[c[0] for c in EDGE_CASES])
def test_pooling_edge_cases(name, cls, kwargs, x_shape):
    compare_with_torch(cls, kwargs, x_shape, seed=len(name))


@pytest.mark.parametrize("cls,kwargs", [
    (MaxPool2d, dict(kernel_size=3, stride=2, padding=1, return_indices=True)),
    (AvgPool2d, dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    (AdaptiveAvgPool2d, dict(output_size=(3, 4))),
])
def test_float32_matches_torch(cls, kwargs):
    compare_with_torch(cls, kwargs, (2, 3, 9, 10), seed=5, dtype=np.float32, tol=1e-4)


def test_unbatched_input_like_torch():
    x = distinct_input((3, 7, 6), 0)
    for ours, theirs in [(MaxPool2d(3, 2, 1), torch.nn.MaxPool2d(3, 2, 1)),
                         (AvgPool2d(2), torch.nn.AvgPool2d(2)),
                         (AdaptiveAvgPool2d(2), torch.nn.AdaptiveAvgPool2d(2))]:
        xt = torch.tensor(x, requires_grad=True)
        yt = theirs(xt)
        yt.sum().backward()
        y = ours.forward(x)
        assert rel_err(y, yt) <= 1e-12
        assert rel_err(ours.backward(np.ones(y.shape)), xt.grad) <= 1e-12


def test_maxpool_gradient_goes_to_argmax_only():
    x = np.array([[[[1., 5., 2.], [0., 3., 4.], [7., 6., 8.]]]])
    pool = MaxPool2d(2, stride=1)
    assert pool.forward(x)[0, 0].tolist() == [[5., 5.], [7., 8.]]
    dx = pool.backward(np.ones((1, 1, 2, 2)))
    assert dx[0, 0].tolist() == [[0., 2., 0.], [0., 0., 0.], [1., 0., 1.]]


@pytest.mark.parametrize("make,arg", [
    (lambda: MaxPool2d(0), "kernel_size"),
    (lambda: MaxPool2d(2, stride=0), "stride"),
    (lambda: MaxPool2d(2, padding=-1), "padding"),
    (lambda: MaxPool2d(2, padding=2), "padding"),        # more than half the kernel
    (lambda: MaxPool2d(2, dilation=0), "dilation"),
    (lambda: MaxPool2d((2, 2, 2)), "kernel_size"),
    (lambda: MaxPool1d(3, stride=(1, 1)), "stride"),
    (lambda: AvgPool2d(3, padding=2), "padding"),
    (lambda: AvgPool2d(-1), "kernel_size"),
    (lambda: AvgPool1d(2, stride=-2), "stride"),
    (lambda: AdaptiveAvgPool2d(0), "output_size"),
    (lambda: AdaptiveAvgPool2d((2, -1)), "output_size"),
    (lambda: AdaptiveAvgPool2d((2, 2, 2)), "output_size"),
    (lambda: AdaptiveAvgPool2d("big"), "output_size"),
])
def test_bad_constructor_arguments_raise_value_error(make, arg):
    with pytest.raises(ValueError, match=arg):
        make()


@pytest.mark.parametrize("layer,x_shape,arg", [
    (MaxPool2d(2), (4, 4), "input"),
    (MaxPool2d(2), (1, 1, 4, 4, 4), "input"),
    (MaxPool1d(2), (1, 1, 4, 4), "input"),
    (MaxPool2d(3), (1, 1, 2, 5), "kernel_size"),          # output height 0
    (MaxPool2d(2, dilation=3), (1, 1, 3, 3), "kernel_size"),
    (AvgPool2d(3), (1, 1, 5, 2), "kernel_size"),
    (AdaptiveAvgPool2d(2), (4,), "input"),
])
def test_bad_inputs_raise_value_error(layer, x_shape, arg):
    with pytest.raises(ValueError, match=arg):
        layer.forward(np.zeros(x_shape))


def test_maxpool_nan_and_minus_inf_like_torch():
    x = distinct_input((2, 2, 6, 7), 4)
    x[0, 0, 1, 2] = np.nan
    x[1, 1, 2:5, 0:4] = -np.inf              # a window of -inf only: torch's index rule
    kwargs = dict(kernel_size=3, stride=2, padding=1, return_indices=True)
    (y, idx), (yt, idxt) = MaxPool2d(**kwargs).forward(x), \
        torch.nn.MaxPool2d(**kwargs)(torch.tensor(x))
    np.testing.assert_array_equal(y, yt.numpy())          # NaN and -inf in the same places
    np.testing.assert_array_equal(idx, idxt.numpy())
