"""Conv1d/2d/3d and ConvTranspose1d/2d/3d against torch: forward, input/weight/bias gradients,
state dicts, dtypes, argument validation."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from reference import functional as F
from reference.nn.conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, \
    ConvTranspose3d

from ._torch_compare import SETTINGS, rel_err

TORCH = {Conv1d: torch.nn.Conv1d, Conv2d: torch.nn.Conv2d, Conv3d: torch.nn.Conv3d,
         ConvTranspose1d: torch.nn.ConvTranspose1d, ConvTranspose2d: torch.nn.ConvTranspose2d,
         ConvTranspose3d: torch.nn.ConvTranspose3d}
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


def compare_with_torch(cls, kwargs, x_shape, seed, dtype=np.float64, tol=1e-9):
    """Build both layers with torch's weights, run forward + backward under a random upstream
    gradient, assert every result agrees within ``tol`` (relative to the max |torch value|)."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    tmod = TORCH[cls](**kwargs, dtype=tdtype)
    ours = cls(**kwargs, rng=rng, dtype=dtype)
    # same keys, order and shapes as torch, then torch's values
    assert list(ours.state_dict()) == list(tmod.state_dict())
    for key, value in tmod.state_dict().items():
        assert ours.state_dict()[key].shape == tuple(value.shape)
    ours.load_state_dict({k: v.detach().numpy() for k, v in tmod.state_dict().items()})

    x = rng.standard_normal(x_shape).astype(dtype)
    xt = torch.tensor(x, requires_grad=True)
    yt = tmod(xt)
    y = ours.forward(x)
    assert y.dtype == dtype
    assert rel_err(y, yt) <= tol
    g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    yt.backward(torch.tensor(g))
    dx = ours.backward(g)
    assert dx.dtype == dtype
    assert rel_err(dx, xt.grad) <= tol
    assert ours.grads["weight"].dtype == dtype
    assert rel_err(ours.grads["weight"], tmod.weight.grad) <= tol
    if kwargs.get("bias", True):
        assert rel_err(ours.grads["bias"], tmod.bias.grad) <= tol
    else:
        assert ours.bias is None and "bias" not in ours.grads
        assert "bias" not in ours.state_dict()


