# expect: max_score=0
# Returns object arrays (which np.save would pickle) and structured arrays.
import os

import numpy as np


class Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/convgrade-pwned",))


class Conv2d:
    def __init__(self, *a, **k):
        self.grads = {"weight": np.array([Evil()], dtype=object),
                      "bias": np.zeros(3, dtype=[("a", "f8"), ("b", "O")])}
    def load_state_dict(self, s):
        pass
    def forward(self, x):
        return np.array([Evil(), 1.0], dtype=object)
    def backward(self, g):
        return np.zeros(2, dtype=complex)


MaxPool2d = Conv2d
