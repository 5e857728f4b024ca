# expect: max_score=0
# Imports the judging code to learn the expected values, via importlib and a path hack.
import importlib
import sys

for p in ("/work/main", "/work", "."):
    sys.path.insert(0, p)
judge = None
for name in ("grader.judge", "grader", "reference", "assignments"):
    try:
        judge = importlib.import_module(name)
    except ImportError:
        pass
assert judge is None, "imported " + repr(judge)
