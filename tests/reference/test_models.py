"""reference.models: published parameter counts, output shapes (big models on the meta device),
configurability, and the behaviour of the characteristic blocks."""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from fractions import Fraction

import pytest
import torch
import torch.nn as nn

from reference import arith
from reference import models as M

torch.set_num_threads(1)
META = torch.device("meta")


def meta_build(builder, **kwargs) -> nn.Module:
    """Construct on the meta device: shapes and counts without allocating or initializing."""
    with META:
        return builder(**kwargs)


def meta_forward(model: nn.Module, *shape: int):
    with torch.no_grad():
        return model.eval()(torch.zeros(*shape, device=META))


def bn_conv(cin: int, cout: int, k: int) -> int:
    """Parameters of Conv2d(bias=False) + BatchNorm2d (a BasicConv2d / ConvBNAct)."""
    return arith.conv_params(cin, cout, k, bias=False) + arith.batchnorm_params(cout)


# ----------------------------------------------------------------------------- published counts

PUBLISHED = [
    (M.lenet5, 61_706), (M.lenet5_mnist, 61_706),
    (M.alexnet, 61_100_840),
    (M.vgg11, 132_863_336), (M.vgg11_bn, 132_868_840), (M.vgg13, 133_047_848),
    (M.vgg13_bn, 133_053_736), (M.vgg16, 138_357_544), (M.vgg16_bn, 138_365_992),
    (M.vgg19, 143_667_240), (M.vgg19_bn, 143_678_248),
    (M.googlenet, 6_624_904),
    (M.resnet18, 11_689_512), (M.resnet34, 21_797_672), (M.resnet50, 25_557_032),
    (M.resnet101, 44_549_160), (M.resnet152, 60_192_808),
    (M.mobilenet_v1, 4_231_976), (M.mobilenet_v2, 3_504_872),
    (M.efficientnet_b0, 5_288_548),
    (M.unet, 31_030_658),
]


@pytest.mark.parametrize("builder, expected", PUBLISHED, ids=[b.__name__ for b, _ in PUBLISHED])
def test_published_parameter_counts(builder, expected):
    assert arith.count_parameters(meta_build(builder)) == expected


@pytest.mark.parametrize("variant, expected", [
    ("b1", 7_794_184), ("b2", 9_109_994), ("b3", 12_233_232), ("b4", 19_341_616),
    ("b5", 30_389_784), ("b6", 43_040_704), ("b7", 66_347_960)])
def test_efficientnet_family_counts(variant, expected):
    assert arith.count_parameters(meta_build(M.efficientnet, variant=variant)) == expected


def test_lenet5_layer_by_layer():
    net = M.lenet5()
    assert arith.count_parameters(net.c1) == arith.conv_params(1, 6, 5) == 156
    assert arith.count_parameters(net.c3) == arith.conv_params(6, 16, 5) == 2_416
    assert arith.count_parameters(net.c5) == arith.conv_params(16, 120, 5) == 48_120
    assert arith.count_parameters(net.f6) == arith.linear_params(120, 84) == 10_164
    assert arith.count_parameters(net.output) == arith.linear_params(84, 10) == 850


def test_buffers_are_not_parameters():
    net = M.resnet18()
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns
    expected_buffers = sum(arith.batchnorm_buffers(bn.num_features, include_num_batches_tracked=True)
                           for bn in bns)
    assert arith.count_buffers(net) == expected_buffers
    total_state = sum(t.numel() for t in net.state_dict().values())
    assert arith.count_parameters(net) + arith.count_buffers(net) == total_state
    assert arith.count_parameters(net) == 11_689_512
    # freezing the backbone (transfer learning) leaves only the head trainable
    for p in net.parameters():
        p.requires_grad_(False)
    net.fc = nn.Linear(512, 10)
    assert arith.count_parameters(net) == arith.linear_params(512, 10)


