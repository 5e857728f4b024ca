"""reference.arith against torch: every formula on random configurations, receptive fields by
brute force (backprop one output unit, measure the input gradient's support)."""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from fractions import Fraction

import pytest
import torch
import torch.nn as nn
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from reference import arith

torch.set_num_threads(1)

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def torch_out_len(layer: nn.Module, size: int, channels: int = 1) -> int:
    """Run a zero tensor (batch 1, 1-d) through ``layer`` and return the output length."""
    with torch.no_grad():
        return layer(torch.zeros(1, channels, size)).shape[-1]


# ----------------------------------------------------------------------------- output sizes

def test_lecture_examples():
    # 7x7 input, 3x3 filter, stride 1, pad 1 -> 7x7 (CS231n slide); 32x32 with 5x5 -> 28x28
    assert arith.conv_output_size(7, 3, 1, 1) == 7
    assert arith.conv_output_size(32, 5) == 28
    assert arith.conv_output_size(7, 3, stride=2) == 3
    assert arith.conv_output_size(227, 11, stride=4) == 55  # AlexNet conv1
    assert arith.conv_output_size(572, 3) == 570  # UNet, valid conv
    # 'same' padding (F-1)/2 for F = 3, 5, 7 keeps the size
    for f in (3, 5, 7):
        assert arith.conv_output_size(17, f, padding=(f - 1) // 2) == 17
    # transposed conv 2x2 stride 2 doubles: W2 = W1*S
    assert arith.conv_transpose_output_size(14, 2, stride=2) == 28
    assert arith.pool_output_size(4, 2) == 2  # max pool 2x2 stride 2 on the 4x4 slide
    assert arith.pool_output_size(112, 3, 2, ceil_mode=True) == 56  # GoogLeNet maxpool1
    assert arith.pool_output_size(112, 3, 2, ceil_mode=False) == 55


@SETTINGS
@given(size=st.integers(1, 40), k=st.integers(1, 7), s=st.integers(1, 4), p=st.integers(0, 3),
       d=st.integers(1, 3))
def test_conv_output_size_matches_torch(size, k, s, p, d):
    layer = nn.Conv1d(1, 1, k, stride=s, padding=p, dilation=d, bias=False)
    if d * (k - 1) + 1 > size + 2 * p:
        with pytest.raises(RuntimeError):
            torch_out_len(layer, size)
        with pytest.raises(ValueError, match="kernel_size"):
            arith.conv_output_size(size, k, s, p, d)
    else:
        assert arith.conv_output_size(size, k, s, p, d) == torch_out_len(layer, size)


@SETTINGS
@given(size=st.integers(1, 20), k=st.integers(1, 6), s=st.integers(1, 4), p=st.integers(0, 3),
       op=st.integers(0, 3), d=st.integers(1, 3))
def test_conv_transpose_output_size_matches_torch(size, k, s, p, op, d):
    assume(op < s or op < d)
    expected = (size - 1) * s - 2 * p + d * (k - 1) + op + 1
    assume(expected >= 1)
    layer = nn.ConvTranspose1d(1, 1, k, stride=s, padding=p, output_padding=op, dilation=d,
                               bias=False)
    assert arith.conv_transpose_output_size(size, k, s, p, op, d) == torch_out_len(layer, size)


def test_conv_transpose_inverts_conv_size():
    # a stride-s conv maps s input sizes to one output size; output_padding picks among them
    for size in range(5, 30):
        out = arith.conv_output_size(size, 3, 2, 1)
        back = {arith.conv_transpose_output_size(out, 3, 2, 1, op) for op in (0, 1)}
        assert size in back


@SETTINGS
@given(size=st.integers(1, 30), k=st.integers(1, 6), s=st.one_of(st.none(), st.integers(1, 4)),
       p=st.integers(0, 3), d=st.integers(1, 3), ceil=st.booleans())
def test_pool_output_size_matches_torch(size, k, s, p, d, ceil):
    assume(2 * p <= k)
    assume(d * (k - 1) + 1 <= size + 2 * p)
    got = arith.pool_output_size(size, k, s, p, d, ceil)
    maxpool = nn.MaxPool1d(k, stride=s, padding=p, dilation=d, ceil_mode=ceil)
    assert got == torch_out_len(maxpool, size)
    if d == 1:
        avgpool = nn.AvgPool1d(k, stride=s, padding=p, ceil_mode=ceil)
        assert got == torch_out_len(avgpool, size)


def test_pool_output_size_rejects_large_padding():
    with pytest.raises(ValueError, match="padding"):
        arith.pool_output_size(10, 3, padding=2)
    with pytest.raises(RuntimeError):
        nn.MaxPool1d(3, padding=2)(torch.zeros(1, 1, 10))


@SETTINGS
@given(batch=st.one_of(st.none(), st.integers(1, 2)), groups=st.sampled_from([1, 2]),
       cin=st.integers(1, 3), cout=st.integers(1, 3),
       h=st.integers(4, 16), w=st.integers(4, 16),
       k=st.tuples(st.integers(1, 4), st.integers(1, 4)), s=st.tuples(st.integers(1, 3),
                                                                       st.integers(1, 3)),
       p=st.tuples(st.integers(0, 2), st.integers(0, 2)),
       d=st.tuples(st.integers(1, 2), st.integers(1, 2)), as_int=st.booleans())
def test_conv_output_shape_matches_torch(batch, groups, cin, cout, h, w, k, s, p, d, as_int):
    cin, cout = cin * groups, cout * groups
    if as_int:
        k, s, p, d = k[0], s[0], p[0], d[0]
    layer = nn.Conv2d(cin, cout, k, stride=s, padding=p, dilation=d, groups=groups)
    in_shape = (cin, h, w) if batch is None else (batch, cin, h, w)
    try:
        with torch.no_grad():
            expected = tuple(layer(torch.zeros(*in_shape)).shape)
    except RuntimeError:
        with pytest.raises(ValueError, match="kernel_size"):
            arith.conv_output_shape(in_shape, cout, k, s, p, d, groups)
        return
    assert arith.conv_output_shape(in_shape, cout, k, s, p, d, groups) == expected


@pytest.mark.parametrize("call, name", [
    (lambda: arith.conv_output_size(0, 3), "size"),
    (lambda: arith.conv_output_size(5, 0), "kernel_size"),
    (lambda: arith.conv_output_size(5, 3, stride=0), "stride"),
    (lambda: arith.conv_output_size(5, 3, padding=-1), "padding"),
    (lambda: arith.conv_output_size(5, 3, dilation=0), "dilation"),
    (lambda: arith.conv_output_size(5, 3.0), "kernel_size"),
    (lambda: arith.conv_output_size(5, True), "kernel_size"),
    (lambda: arith.conv_transpose_output_size(5, 3, stride=2, output_padding=2), "output_padding"),
    (lambda: arith.pool_output_size(5, 2, ceil_mode=1), "ceil_mode"),
    (lambda: arith.conv_output_shape((3, 8), 4, 3), "in_shape"),
    (lambda: arith.conv_output_shape((3, 8, 8), 4, (3, 3, 3)), "kernel_size"),
    (lambda: arith.conv_output_shape((3, 8, 8), 4, 3, groups=2), "groups"),
    (lambda: arith.conv_params(3, 4, 3, groups=2), "groups"),
    (lambda: arith.linear_params(0, 4), "in_features"),
    (lambda: arith.batchnorm_params(-2), "num_features"),
    (lambda: arith.factorized_ratio(6, 3), "small_kernel"),
    (lambda: arith.receptive_field([{"kernel": 3}]), "layers"),
    (lambda: arith.receptive_field([(3, 1, 0, 1, 9)]), "layers"),
    (lambda: arith.receptive_field([{"kernel_size": (3, 5)}]), "kernel_size"),
    (lambda: arith.count_parameters(object()), "module"),
])
def test_bad_arguments_name_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


# ----------------------------------------------------------------------------- parameter counts

def test_lecture_parameter_counts():
    assert arith.linear_params(784, 1000) == 785_000
    assert arith.linear_params(1000, 10) == 10_010
    # (F·F·C_in + 1)·C_out: 6 filters 5x5x3 -> 456
    assert arith.conv_params(3, 6, 5) == (5 * 5 * 3 + 1) * 6
    # lecture (MobileNet): K²·C_in·C_out vs K²·C_in + C_in·C_out (no biases)
    assert arith.conv_params(32, 64, 3, bias=False) == 9 * 32 * 64
    assert arith.depthwise_separable_params(32, 64, 3, bias=False) == 9 * 32 + 32 * 64


@SETTINGS
@given(dims=st.sampled_from([1, 2, 3]), groups=st.integers(1, 3), cin=st.integers(1, 4),
       cout=st.integers(1, 4), k=st.integers(1, 4), bias=st.booleans(), transposed=st.booleans())
def test_conv_params_match_torch(dims, groups, cin, cout, k, bias, transposed):
    cin, cout = cin * groups, cout * groups
    cls = {(1, False): nn.Conv1d, (2, False): nn.Conv2d, (3, False): nn.Conv3d,
           (1, True): nn.ConvTranspose1d, (2, True): nn.ConvTranspose2d,
           (3, True): nn.ConvTranspose3d}[dims, transposed]
    kernel = tuple(k + i for i in range(dims))  # non-square kernels too
    with torch.device("meta"):
        layer = cls(cin, cout, kernel, groups=groups, bias=bias)
    fn = arith.conv_transpose_params if transposed else arith.conv_params
    assert fn(cin, cout, kernel, groups=groups, bias=bias, dims=dims) == arith.count_parameters(layer)


@SETTINGS
@given(cin=st.integers(1, 64), cout=st.integers(1, 64), k=st.integers(1, 7), bias=st.booleans())
def test_depthwise_separable_and_linear_params_match_torch(cin, cout, k, bias):
    with torch.device("meta"):
        block = nn.Sequential(nn.Conv2d(cin, cin, k, groups=cin, bias=bias),
                              nn.Conv2d(cin, cout, 1, bias=bias))
        fc = nn.Linear(cin, cout, bias=bias)
    assert arith.depthwise_separable_params(cin, cout, k, bias=bias) == arith.count_parameters(block)
    assert arith.linear_params(cin, cout, bias=bias) == arith.count_parameters(fc)


@pytest.mark.parametrize("cls", [nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d])
@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm_counts_match_torch(cls, affine):
    for c in (1, 7, 64):
        bn = cls(c, affine=affine)
        assert arith.batchnorm_params(c, affine) == arith.count_parameters(bn)
        assert arith.batchnorm_buffers(c) == bn.running_mean.numel() + bn.running_var.numel()
        assert arith.batchnorm_buffers(c, include_num_batches_tracked=True) == arith.count_buffers(bn)
        assert arith.count_buffers(bn) == 2 * c + 1
    assert arith.batchnorm_buffers(5, track_running_stats=False) == 0
    assert arith.count_buffers(cls(5, track_running_stats=False)) == 0


def test_count_parameters_trainable_shared_and_buffers():
    conv = nn.Conv2d(3, 8, 3)
    net = nn.Sequential(conv, nn.BatchNorm2d(8), nn.ReLU(), conv)  # conv shared: counted once
    expected = arith.conv_params(3, 8, 3) + arith.batchnorm_params(8)
    assert arith.count_parameters(net) == expected
    conv.bias.requires_grad_(False)
    assert arith.count_parameters(net) == expected - 8
    assert arith.count_parameters(net, trainable_only=False) == expected
    assert arith.count_buffers(net) == arith.batchnorm_buffers(8, include_num_batches_tracked=True)
    assert arith.count_buffers(nn.Linear(3, 4)) == 0


# ----------------------------------------------------------------------------- multiply-accumulates

def torch_macs(module: nn.Module, shape: tuple[int, ...]) -> int:
    """MACs from torch's FLOP counter (it counts 2 FLOPs per multiply-accumulate)."""
    counter = FlopCounterMode(display=False)
    with torch.device("meta"), counter:
        module(torch.zeros(shape, device="meta"))
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    return flops // 2


@SETTINGS
@given(groups=st.integers(1, 3), cin=st.integers(1, 8), cout=st.integers(1, 8),
       k=st.integers(1, 5), s=st.integers(1, 2), h=st.integers(5, 40), w=st.integers(5, 40))
def test_conv_macs_match_torch_flop_counter(groups, cin, cout, k, s, h, w):
    cin, cout = cin * groups, cout * groups
    with torch.device("meta"):
        layer = nn.Conv2d(cin, cout, k, stride=s, groups=groups, bias=False)
    out = arith.conv_output_shape((1, cin, h, w), cout, k, s)
    assert arith.conv_macs(cin, cout, k, out[2:], groups=groups) == torch_macs(layer, (1, cin, h, w))


@SETTINGS
@given(cin=st.integers(1, 32), cout=st.integers(1, 32), k=st.sampled_from([1, 3, 5]),
       size=st.integers(5, 30), batch=st.integers(1, 3))
def test_separable_and_linear_macs_match_torch(cin, cout, k, size, batch):
    with torch.device("meta"):
        block = nn.Sequential(nn.Conv2d(cin, cin, k, padding=k // 2, groups=cin, bias=False),
                              nn.Conv2d(cin, cout, 1, bias=False))
        fc = nn.Linear(cin, cout)
    assert (arith.depthwise_separable_macs(cin, cout, k, (size, size))
            == arith.depthwise_separable_macs(cin, cout, k, size)
            == torch_macs(block, (1, cin, size, size)))
    assert arith.linear_macs(cin, cout, batch) == torch_macs(fc, (batch, cin))


@SETTINGS
@given(cin=st.integers(1, 64), cout=st.integers(1, 512), k=st.integers(1, 7),
       size=st.integers(1, 64))
def test_separable_cost_ratio_is_exact(cin, cout, k, size):
    ratio = arith.separable_cost_ratio(k, cout)
    assert isinstance(ratio, Fraction)
    assert ratio == Fraction(1, cout) + Fraction(1, k * k)
    assert ratio == Fraction(arith.depthwise_separable_macs(cin, cout, k, size),
                             arith.conv_macs(cin, cout, k, size))


def test_factorized_ratios():
    assert arith.factorized_5x5_ratio() == Fraction(18, 25)
    # lecture: 25·C_in·C_out vs 18·C_in·C_out, for any channel count
    for c in (1, 16, 192):
        two_3x3 = 2 * arith.conv_params(c, c, 3, bias=False)
        one_5x5 = arith.conv_params(c, c, 5, bias=False)
        assert Fraction(two_3x3, one_5x5) == arith.factorized_5x5_ratio()
        # and the two stacks see the same field
        assert (arith.receptive_field([(3,), (3,)]).size == arith.receptive_field([(5,)]).size)
    assert arith.factorized_ratio(7, 3) == Fraction(27, 49)
    assert arith.factorized_ratio(7, 7) == 1


# ----------------------------------------------------------------------------- receptive fields

def test_lecture_receptive_field_tables():
    for n, expected in zip((1, 2, 3), (3, 5, 7)):
        assert arith.receptive_field([(3, 1, 1)] * n).size == expected
    for n, expected in zip((1, 2, 3), (5, 9, 13)):
        assert arith.receptive_field([{"kernel_size": 5}] * n).size == expected
    # 3x3 stride 2 then 3x3: 7x7 (strided-convolution slide)
    assert arith.receptive_field([(3, 2), (3, 1)]).size == 7
    # dilation 1, 2, 4 stacked 3x3 (dilated-convolution slide): 3, 7, 15
    sizes = [rf.size for rf in arith.receptive_field_per_layer([(3, 1, 1, 1), (3, 1, 2, 2),
                                                                (3, 1, 4, 4)])]
    assert sizes == [3, 7, 15]
    assert arith.receptive_field([]) == arith.ReceptiveField(1, 1, 0)


def test_receptive_field_of_torch_modules_and_axis():
    stack = [nn.Conv2d(1, 1, (3, 5), stride=(1, 2), padding=(1, 2)), nn.MaxPool2d(2),
             nn.Conv2d(1, 1, 3, dilation=2)]
    h = arith.receptive_field(stack, axis=0)
    w = arith.receptive_field(stack, axis=1)
    assert h == arith.receptive_field([(3, 1, 1), (2, 2), (3, 1, 0, 2)])
    assert w == arith.receptive_field([(5, 2, 2), (2, 2), (3, 1, 0, 2)])
    with pytest.raises(ValueError, match="kernel_size"):
        arith.receptive_field(stack)


LAYER = st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(0, 2), st.integers(1, 2),
                  st.booleans())


def _brute_force_support(layers, size: int, unit: int) -> tuple[int, int]:
    """Build the stack in torch (ones weights, average pools), backprop from output unit
    ``(unit, unit)``; return the first and last input row where the gradient is nonzero."""
    modules = []
    for k, s, p, d, is_pool in layers:
        if is_pool:
            modules.append(nn.AvgPool2d(k, stride=s, padding=p))
        else:
            conv = nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d, bias=False)
            nn.init.ones_(conv.weight)
            modules.append(conv)
    net = nn.Sequential(*modules).double()
    x = torch.zeros(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    y = net(x)
    assert y.shape[-1] > unit, "configuration chosen so that the unit exists"
    y[0, 0, unit, unit].backward()
    rows = torch.nonzero(x.grad[0, 0].abs().sum(dim=1) > 0).flatten()
    cols = torch.nonzero(x.grad[0, 0].abs().sum(dim=0) > 0).flatten()
    assert rows.tolist() == cols.tolist()  # square configuration: same support on both axes
    return int(rows.min()), int(rows.max())


@settings(max_examples=40, deadline=None)
@given(layers=st.lists(LAYER, min_size=1, max_size=4))
def test_receptive_field_matches_brute_force_backprop(layers):
    # pooling layers: no dilation, padding at most half the kernel (torch's rules)
    layers = [(k, s, min(p, k // 2), 1, True) if pool else (k, s, p, d, False)
              for k, s, p, d, pool in layers]
    rf = arith.receptive_field([(k, s, p, d) for k, s, p, d, _ in layers])
    # pick a unit whose field (and its right neighbour's) lies fully inside the input
    unit = -(-rf.padding // rf.stride)
    size = (unit + 1) * rf.stride - rf.padding + rf.size + 1
    first, last = _brute_force_support(layers, size, unit)
    assert (first, last) == rf.span(unit)
    assert last - first + 1 == rf.size
    # effective stride: the neighbouring unit's field is shifted by rf.stride
    first2, last2 = _brute_force_support(layers, size, unit + 1)
    assert (first2 - first, last2 - last) == (rf.stride, rf.stride)
    # per-layer fields end with the stack's field
    assert arith.receptive_field_per_layer([l[:4] for l in layers])[-1] == rf
