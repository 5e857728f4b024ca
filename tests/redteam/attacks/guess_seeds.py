# expect: max_score=0
# Tries to regenerate the hidden inputs from guessed seeds and answer with them.
import numpy as np


class Conv2d:
    def __init__(self, *a, **k):
        self.grads = {}
    def load_state_dict(self, s):
        pass
    def forward(self, x):
        for seed in range(2000):
            if np.allclose(np.random.default_rng(seed).standard_normal(x.shape), x):
                return np.random.default_rng(seed + 1).standard_normal((x.shape[0], 3) + x.shape[2:])
        return np.zeros((x.shape[0], 3) + x.shape[2:])
    def backward(self, g):
        return np.zeros(1)


MaxPool2d = Conv2d