def test_googlenet_aux_heads_and_paper_5x5():
    aux = arith.count_parameters(meta_build(M.googlenet, aux_logits=True))
    # each auxiliary head: 1x1 conv(128)+BN, Linear(2048, 1024), Linear(1024, 1000)
    heads = sum(bn_conv(c, 128, 1) + arith.linear_params(2048, 1024) + arith.linear_params(1024, 1000)
                for c in (512, 528))
    assert aux == 6_624_904 + heads == 13_004_888
    # paper's 5x5 in the third branch: 16 more weights per (ch5x5red, ch5x5) pair
    paper = arith.count_parameters(meta_build(M.googlenet, branch3_kernel_size=5))
    extra = sum((25 - 9) * spec[4] * spec[5] for spec in M.GoogLeNet.INCEPTION.values())
    assert paper == 6_624_904 + extra


# ----------------------------------------------------------------------------- output shapes

@pytest.mark.parametrize("builder, in_shape, out_shape", [
    (M.alexnet, (1, 3, 224, 224), (1, 1000)),
    (M.vgg16, (1, 3, 224, 224), (1, 1000)),
    (M.vgg19_bn, (2, 3, 224, 224), (2, 1000)),
    (M.googlenet, (1, 3, 224, 224), (1, 1000)),
    (M.resnet18, (1, 3, 224, 224), (1, 1000)),
    (M.resnet50, (1, 3, 224, 224), (1, 1000)),
    (M.mobilenet_v1, (1, 3, 224, 224), (1, 1000)),
    (M.mobilenet_v2, (1, 3, 224, 224), (1, 1000)),
    (M.efficientnet_b0, (1, 3, 224, 224), (1, 1000)),
    (M.unet, (1, 1, 572, 572), (1, 2, 388, 388)),
    (M.segnet, (1, 3, 360, 480), (1, 11, 360, 480)),
    (M.yolov1, (1, 3, 448, 448), (1, 7, 7, 30)),
], ids=lambda v: getattr(v, "__name__", None))
def test_canonical_output_shapes_on_meta(builder, in_shape, out_shape):
    assert tuple(meta_forward(meta_build(builder), *in_shape).shape) == out_shape


def test_feature_map_shapes_match_arith():
    vgg = meta_build(M.vgg16)
    assert tuple(meta_forward(vgg.features, 1, 3, 224, 224).shape) == (1, 512, 7, 7)
    alex = meta_build(M.alexnet)
    assert tuple(meta_forward(alex.features, 1, 3, 224, 224).shape) == (1, 256, 6, 6)
    # AlexNet's first conv: (224 - 11 + 2·2)/4 + 1 = 55
    assert arith.conv_output_shape((1, 3, 224, 224), 64, 11, 4, 2) == (1, 64, 55, 55)
    resnet = meta_build(M.resnet50)
    x = torch.zeros(1, 3, 224, 224, device=META)
    x = resnet.maxpool(resnet.relu(resnet.bn1(resnet.conv1(x))))
    assert tuple(x.shape) == (1, 64, 56, 56)
    for layer, shape in zip((resnet.layer1, resnet.layer2, resnet.layer3, resnet.layer4),
                            [(1, 256, 56, 56), (1, 512, 28, 28), (1, 1024, 14, 14),
                             (1, 2048, 7, 7)]):
        x = layer(x)
        assert tuple(x.shape) == shape
    # YOLO backbone: 24 convs, total stride 64, 448 -> 7
    yolo = meta_build(M.yolov1)
    convs = [m for m in yolo.features if isinstance(m, nn.Conv2d)]
    assert len(convs) == 24
    stack = [m for m in yolo.features if isinstance(m, (nn.Conv2d, nn.MaxPool2d))]
    assert arith.receptive_field(stack).stride == 64
    assert tuple(meta_forward(yolo.features, 1, 3, 448, 448).shape) == (1, 1024, 7, 7)


def test_lenet_forward_real():
    torch.manual_seed(0)
    with torch.no_grad():
        assert M.lenet5()(torch.randn(2, 1, 32, 32)).shape == (2, 10)
        mnist = M.lenet5_mnist()
        assert mnist.c1.padding == (2, 2)
        assert mnist.features(torch.randn(3, 1, 28, 28)).shape == (3, 120)
        assert M.LeNet5(activation="relu", pool="max")(torch.randn(1, 1, 32, 32)).shape == (1, 10)
    with pytest.raises(ValueError, match="input_size"):
        M.LeNet5(input_size=27)


