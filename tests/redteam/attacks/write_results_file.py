# expect: max_score=0
# Writes a perfect results.json wherever a grader might read one from.
import json
import os

FAKE = {"score": 6.0, "tests": []}
for path in ("results.json", "/autograder/results/results.json", "/tmp/results.json",
             os.path.expanduser("~/results.json"), "../results.json", "/work/main/results.json"):
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w") as f:
            json.dump(FAKE, f)
    except OSError:
        pass
