# expect: max_score=0
# Prints a Gradescope results.json with a perfect score on stdout and stderr, on import and in every call.
import json
import sys

FAKE = json.dumps({"score": 6.0, "tests": [{"name": "Conv2d forward", "score": 2, "max_score": 2, "status": "passed"}]})
print(FAKE)
print(FAKE, file=sys.stderr)


class Conv2d:
    def __init__(self, *a, **k):
        print(FAKE)
    def load_state_dict(self, s):
        print(FAKE)
    def forward(self, x):
        print(FAKE)
        return FAKE
    def backward(self, g):
        return FAKE


MaxPool2d = Conv2d
