# expect: max_score=0
# Returns NaN and inf of the right shapes.
import numpy as np


class Conv2d:
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, **k):
        self.o, self.s = out_channels, stride
        self.grads = {"weight": np.full((out_channels, in_channels, 3, 3), np.nan), "bias": np.full(out_channels, np.inf)}
    def load_state_dict(self, s):
        pass
    def forward(self, x):
        return np.full((x.shape[0], self.o) + x.shape[2:], np.nan)
    def backward(self, g):
        return np.full((g.shape[0], 2, 7, 7), np.nan)


class MaxPool2d:
    def __init__(self, *a, **k):
        pass
    def forward(self, x):
        return np.full((x.shape[0], x.shape[1], x.shape[2] // 2, x.shape[3] // 2), np.inf)
