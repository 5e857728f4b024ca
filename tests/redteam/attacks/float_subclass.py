# expect: max_score=0
# Float and list subclasses that claim equality with anything.
class F(float):
    def __eq__(self, other):
        return True
    def __sub__(self, other):
        return F(0.0)
    __rsub__ = __sub__
    def __abs__(self):
        return F(0.0)
    def __lt__(self, other):
        return True


class L(list):
    def __eq__(self, other):
        return True


class Conv2d:
    def __init__(self, *a, **k):
        self.grads = {"weight": F(0.0), "bias": L([F(0)])}
    def load_state_dict(self, s):
        pass
    def forward(self, x):
        return L([[F(0.0)]])
    def backward(self, g):
        return F(0.0)


MaxPool2d = Conv2d
