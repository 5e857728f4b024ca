# expect: max_score=0
# Patches numpy's and unittest's comparison helpers (they are not used by the judge, which lives elsewhere).
import unittest

import numpy as np
import numpy.testing

np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.isclose = lambda a, b, *x, **k: np.ones(np.shape(a), dtype=bool)
numpy.testing.assert_allclose = lambda *a, **k: None
numpy.testing.assert_array_equal = lambda *a, **k: None
unittest.TestCase.assertEqual = lambda *a, **k: None
unittest.TestCase.assertTrue = lambda *a, **k: None
np.abs = lambda x: np.zeros_like(x)
np.max = lambda *a, **k: 0.0


class Conv2d:
    def __init__(self, *a, **k):
        self.grads = {}
    def load_state_dict(self, s):
        pass
    def forward(self, x):
        return np.zeros_like(x)
    def backward(self, g):
        return np.zeros_like(g)


MaxPool2d = Conv2d
