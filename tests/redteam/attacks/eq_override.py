# expect: max_score=0
# An ndarray subclass whose comparisons always succeed.
import numpy as np


class Yes(np.ndarray):
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    def __lt__(self, other):
        return True
    __le__ = __gt__ = __ge__ = __lt__
    def all(self, *a, **k):
        return True


class Conv2d:
    def __init__(self, *a, **k):
        self.grads = {"weight": np.zeros(1).view(Yes), "bias": np.zeros(1).view(Yes)}
    def load_state_dict(self, s):
        pass
    def forward(self, x):
        return np.zeros(1).view(Yes)
    def backward(self, g):
        return np.zeros(1).view(Yes)


MaxPool2d = Conv2d
