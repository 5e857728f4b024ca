"""Torch reference architectures from the lectures (plain ``torch.nn``, no torchvision).

Builders take ``num_classes``/``in_channels`` (and width multipliers where the family has one);
default arguments reproduce the published parameter counts:

=====================  ============  =====================  ============
``lenet5``             61,706        ``resnet18``           11,689,512
``lenet5_mnist``       61,706        ``resnet34``           21,797,672
``alexnet``            61,100,840    ``resnet50``           25,557,032
``vgg16``              138,357,544   ``mobilenet_v1``       4,231,976
``vgg16_bn``           138,365,992   ``mobilenet_v2``       3,504,872
``googlenet``          6,624,904     ``efficientnet_b0``    5,288,548
``unet``               31,030,658    ``yolov1``             see tests
=====================  ============  =====================  ============
"""
from .alexnet import AlexNet, alexnet
from .autoencoder import ConvDenoisingAutoencoder, conv_denoising_autoencoder
from .efficientnet import (EfficientNet, MBConv, SqueezeExcitation, StochasticDepth, efficientnet,
                           efficientnet_b0)
from .inception import (BasicConv2d, GoogLeNet, GoogLeNetOutputs, Inception, InceptionAux,
                        InceptionResNetA, InceptionV2Block, googlenet)
from .lenet import LeNet5, lenet5, lenet5_mnist
from .mobilenet import (DepthwiseSeparableConv, InvertedResidual, MobileNetV1, MobileNetV2,
                        mobilenet_v1, mobilenet_v2)
from .resnet import (BasicBlock, Bottleneck, ResNet, resnet18, resnet34, resnet50, resnet101,
                     resnet152)
from .segnet import SegNet, segnet
from .unet import DoubleConv, UNet, center_crop, unet
from .vgg import VGG, make_vgg_layers, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn
from .yolo import YOLOv1, yolov1
from ._common import ConvBNAct, make_divisible

__all__ = [
    "AlexNet", "alexnet", "ConvDenoisingAutoencoder", "conv_denoising_autoencoder",
    "EfficientNet", "MBConv", "SqueezeExcitation", "StochasticDepth", "efficientnet",
    "efficientnet_b0", "BasicConv2d", "GoogLeNet", "GoogLeNetOutputs", "Inception",
    "InceptionAux", "InceptionResNetA", "InceptionV2Block", "googlenet", "LeNet5", "lenet5",
    "lenet5_mnist", "DepthwiseSeparableConv", "InvertedResidual", "MobileNetV1", "MobileNetV2",
    "mobilenet_v1", "mobilenet_v2", "BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet34",
    "resnet50", "resnet101", "resnet152", "SegNet", "segnet", "DoubleConv", "UNet",
    "center_crop", "unet", "VGG", "make_vgg_layers", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn",
    "vgg16", "vgg16_bn", "vgg19", "vgg19_bn", "YOLOv1", "yolov1", "ConvBNAct", "make_divisible",
]