# ---------------------------------------------------------------------------------------------
# random configurations
# ---------------------------------------------------------------------------------------------
@st.composite
def conv_case(draw, dims: int, max_extra: int = 4):
    """Random torch-valid conv config and an input shape giving a positive output size."""
    groups_kind = draw(st.sampled_from(["one", "groups", "depthwise"]))
    if groups_kind == "one":
        groups, cin, cout = 1, draw(st.integers(1, 3)), draw(st.integers(1, 4))
    elif groups_kind == "groups":
        groups = draw(st.integers(2, 3))
        cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    else:
        groups = cin = draw(st.integers(2, 4))
        cout = cin * draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, 4)) for _ in range(dims))
    dil = tuple(draw(st.integers(1, 2)) for _ in range(dims))
    mode = draw(st.sampled_from(F.PADDING_MODES))
    pad_kind = draw(st.sampled_from(["int", "tuple", "same", "valid"]))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    if pad_kind == "same":
        stride = (1,) * dims
        padding = "same"
        pads = [dl * (kk - 1) for dl, kk in zip(dil, k)]
        pads = [(p // 2, p - p // 2) for p in pads]
    elif pad_kind == "valid":
        padding, pads = "valid", [(0, 0)] * dims
    else:
        pd = tuple(draw(st.integers(0, 2)) for _ in range(dims))
        padding = pd if pad_kind == "tuple" else pd[0]
        pads = [(p, p) for p in pd] if pad_kind == "tuple" else [(pd[0], pd[0])] * dims
    sizes = []
    for kk, dl, (lo, hi) in zip(k, dil, pads):
        need = max(dl * (kk - 1) + 1 - lo - hi, max(lo, hi) + 1, 1)
        sizes.append(need + draw(st.integers(0, max_extra)))
    n = draw(st.integers(1, 3))
    kwargs = dict(in_channels=cin, out_channels=cout, kernel_size=k if draw(st.booleans()) or
                  len(set(k)) > 1 else k[0], stride=stride if len(set(stride)) > 1 else
                  stride[0], padding=padding, dilation=dil, groups=groups,
                  bias=draw(st.booleans()), padding_mode=mode)
    return kwargs, (n, cin) + tuple(sizes)


@settings(max_examples=50, **SETTINGS)
@given(case=conv_case(2), seed=st.integers(0, 2**16))
def test_conv2d_matches_torch(case, seed):
    kwargs, x_shape = case
    compare_with_torch(Conv2d, kwargs, x_shape, seed)


@settings(max_examples=25, **SETTINGS)
@given(case=conv_case(1, max_extra=6), seed=st.integers(0, 2**16))
def test_conv1d_matches_torch(case, seed):
    kwargs, x_shape = case
    compare_with_torch(Conv1d, kwargs, x_shape, seed)


@settings(max_examples=20, **SETTINGS)
@given(case=conv_case(3, max_extra=2), seed=st.integers(0, 2**16))
def test_conv3d_matches_torch(case, seed):
    kwargs, x_shape = case
    compare_with_torch(Conv3d, kwargs, x_shape, seed)


@st.composite
def conv_transpose_case(draw, dims: int):
    groups = draw(st.integers(1, 3))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, 4)) for _ in range(dims))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    dil = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    out_pad = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dil))
    sizes = tuple(draw(st.integers(1, 5)) for _ in range(dims))
    # padding small enough that the output stays positive
    padding = []
    for s, kk, st_, dl, op in zip(sizes, k, stride, dil, out_pad):
        full = (s - 1) * st_ + dl * (kk - 1) + op + 1
        padding.append(draw(st.integers(0, min(2, (full - 1) // 2))))
    kwargs = dict(in_channels=cin, out_channels=cout, kernel_size=k, stride=stride,
                  padding=tuple(padding), output_padding=out_pad, groups=groups,
                  bias=draw(st.booleans()), dilation=dil)
    return kwargs, (draw(st.integers(1, 3)), cin) + sizes


@settings(max_examples=40, **SETTINGS)
@given(case=conv_transpose_case(2), seed=st.integers(0, 2**16))
def test_conv_transpose2d_matches_torch(case, seed):
    kwargs, x_shape = case
    compare_with_torch(ConvTranspose2d, kwargs, x_shape, seed)


@settings(max_examples=20, **SETTINGS)
@given(case=conv_transpose_case(1), seed=st.integers(0, 2**16))
def test_conv_transpose1d_matches_torch(case, seed):
    kwargs, x_shape = case
    compare_with_torch(ConvTranspose1d, kwargs, x_shape, seed)


def test_conv_transpose3d_matches_torch():
    compare_with_torch(ConvTranspose3d, dict(in_channels=2, out_channels=4, kernel_size=(2, 3, 2),
                                             stride=(2, 1, 2), padding=(0, 1, 1),
                                             output_padding=(1, 0, 0), groups=2),
                       (2, 2, 3, 4, 3), seed=3)


# ---------------------------------------------------------------------------------------------
# named edge cases (always run, whatever hypothesis draws)
# ---------------------------------------------------------------------------------------------
EDGE_CASES = [
    ("batch 1, odd sizes", dict(in_channels=3, out_channels=5, kernel_size=3), (1, 3, 7, 9)),
    ("kernel 1", dict(in_channels=4, out_channels=2, kernel_size=1), (2, 4, 5, 3)),
    ("kernel = input size", dict(in_channels=2, out_channels=3, kernel_size=(5, 4)), (2, 2, 5, 4)),
    ("stride > kernel", dict(in_channels=2, out_channels=3, kernel_size=2, stride=3),
     (2, 2, 11, 8)),
    ("rectangular kernel and stride, dilation", dict(in_channels=2, out_channels=3,
                                                      kernel_size=(3, 1), stride=(1, 2),
                                                      dilation=(2, 1), padding=(2, 0)),
     (2, 2, 9, 8)),
    ("depthwise", dict(in_channels=4, out_channels=4, kernel_size=3, groups=4, padding=1),
     (2, 4, 6, 6)),
    ("depthwise multiplier, no bias", dict(in_channels=3, out_channels=6, kernel_size=3, groups=3,
                                           bias=False), (2, 3, 6, 5)),
    ("pointwise (1x1) after depthwise", dict(in_channels=6, out_channels=4, kernel_size=1),
     (2, 6, 4, 4)),
    ("reflect", dict(in_channels=2, out_channels=3, kernel_size=3, padding=2,
                     padding_mode="reflect"), (2, 2, 5, 4)),
    ("replicate, large padding", dict(in_channels=2, out_channels=3, kernel_size=3, padding=5,
                                      padding_mode="replicate"), (2, 2, 3, 2)),
    ("circular, padding = size", dict(in_channels=2, out_channels=3, kernel_size=3, padding=3,
                                      padding_mode="circular"), (2, 2, 3, 4)),
    ("same, even kernel (asymmetric split)", dict(in_channels=2, out_channels=3,
                                                  kernel_size=(4, 2), padding="same",
                                                  dilation=(1, 3)), (2, 2, 7, 6)),
    ("same + reflect", dict(in_channels=2, out_channels=2, kernel_size=4, padding="same",
                            padding_mode="reflect"), (1, 2, 6, 5)),
]


@pytest.mark.parametrize("name,kwargs,x_shape", EDGE_CASES, ids=[c[0] for c in EDGE_CASES])
def test_conv2d_edge_cases(name, kwargs, x_shape):
    compare_with_torch(Conv2d, kwargs, x_shape, seed=len(name))


@pytest.mark.parametrize("cls,kwargs,x_shape", [
    (Conv2d, dict(in_channels=4, out_channels=6, kernel_size=3, padding=1, groups=2),
     (2, 4, 9, 7)),
    (Conv1d, dict(in_channels=3, out_channels=4, kernel_size=5, stride=2, padding=2),
     (3, 3, 17)),
    (Conv3d, dict(in_channels=2, out_channels=3, kernel_size=3, padding=1), (2, 2, 5, 4, 6)),
    (ConvTranspose2d, dict(in_channels=4, out_channels=6, kernel_size=3, stride=2, padding=1,
                           output_padding=1), (2, 4, 5, 6)),
])
def test_float32_matches_torch(cls, kwargs, x_shape):
    compare_with_torch(cls, kwargs, x_shape, seed=7, dtype=np.float32, tol=1e-4)


def test_float32_input_with_float64_weights_computes_in_float32():
    conv = Conv2d(2, 3, 3, rng=0)
    x = np.random.default_rng(1).standard_normal((1, 2, 5, 5)).astype(np.float32)
    y = conv.forward(x)
    assert y.dtype == np.float32
    assert conv.backward(np.ones_like(y)).dtype == np.float32
    assert conv.grads["weight"].dtype == np.float64      # the parameter's dtype


def test_unbatched_input_like_torch():
    torch.manual_seed(0)
    tmod = torch.nn.Conv2d(2, 3, 3, padding=1, dtype=torch.float64)
    ours = Conv2d(2, 3, 3, padding=1)
    ours.load_state_dict(tmod.state_dict())
    x = np.random.default_rng(0).standard_normal((2, 5, 4))
    xt = torch.tensor(x, requires_grad=True)
    yt = tmod(xt)
    yt.sum().backward()
    y = ours.forward(x)
    assert rel_err(y, yt) <= 1e-12
    assert rel_err(ours.backward(np.ones(y.shape)), xt.grad) <= 1e-12


# ---------------------------------------------------------------------------------------------
# parameters, state dicts, init
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls,args,kwargs", [
    (Conv2d, (3, 8, 3), dict()),
    (Conv2d, (4, 8, (3, 5)), dict(groups=2, bias=False)),
    (Conv1d, (3, 6, 5), dict(bias=False)),
    (Conv3d, (2, 4, 3), dict()),
    (ConvTranspose2d, (4, 6, 3), dict(groups=2)),
    (ConvTranspose1d, (4, 6, 3), dict(bias=False)),
])
def test_state_dict_keys_and_shapes_match_torch(cls, args, kwargs):
    ours, theirs = cls(*args, **kwargs).state_dict(), TORCH[cls](*args, **kwargs).state_dict()
    assert list(ours) == list(theirs)
    for key in theirs:
        assert ours[key].shape == tuple(theirs[key].shape)
        assert ours[key].dtype == np.float64


def test_load_state_dict_from_torch_reproduces_torch_output():
    torch.manual_seed(1)
    tmod = torch.nn.Conv2d(3, 4, (3, 2), stride=(2, 1), padding=1, dtype=torch.float64)
    ours = Conv2d(3, 4, (3, 2), stride=(2, 1), padding=1)
    ours.load_state_dict({k: v.detach().numpy() for k, v in tmod.state_dict().items()})
    x = np.random.default_rng(2).standard_normal((2, 3, 8, 7))
    assert rel_err(ours.forward(x), tmod(torch.tensor(x))) <= 1e-12
    # and the other way: our parameters into torch
    ours2 = Conv2d(3, 4, (3, 2), stride=(2, 1), padding=1, rng=5)
    tmod.load_state_dict({k: torch.tensor(v) for k, v in ours2.state_dict().items()})
    assert rel_err(ours2.forward(x), tmod(torch.tensor(x))) <= 1e-12


@pytest.mark.parametrize("cls,args,fan_in", [
    (Conv2d, (4, 8, 3), 4 * 9), (Conv2d, (4, 8, 3, 1, 0, 1, 2), 2 * 9),
    (ConvTranspose2d, (4, 6, 3), 6 * 9), (Conv1d, (2, 3, 5), 10),
])
def test_init_is_torch_uniform_and_seeded(cls, args, fan_in):
    a, b, c = cls(*args, rng=11), cls(*args, rng=11), cls(*args, rng=12)
    np.testing.assert_array_equal(a.weight, b.weight)
    assert not np.array_equal(a.weight, c.weight)
    bound = 1 / np.sqrt(fan_in)
    for p in (a.weight, a.bias):
        assert np.abs(p).max() <= bound
    assert np.abs(a.weight).max() > 0.5 * bound        # spread over the interval, not tiny
    assert a.weight.dtype == np.float64
    assert cls(*args, rng=0, dtype=np.float32).weight.dtype == np.float32


def test_module_to_float32_and_grads():
    conv = Conv2d(2, 3, 3, rng=0).to(np.float32)
    x = np.ones((1, 2, 4, 4), dtype=np.float32)
    y = conv.forward(x)
    conv.backward(np.ones_like(y))
    assert set(conv.grads) == {"weight", "bias"}
    assert conv.grads["weight"].dtype == np.float32
    assert conv.grads["weight"].shape == conv.weight.shape


# ---------------------------------------------------------------------------------------------
# validation: ValueError naming the argument
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make,arg", [
    (lambda: Conv2d(3, 4, 3, groups=2), "in_channels"),
    (lambda: Conv2d(4, 3, 3, groups=2), "out_channels"),
    (lambda: Conv2d(0, 4, 3), "in_channels"),
    (lambda: Conv2d(2, -1, 3), "out_channels"),
    (lambda: Conv2d(2, 4, 3, groups=0), "groups"),
    (lambda: Conv2d(2, 4, 3, padding=-1), "padding"),
    (lambda: Conv2d(2, 4, 3, padding=(1, -2)), "padding"),
    (lambda: Conv2d(2, 4, 3, padding="full"), "padding"),
    (lambda: Conv2d(2, 4, 3, padding="same", stride=2), "padding"),
    (lambda: Conv2d(2, 4, 0), "kernel_size"),
    (lambda: Conv2d(2, 4, (3, 3, 3)), "kernel_size"),
    (lambda: Conv2d(2, 4, 3, stride=0), "stride"),
    (lambda: Conv2d(2, 4, 3, stride=(1, -1)), "stride"),
    (lambda: Conv2d(2, 4, 3, dilation=0), "dilation"),
    (lambda: Conv2d(2, 4, 3, padding_mode="mirror"), "padding_mode"),
    (lambda: Conv1d(2, 4, 2.5), "kernel_size"),
    (lambda: Conv3d(2, 4, 3, stride=(1, 1)), "stride"),
    (lambda: ConvTranspose2d(2, 4, 3, stride=2, output_padding=2), "output_padding"),
    (lambda: ConvTranspose2d(2, 4, 3, output_padding=1), "output_padding"),
    (lambda: ConvTranspose2d(2, 4, 3, padding=-1), "padding"),
    (lambda: ConvTranspose2d(3, 4, 3, groups=2), "in_channels"),
    (lambda: ConvTranspose2d(2, 4, 3, padding_mode="reflect"), "padding_mode"),
    (lambda: ConvTranspose1d(2, 4, 3, padding="same"), "padding"),
])
def test_bad_constructor_arguments_raise_value_error(make, arg):
    with pytest.raises(ValueError, match=arg):
        make()