# ----------------------------------------------------------------------------- configurability

HEADS = [  # builder, head input features, parameters per extra class
    (M.lenet5, 84), (M.alexnet, 4096), (M.vgg16, 4096), (M.vgg11_bn, 4096), (M.googlenet, 1024),
    (M.resnet18, 512), (M.resnet50, 2048), (M.mobilenet_v1, 1024), (M.mobilenet_v2, 1280),
    (M.efficientnet_b0, 1280), (M.unet, 64), (M.segnet, 64),
]


@pytest.mark.parametrize("builder, features", HEADS, ids=[b.__name__ for b, _ in HEADS])
def test_num_classes_changes_only_the_head(builder, features):
    base = arith.count_parameters(meta_build(builder))
    default = {"unet": 2, "segnet": 11, "lenet5": 10}.get(builder.__name__, 1000)
    for num_classes in (1, 7, 37):
        count = arith.count_parameters(meta_build(builder, num_classes=num_classes))
        assert count - base == (features + 1) * (num_classes - default)


@pytest.mark.parametrize("builder, first_conv", [
    (M.alexnet, (64, 11 * 11)), (M.vgg16, (64, 9)), (M.resnet18, (64, 49)),
    (M.googlenet, (64, 49)), (M.mobilenet_v2, (32, 9)), (M.efficientnet_b0, (32, 9)),
    (M.unet, (64, 9)), (M.lenet5, (6, 25)),
], ids=lambda v: getattr(v, "__name__", None))
def test_in_channels_changes_only_the_first_conv(builder, first_conv):
    out, k2 = first_conv
    default = 1 if builder.__name__ in ("unet", "lenet5") else 3
    base = arith.count_parameters(meta_build(builder))
    count = arith.count_parameters(meta_build(builder, in_channels=default + 2))
    assert count - base == 2 * out * k2


def test_yolo_grid_boxes_classes():
    base = meta_build(M.yolov1)
    assert base.cell_channels == 30
    for S, B, C in [(7, 2, 20), (7, 3, 10), (5, 2, 4)]:
        yolo = meta_build(M.yolov1, S=S, B=B, C=C)
        assert tuple(meta_forward(yolo, 2, 3, 64 * S, 64 * S).shape) == (2, S, S, 5 * B + C)
        head = (arith.linear_params(1024 * S * S, 4096)
                + arith.linear_params(4096, S * S * (5 * B + C)))
        assert arith.count_parameters(yolo) - arith.count_parameters(yolo.features) == head
    with pytest.raises(ValueError, match="B"):
        M.yolov1(B=0)


def test_mobilenet_v1_matches_separable_formulas_for_any_width():
    for alpha in (1.0, 0.75, 0.5, 0.25):
        c = lambda n: int(n * alpha)  # noqa: E731
        expected = bn_conv(3, c(32), 3)
        channels = c(32)
        for out, _ in M.MobileNetV1.BLOCKS:
            # depthwise k²·C_in + pointwise C_in·C_out (the lecture's formula) plus two BNs
            expected += (arith.depthwise_separable_params(channels, c(out), 3, bias=False)
                         + arith.batchnorm_params(channels) + arith.batchnorm_params(c(out)))
            channels = c(out)
        expected += arith.linear_params(channels, 1000)
        assert arith.count_parameters(meta_build(M.mobilenet_v1, width_multiplier=alpha)) == expected
    assert arith.count_parameters(meta_build(M.mobilenet_v1, width_multiplier=0.5)) == 1_331_592
    with pytest.raises(ValueError, match="width_multiplier"):
        M.mobilenet_v1(width_multiplier=0)


