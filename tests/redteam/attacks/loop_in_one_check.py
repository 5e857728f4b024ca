# expect: min_score=2
# expect: max_score=5
# A correct Conv2d, but MaxPool2d.forward never returns: the Conv2d checks must still be scored.
{SOLUTION}


class MaxPool2d(MaxPool2d):
    def forward(self, x):
        while True:
            pass