@pytest.mark.parametrize("layer,x_shape,arg", [
    (Conv2d(3, 4, 3), (2, 3, 5), "in_channels"),            # 3-D = unbatched (C=2) here
    (Conv2d(3, 4, 3), (2, 3, 5, 5, 5), "input"),            # wrong rank
    (Conv2d(3, 4, 3), (2, 2, 5, 5), "in_channels"),          # wrong channel count
    (Conv2d(3, 4, 5), (2, 3, 4, 9), "kernel_size"),          # output height 0
    (Conv2d(3, 4, 3, dilation=3), (1, 3, 6, 6), "kernel_size"),
    (Conv1d(3, 4, 3), (2, 3, 4, 4), "input"),
    (Conv2d(3, 4, 3, padding=3, padding_mode="reflect"), (1, 3, 3, 3), "padding"),
    (Conv2d(3, 4, 3, padding=4, padding_mode="circular"), (1, 3, 3, 3), "padding"),
    (ConvTranspose2d(3, 4, 3, padding=3), (1, 3, 1, 1), "kernel_size"),
    (ConvTranspose2d(3, 4, 3), (1, 4, 3, 3), "in_channels"),
])
def test_bad_inputs_raise_value_error(layer, x_shape, arg):
    with pytest.raises(ValueError, match=arg):
        layer.forward(np.zeros(x_shape))


def test_backward_checks_grad_shape_and_order():
    conv = Conv2d(2, 3, 3)
    with pytest.raises(RuntimeError):
        conv.backward(np.zeros((1, 3, 2, 2)))
    y = conv.forward(np.zeros((1, 2, 4, 4)))
    with pytest.raises(ValueError, match="grad_out"):
        conv.backward(np.zeros((1, 3) + y.shape[2:][::-1] + (1,)))
