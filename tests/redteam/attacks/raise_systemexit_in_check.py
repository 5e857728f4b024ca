# expect: min_score=2
# expect: max_score=5
# Correct Conv2d; MaxPool2d raises SystemExit and KeyboardInterrupt from inside forward.
{SOLUTION}


class MaxPool2d(MaxPool2d):
    def forward(self, x):
        raise SystemExit(0)
