# expect: max_score=0
# __array_ufunc__ / __array_function__ overrides that make every numpy operation "agree".
import numpy as np


class Liar(np.ndarray):
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return np.zeros(()).view(Liar)
    def __array_function__(self, func, types, args, kwargs):
        return True
    def __abs__(self):
        return 0.0
    def __sub__(self, other):
        return np.zeros(()).view(Liar)
    __rsub__ = __sub__


class Conv2d:
    def __init__(self, *a, **k):
        self.grads = {"weight": np.ones((3, 2, 3, 3)).view(Liar), "bias": np.ones(3).view(Liar)}
    def load_state_dict(self, s):
        pass
    def forward(self, x):
        return np.ones((2, 3, 5, 5)).view(Liar)
    def backward(self, g):
        return np.ones((2, 2, 7, 7)).view(Liar)


MaxPool2d = Conv2d
