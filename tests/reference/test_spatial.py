"""Upsample and the 2-d padding layers against torch, and the adjoint identities of the
functional kernels (im2col/col2im, pad/pad_backward, conv/conv_transpose)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from reference import functional as F
from reference.nn.shape import ReflectionPad2d, ReplicationPad2d, Upsample, ZeroPad2d

from ._torch_compare import SETTINGS, rel_err

PAD_LAYERS = {ZeroPad2d: torch.nn.ZeroPad2d, ReflectionPad2d: torch.nn.ReflectionPad2d,
              ReplicationPad2d: torch.nn.ReplicationPad2d}


def compare_with_torch(ours, theirs, x_shape, seed, dtype=np.float64, tol=1e-9):
    rng = np.random.default_rng(seed)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []
    x = rng.standard_normal(x_shape).astype(dtype)
    xt = torch.tensor(x, requires_grad=True)
    yt = theirs(xt)
    y = ours.forward(x)
    assert y.dtype == dtype
    assert rel_err(y, yt) <= tol
    g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    yt.backward(torch.tensor(g))
    dx = ours.backward(g)
    assert dx.dtype == dtype
    assert rel_err(dx, xt.grad) <= tol


# ---------------------------------------------------------------------------------------------
# Upsample
# ---------------------------------------------------------------------------------------------
SCALES = [0.5, 0.75, 1.0, 1.3, 1.5, 1.7, 2.0, 2.5, 3.0, 1 / 3]


@st.composite
def upsample_case(draw):
    mode = draw(st.sampled_from(["nearest", "bilinear"]))
    kwargs = dict(mode=mode)
    if mode == "bilinear":
        kwargs["align_corners"] = draw(st.sampled_from([None, False, True]))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    if draw(st.booleans()):
        size = (draw(st.integers(1, 20)), draw(st.integers(1, 20)))
        kwargs["size"] = size if size[0] != size[1] or draw(st.booleans()) else size[0]
    else:
        sf = (draw(st.sampled_from(SCALES)), draw(st.sampled_from(SCALES)))
        if sf[0] == sf[1] and draw(st.booleans()):
            sf = sf[0]
        kwargs["scale_factor"] = sf
        sfs = sf if isinstance(sf, tuple) else (sf, sf)
        h, w = max(h, int(np.ceil(1 / sfs[0]))), max(w, int(np.ceil(1 / sfs[1])))
    return kwargs, (draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w)


@settings(max_examples=60, **SETTINGS)
@given(case=upsample_case(), seed=st.integers(0, 2**16))
def test_upsample_matches_torch(case, seed):
    kwargs, x_shape = case
    compare_with_torch(Upsample(**kwargs), torch.nn.Upsample(**kwargs), x_shape, seed)


@pytest.mark.parametrize("kwargs,x_shape", [
    (dict(scale_factor=2), (2, 3, 4, 5)),                           # the common 2x
    (dict(size=(7, 3)), (1, 2, 3, 7)),                              # down along W
    (dict(size=(5, 13)), (1, 1, 9, 8)),                             # float32 index arithmetic
    (dict(scale_factor=1.7), (1, 1, 9, 8)),                         # 1/scale, not in/out
    (dict(scale_factor=2, mode="bilinear"), (2, 2, 4, 5)),
    (dict(scale_factor=2, mode="bilinear", align_corners=True), (2, 2, 4, 5)),
    (dict(size=1, mode="bilinear", align_corners=True), (1, 1, 4, 5)),
    (dict(scale_factor=(0.6, 2.3), mode="bilinear"), (1, 2, 9, 4)),
    (dict(size=(4, 9), mode="bilinear"), (1, 1, 4, 3)),            # identity along H
])
def test_upsample_cases(kwargs, x_shape):
    compare_with_torch(Upsample(**kwargs), torch.nn.Upsample(**kwargs), x_shape, seed=3)


@pytest.mark.parametrize("kwargs", [dict(scale_factor=2),
                                    dict(size=(7, 9), mode="bilinear", align_corners=False),
                                    dict(scale_factor=1.5, mode="bilinear", align_corners=True)])
def test_upsample_float32(kwargs):
    compare_with_torch(Upsample(**kwargs), torch.nn.Upsample(**kwargs), (2, 3, 5, 6), seed=1,
                       dtype=np.float32, tol=1e-4)


def test_upsample_nearest_2x_repeats_pixels():
    x = np.arange(4.0).reshape(1, 1, 2, 2)
    np.testing.assert_array_equal(Upsample(scale_factor=2).forward(x)[0, 0],
                                  [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]])


# ---------------------------------------------------------------------------------------------
# padding layers
# ---------------------------------------------------------------------------------------------
@settings(max_examples=50, **SETTINGS)
@given(cls=st.sampled_from(list(PAD_LAYERS)), h=st.integers(1, 6), w=st.integers(1, 6),
       pads=st.tuples(*[st.integers(0, 7)] * 4), as_int=st.booleans(), batched=st.booleans(),
       seed=st.integers(0, 2**16))
def test_pad_layers_match_torch(cls, h, w, pads, as_int, batched, seed):
    if as_int:
        pads = pads[0]
    left, right, top, bottom = (pads,) * 4 if as_int else pads
    if cls is ReflectionPad2d:     # torch: reflect padding must be smaller than the size
        left, right = min(left, w - 1), min(right, w - 1)
        top, bottom = min(top, h - 1), min(bottom, h - 1)
        pads = (left, right, top, bottom)
        if as_int and len(set(pads)) == 1:
            pads = pads[0]
    shape = ((2,) if batched else ()) + (3, h, w)
    compare_with_torch(cls(pads), PAD_LAYERS[cls](pads), shape, seed)


@pytest.mark.parametrize("cls", list(PAD_LAYERS))
def test_pad_layers_float32(cls):
    compare_with_torch(cls((1, 2, 3, 0)), PAD_LAYERS[cls]((1, 2, 3, 0)), (2, 3, 5, 4), seed=2,
                       dtype=np.float32, tol=1e-6)


def test_reflection_and_replication_borders():
    x = np.array([[[[1.0, 2.0, 3.0]]]])
    np.testing.assert_array_equal(ReflectionPad2d((2, 2, 0, 0)).forward(x)[0, 0, 0],
                                  [3, 2, 1, 2, 3, 2, 1])
    np.testing.assert_array_equal(ReplicationPad2d((2, 2, 0, 0)).forward(x)[0, 0, 0],
                                  [1, 1, 1, 2, 3, 3, 3])
    np.testing.assert_array_equal(ZeroPad2d((2, 2, 0, 0)).forward(x)[0, 0, 0],
                                  [0, 0, 1, 2, 3, 0, 0])


# ---------------------------------------------------------------------------------------------
# functional kernels: adjoint identities <A x, y> = <x, A^T y>
# ---------------------------------------------------------------------------------------------
@settings(max_examples=40, **SETTINGS)
@given(mode=st.sampled_from(F.PADDING_MODES), sizes=st.tuples(st.integers(2, 6), st.integers(2, 6)),
       pads=st.tuples(*[st.integers(0, 5)] * 4), seed=st.integers(0, 2**16))
def test_pad_backward_is_adjoint_of_pad(mode, sizes, pads, seed):
    pairs = [(pads[0], pads[1]), (pads[2], pads[3])]
    if mode == "reflect":
        pairs = [(min(lo, s - 1), min(hi, s - 1)) for (lo, hi), s in zip(pairs, sizes)]
    if mode == "circular":
        pairs = [(min(lo, s), min(hi, s)) for (lo, hi), s in zip(pairs, sizes)]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 3) + sizes)
    y = F.pad(x, pairs, mode)
    g = rng.standard_normal(y.shape)
    gx = F.pad_backward(g, pairs, mode)
    assert gx.shape == x.shape
    assert abs(np.vdot(y, g) - np.vdot(x, gx)) <= 1e-10 * (np.abs(y).sum() * np.abs(g).max())
    # and pad agrees with torch's F.pad
    torch_mode = {"zeros": "constant"}.get(mode, mode)
    yt = torch.nn.functional.pad(torch.tensor(x), (*pairs[1], *pairs[0]), mode=torch_mode)
    np.testing.assert_array_equal(y, yt.numpy())


@settings(max_examples=40, **SETTINGS)
@given(dims=st.integers(1, 3), seed=st.integers(0, 2**16), data=st.data())
def test_col2im_is_adjoint_of_im2col(dims, seed, data):
    k = tuple(data.draw(st.integers(1, 3)) for _ in range(dims))
    stride = tuple(data.draw(st.integers(1, 3)) for _ in range(dims))
    dil = tuple(data.draw(st.integers(1, 2)) for _ in range(dims))
    sizes = tuple(dl * (kk - 1) + 1 + data.draw(st.integers(0, 4)) for kk, dl in zip(k, dil))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 2) + sizes)
    col = F.im2col(x, k, stride, dil)
    out_shape = tuple((s - dl * (kk - 1) - 1) // st + 1 for s, kk, st, dl in
                      zip(sizes, k, stride, dil))
    assert col.shape == (2, 2) + k + out_shape
    c = rng.standard_normal(col.shape)
    back = F.col2im(c, x.shape, k, stride, dil)
    assert abs(np.vdot(col, c) - np.vdot(x, back)) <= 1e-10 * np.abs(col).sum() * np.abs(c).max()


def test_im2col_entries():
    x = np.arange(2 * 5 * 6, dtype=float).reshape(1, 2, 5, 6)
    col = F.im2col(x, (2, 3), (2, 1), (2, 1))          # (1, 2, 2, 3, O_h=2, O_w=4)
    assert col.shape == (1, 2, 2, 3, 2, 4)
    for c, kh, kw, oh, ow in [(0, 0, 0, 0, 0), (1, 1, 2, 1, 3), (0, 1, 1, 0, 2)]:
        assert col[0, c, kh, kw, oh, ow] == x[0, c, oh * 2 + kh * 2, ow + kw]


def test_conv_transpose_is_adjoint_of_conv():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 9, 8))
    w = rng.standard_normal((6, 2, 3, 2))
    y, _ = F.conv_forward(x, w, None, (2, 3), ((1, 1), (0, 0)), (1, 2), groups=2)
    g = rng.standard_normal(y.shape)
    # conv_transpose with the same weight maps back to the (cropped) input shape
    op = tuple(s - F.conv_transpose_output_size(o, k, st, p, 0, dl) for s, o, k, st, p, dl in
               zip(x.shape[2:], y.shape[2:], (3, 2), (2, 3), (1, 0), (1, 2)))
    back, _ = F.conv_transpose_forward(g, w, None, (2, 3), (1, 0), op, (1, 2), groups=2)
    assert back.shape == x.shape
    assert abs(np.vdot(y, g) - np.vdot(x, back)) <= 1e-10 * np.abs(y).sum() * np.abs(g).max()


@pytest.mark.parametrize("size,k,s,p,d,ceil", [
    (5, 2, 2, 1, 1, True), (6, 2, 2, 0, 1, True), (7, 3, 2, 1, 1, True), (10, 3, 3, 1, 2, True),
    (7, 3, 2, 1, 1, False), (4, 4, 1, 2, 1, True),
])
def test_pool_output_size_matches_torch(size, k, s, p, d, ceil):
    out = torch.nn.functional.max_pool1d(torch.zeros(1, 1, size), k, s, p, d, ceil_mode=ceil)
    assert F.pool_output_size(size, k, s, p, d, ceil) == out.shape[-1]


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make,arg", [
    (lambda: Upsample(), "size"),
    (lambda: Upsample(size=4, scale_factor=2), "scale_factor"),
    (lambda: Upsample(size=0), "size"),
    (lambda: Upsample(size=(2, 2, 2)), "size"),
    (lambda: Upsample(scale_factor=-1), "scale_factor"),
    (lambda: Upsample(scale_factor="2"), "scale_factor"),
    (lambda: Upsample(scale_factor=2, mode="bicubic"), "mode"),
    (lambda: Upsample(scale_factor=2, align_corners=True), "align_corners"),
    (lambda: ZeroPad2d(-1), "padding"),
    (lambda: ReflectionPad2d((1, 2, 3)), "padding"),
    (lambda: ReplicationPad2d((1, 2, -3, 0)), "padding"),
    (lambda: ZeroPad2d(1.5), "padding"),
])
def test_bad_constructor_arguments_raise_value_error(make, arg):
    with pytest.raises(ValueError, match=arg):
        make()


@pytest.mark.parametrize("layer,x_shape,arg", [
    (Upsample(scale_factor=2), (1, 4, 4), "input"),
    (Upsample(scale_factor=2), (1, 1, 1, 4, 4), "input"),
    (Upsample(scale_factor=0.2), (1, 1, 4, 4), "scale_factor"),
    (ZeroPad2d(1), (4, 4), "input"),
    (ReflectionPad2d(3), (1, 1, 3, 5), "padding"),
    (ReflectionPad2d((0, 0, 1, 1)), (1, 1, 1, 5), "padding"),
])
def test_bad_inputs_raise_value_error(layer, x_shape, arg):
    with pytest.raises(ValueError, match=arg):
        layer.forward(np.zeros(x_shape))
