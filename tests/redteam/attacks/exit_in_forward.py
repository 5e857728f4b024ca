# expect: min_score=2
# expect: max_score=5
# Correct Conv2d; MaxPool2d kills the process with os._exit: the worker restarts and goes on.
{SOLUTION}

import os


class MaxPool2d(MaxPool2d):
    def forward(self, x):
        os._exit(0)