def test_mobilenet_v2_and_efficientnet_structure():
    v2 = meta_build(M.mobilenet_v2)
    blocks = [m for m in v2.modules() if isinstance(m, M.InvertedResidual)]
    assert len(blocks) == 17 and sum(b.use_residual for b in blocks) == 10
    thin = meta_build(M.mobilenet_v2, width_multiplier=0.5)
    assert thin.last_channels == 1280  # the last conv is never thinned
    assert arith.count_parameters(thin) < arith.count_parameters(v2)
    eff = meta_build(M.efficientnet_b0)
    mb = [m for m in eff.modules() if isinstance(m, M.MBConv)]
    assert len(mb) == 16
    assert sum(isinstance(m, M.SqueezeExcitation) for m in eff.modules()) == 16
    depthwise = [m for m in eff.modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
    assert all(m.groups == m.in_channels == m.out_channels for m in depthwise)
    assert sorted({m.kernel_size[0] for m in depthwise}) == [3, 5]


def test_bad_builder_arguments_name_the_argument():
    with pytest.raises(ValueError, match="num_classes"):
        M.resnet18(num_classes=0)
    with pytest.raises(ValueError, match="in_channels"):
        M.vgg16(in_channels=-1)
    with pytest.raises(ValueError, match="variant"):
        M.efficientnet("b9")
    with pytest.raises(ValueError, match="padding"):
        M.UNet(padding=2)
    with pytest.raises(ValueError, match="version"):
        M.InceptionResNetA(version="v3")


# ----------------------------------------------------------------------------- blocks

def test_inception_v1_module_counts_and_shape():
    spec = M.GoogLeNet.INCEPTION["3a"]
    cin, c1, c3r, c3, c5r, c5, pp = spec
    module = M.Inception(*spec)
    expected = (bn_conv(cin, c1, 1) + bn_conv(cin, c3r, 1) + bn_conv(c3r, c3, 3)
                + bn_conv(cin, c5r, 1) + bn_conv(c5r, c5, 5) + bn_conv(cin, pp, 1))
    assert arith.count_parameters(module) == expected
    assert module.out_channels == 256
    with torch.no_grad():
        assert module.eval()(torch.randn(1, cin, 9, 9)).shape == (1, 256, 9, 9)


def test_inception_v2_factorizes_5x5_into_two_3x3():
    v1 = M.Inception(64, 16, 16, 24, 32, 32, 8)
    v2 = M.InceptionV2Block(64, 16, 16, 24, 32, 32, 8)
    # the factorized branch: two 3x3 (32->32) convs against one 5x5 (32->32)
    w5 = v1.branch3[1][0].weight.numel()
    w33 = v2.branch3[1][0].weight.numel() + v2.branch3[2][0].weight.numel()
    assert Fraction(w33, w5) == arith.factorized_5x5_ratio() == Fraction(18, 25)
    # ... with the same receptive field
    stack5 = [m for m in v1.branch3.modules() if isinstance(m, nn.Conv2d)]
    stack33 = [m for m in v2.branch3.modules() if isinstance(m, nn.Conv2d)]
    assert arith.receptive_field(stack5).size == arith.receptive_field(stack33).size == 5
    with torch.no_grad():
        x = torch.randn(2, 64, 12, 12)
        assert v1.eval()(x).shape == v2.eval()(x).shape == (2, 80, 12, 12)
    assert isinstance(M.InceptionV2Block(8, 4, 4, 4, 4, 4, 4, pool="max").branch4[0], nn.MaxPool2d)


def test_inception_resnet_a_block():
    block = M.InceptionResNetA()  # 35x35x384 grid of Inception-ResNet-v2
    expected = (bn_conv(384, 32, 1) + bn_conv(384, 32, 1) + bn_conv(32, 32, 3)
                + bn_conv(384, 32, 1) + bn_conv(32, 48, 3) + bn_conv(48, 64, 3)
                + arith.conv_params(128, 384, 1))
    assert arith.count_parameters(block) == expected == 137_568
    torch.manual_seed(0)
    x = torch.randn(1, 384, 35, 35)
    with torch.no_grad():
        assert block.eval()(x).shape == (1, 384, 35, 35)
        assert (block(x) >= 0).all()
        # residual scaling: without the final ReLU, out - x is proportional to scale
        linear = M.InceptionResNetA(activation=False).eval()
        residual = linear(x) - x
        linear.scale = 2 * linear.scale
        torch.testing.assert_close(linear(x) - x, 2 * residual, rtol=1e-4, atol=1e-5)
        linear.scale = 0.0
        torch.testing.assert_close(linear(x), x)
    v1 = M.InceptionResNetA(version="v1")
    with torch.no_grad():
        assert v1.eval()(torch.randn(1, 256, 35, 35)).shape == (1, 256, 35, 35)


def test_resnet_blocks():
    torch.manual_seed(0)
    basic = M.BasicBlock(16, 16).eval()
    assert arith.count_parameters(basic) == 2 * bn_conv(16, 16, 3)
    bottleneck = M.Bottleneck(64, 16).eval()  # 64 -> 16 -> 16 -> 64
    assert arith.count_parameters(bottleneck) == (bn_conv(64, 16, 1) + bn_conv(16, 16, 3)
                                                  + bn_conv(16, 64, 1))
    x = torch.rand(2, 16, 8, 8)
    with torch.no_grad():
        assert basic(x).shape == (2, 16, 8, 8)
        assert bottleneck(torch.rand(2, 64, 8, 8)).shape == (2, 64, 8, 8)
    # zero_init_residual: every block starts as the identity on non-negative inputs
    net = M.ResNet(M.BasicBlock, [1, 1, 1, 1], num_classes=3, width=8,
                   zero_init_residual=True).eval()
    with torch.no_grad():
        torch.testing.assert_close(net.layer1(x[:, :8]), x[:, :8])
        assert net(torch.rand(1, 3, 64, 64)).shape == (1, 3)
    assert sum(m.downsample is not None for m in meta_build(M.resnet18).modules()
               if isinstance(m, M.BasicBlock)) == 3
    assert sum(m.downsample is not None for m in meta_build(M.resnet50).modules()
               if isinstance(m, M.Bottleneck)) == 4  # stage 1 projects 64 -> 256 too


def test_unet_sizes_and_skip_connections():
    net = meta_build(M.unet)
    assert net.output_size(572) == 388
    with pytest.raises(ValueError, match="input_size"):
        net.output_size(573)
    torch.manual_seed(0)
    small = M.UNet(base_channels=4, depth=2).eval()
    size = 60
    with torch.no_grad():
        assert small(torch.rand(1, 1, size, size)).shape == (1, 2, small.output_size(size),
                                                             small.output_size(size))
        same = M.UNet(in_channels=3, num_classes=5, base_channels=4, depth=3, padding=1,
                      batch_norm=True).eval()
        assert same(torch.rand(2, 3, 32, 32)).shape == (2, 5, 32, 32)
    assert same.output_size(32) == 32
    # the crop takes the central window
    x = torch.arange(36.0).view(1, 1, 6, 6)
    torch.testing.assert_close(M.center_crop(x, 2, 2), x[..., 2:4, 2:4])
    # the decoder's convs see [skip, upsampled]: twice the channels of their level
    assert [d[0].in_channels for d in net.decoders] == [1024, 512, 256, 128]


def test_segnet_unpools_with_encoder_indices():
    torch.manual_seed(0)
    net = M.SegNet(num_classes=4).eval()
    vgg_features = M.vgg16_bn().features
    encoder_params = [p for e in net.encoders for p in e.parameters()]
    # the encoder is VGG-16-BN's feature extractor, parameter for parameter
    assert [p.shape for p in encoder_params] == [p.shape for p in vgg_features.parameters()]
    captured = []
    net.unpool.register_forward_hook(lambda m, inp, out: captured.append((inp[1], out)))
    x = torch.rand(1, 3, 64, 48)
    with torch.no_grad():
        assert net(x).shape == (1, 4, 64, 48)
        _, indices, sizes = net.encode(x)
    assert len(captured) == 5
    for (idx, out), enc_idx, size in zip(captured, reversed(indices), reversed(sizes)):
        assert torch.equal(idx, enc_idx)
        assert out.shape == size
        # MaxUnpool2d puts each value at its argmax: at most one nonzero per 2x2 window,
        # and only at the positions named by the indices
        nonzero = (out != 0).flatten(2)
        allowed = torch.zeros_like(nonzero)
        allowed.scatter_(2, idx.flatten(2), True)
        assert not (nonzero & ~allowed).any()
    with pytest.raises(ValueError, match="32"):
        net(torch.rand(1, 3, 16, 16))


def test_denoising_autoencoder():
    torch.manual_seed(0)
    ae = M.ConvDenoisingAutoencoder(noise_std=0.3)
    x = torch.rand(8, 1, 28, 28)
    assert ae.encode(x).shape == (8, 64, 7, 7)
    ae.eval()
    with torch.no_grad():
        y = ae(x)
        assert y.shape == x.shape and (y >= 0).all() and (y <= 1).all()
        torch.testing.assert_close(ae(x), y)  # eval: deterministic, no noise
        noisy = ae.corrupt(x)
        assert noisy.min() >= 0 and noisy.max() <= 1 and not torch.equal(noisy, x)
    ae.train()
    with torch.no_grad():
        assert not torch.equal(ae(x), ae(x))  # training: fresh noise each call
    # it learns to denoise: training on clean squares lowers the error of reconstructing them
    # from noisy copies (judged in eval mode, on fixed noisy inputs)
    g = torch.Generator().manual_seed(1)
    rows, cols = torch.arange(28).view(1, 28, 1), torch.arange(28).view(1, 1, 28)
    top = torch.randint(0, 14, (16, 1, 1), generator=g)
    left = torch.randint(0, 14, (16, 1, 1), generator=g)
    images = ((rows >= top) & (rows < top + 10) & (cols >= left) & (cols < left + 10)).float()
    images = images.unsqueeze(1)
    noisy = ae.corrupt(images, generator=g)

    def denoising_error() -> float:
        ae.eval()
        with torch.no_grad():
            error = nn.functional.mse_loss(ae(noisy), images).item()
        ae.train()
        return error

    before = denoising_error()
    opt = torch.optim.Adam(ae.parameters(), lr=3e-3)
    for _ in range(40):
        opt.zero_grad()
        nn.functional.mse_loss(ae(images), images).backward()  # forward corrupts in training
        opt.step()
    assert denoising_error() < 0.5 * before
    with pytest.raises(ValueError, match="divisible"):
        ae(torch.rand(1, 1, 30, 30))


def test_receptive_fields_of_classic_backbones():
    # published values (Araujo et al., 2019): AlexNet pool5 195, VGG-16 conv5_3 196, pool5 212
    def field(features):
        return arith.receptive_field([m for m in features
                                      if isinstance(m, (nn.Conv2d, nn.MaxPool2d))])
    alex = meta_build(M.alexnet).features
    assert field(alex).size == 195 and field(alex).stride == 32
    vgg = list(meta_build(M.vgg16).features)
    assert field(vgg[:-1]).size == 196
    assert field(vgg) == arith.ReceptiveField(size=212, stride=32, padding=90)


def test_googlenet_aux_outputs_in_training_only():
    net = meta_build(M.googlenet, aux_logits=True, num_classes=10)
    with torch.no_grad():
        out = net.train()(torch.zeros(2, 3, 224, 224, device=META))
        assert isinstance(out, M.GoogLeNetOutputs)
        assert [tuple(t.shape) for t in out] == [(2, 10)] * 3
        assert tuple(net.eval()(torch.zeros(2, 3, 224, 224, device=META)).shape) == (2, 10)


def test_stochastic_depth():
    torch.manual_seed(0)
    drop = M.StochasticDepth(0.5)
    x = torch.ones(64, 3, 2, 2)
    y = drop(x)
    per_sample = y.flatten(1)
    kept = (per_sample == 2.0).all(dim=1)  # kept samples are rescaled by 1/(1-p)
    dropped = (per_sample == 0.0).all(dim=1)
    assert (kept | dropped).all() and kept.any() and dropped.any()
    assert torch.equal(drop.eval()(x), x)
    with pytest.raises(ValueError, match="p"):
        M.StochasticDepth(1.0)
