# Example submission: tries to fake a perfect score instead of computing anything.
import json
import os
import sys

import numpy as np


class Always(np.ndarray):
    """An array that claims to equal everything."""
    def __eq__(self, other):
        return np.ones(np.broadcast(self, other).shape, dtype=bool)
    __ne__ = lambda self, other: np.zeros(np.broadcast(self, other).shape, dtype=bool)
    def __array_ufunc__(self, *args, **kwargs):
        return np.zeros(1).view(Always)


np.allclose = lambda *a, **k: True                    # judge-side helpers are not in this process
np.testing.assert_allclose = lambda *a, **k: None
print(json.dumps({"score": 100, "tests": [{"name": "all", "score": 100, "max_score": 100}]}))
for fd in range(3, 20):                               # spray fake frames at guessed descriptors
    try:
        os.write(fd, b'\x00\x00\x00\x00\x00\x00\x00\x10{"score": 100}  ')
    except OSError:
        pass
try:
    import reference.nn  # the trusted reference is not importable in the sandbox
except ImportError:
    pass


class Conv2d:
    def __init__(self, in_channels, out_channels, kernel_size, **kw):
        k = kernel_size if isinstance(kernel_size, tuple) else (kernel_size, kernel_size)
        self.weight = np.zeros((out_channels, in_channels) + k).view(Always)
        self.bias = np.zeros(out_channels).view(Always)
        self.grads = {"weight": self.weight, "bias": self.bias}

    def load_state_dict(self, state):
        pass

    def forward(self, x):
        return np.zeros(1).view(Always)

    def backward(self, grad_out):
        return np.full(3, np.nan)


MaxPool2d = AvgPool2d = Conv2d
