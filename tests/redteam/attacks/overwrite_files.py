# expect: max_score=0
# Tries to overwrite the grader, the reference, the assignment's checks and the submission itself.
import glob
import os
import site
import sys

targets = []
for base in ["/work", "/work/main", os.getcwd(), "/", "/sandbox"] + site.getsitepackages() + sys.path:
    for pattern in ("**/grader/judge.py", "**/reference/nn/conv.py", "**/checks.toml", "**/assignment.toml",
                    "**/submission.py", "**/worker.py"):
        try:
            targets += glob.glob(os.path.join(base, pattern), recursive=True)[:20]
        except Exception:
            pass
for t in set(targets):
    try:
        with open(t, "w") as f:
            f.write("PWNED = True\n")
    except OSError:
        pass


class Conv2d:
    def __init__(self, *a, **k):
        pass
