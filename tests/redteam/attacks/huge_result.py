# expect: max_score=0
# Returns a 10^9-element array (a broadcast view that would take 8 GB to send).
import numpy as np


class Conv2d:
    def __init__(self, *a, **k):
        self.grads = {}
    def load_state_dict(self, s):
        pass
    def forward(self, x):
        return np.broadcast_to(np.float64(0.0), (10**9,))
    def backward(self, g):
        return np.broadcast_to(np.float64(0.0), (1000, 1000, 1000))


MaxPool2d = Conv2d
