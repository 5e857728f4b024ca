"""Trusted numpy layers with torch.nn's names, arguments and state-dict keys (NCHW layout).

Every layer has ``forward(x)`` and ``backward(grad_out) -> grad_in`` and, after backward,
``grads`` (parameter name -> gradient). Losses: ``forward(input, target)`` -> scalar,
``backward()`` -> gradient with respect to ``input``.
"""
from .module import Module
from .linear import Linear, Maxout
from .activation import ELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Softplus, Softsign, Tanh
from .loss import CrossEntropyLoss, DiceLoss, MSELoss
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .pooling import AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d
from .normalization import BatchNorm1d, BatchNorm2d
from .dropout import Dropout, Dropout2d
from .flatten import Flatten
from .shape import ReflectionPad2d, ReplicationPad2d, Upsample, ZeroPad2d
from .container import Sequential

__all__ = [
    "Module", "Linear", "Maxout",
    "ReLU", "LeakyReLU", "ELU", "Sigmoid", "Tanh", "Softplus", "Softsign", "Softmax", "LogSoftmax",
    "CrossEntropyLoss", "MSELoss", "DiceLoss",
    "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
    "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool2d",
    "BatchNorm1d", "BatchNorm2d", "Dropout", "Dropout2d",
    "Flatten", "Upsample", "ZeroPad2d", "ReflectionPad2d", "ReplicationPad2d",
    "Sequential",
]
