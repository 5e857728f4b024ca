"""A hanging target costs two probe timeouts, not one per check."""
import time

from grader.assignment import load
from grader.authoring.notebook import master_source
from grader.grade import HANG_LIMIT, grade_submission

MANIFEST = """
id = "hangs"
title = "Hang policy"
[imports]
forbidden = ["torch"]
[limits]
wall_s = 30
probe_timeout_s = 1
"""
CHECK = """
[[check]]
name = "Conv2d forward {i}"
kind = "forward"
target = "Conv2d"
points = 1
init = {{ in_channels = 2, out_channels = 3, kernel_size = 3, padding = {i} }}
input = {{ shape = [1, 2, 5, 5] }}
"""
POOL = """
[[check]]
name = "MaxPool2d forward"
kind = "forward"
target = "MaxPool2d"
points = 1
init = { kernel_size = 2 }
input = { shape = [1, 2, 4, 4], distinct = true }
"""


def test_remaining_checks_of_a_hanging_target_are_skipped_with_a_reason(tmp_path):
    folder = tmp_path / "hangs"
    folder.mkdir()
    (folder / "assignment.toml").write_text(MANIFEST)
    (folder / "checks.toml").write_text("".join(CHECK.format(i=i) for i in range(6)) + POOL)
    sub = tmp_path / "s.py"
    sub.write_text(master_source("a2_convolution") + "\n\nclass Conv2d(Conv2d):\n    def forward(self, x):\n"
                   "        while True:\n            pass\n")
    t0 = time.monotonic()
    res = grade_submission(load(folder), sub, student="x", secret=b"k")
    elapsed = time.monotonic() - t0
    rows = {t["name"]: t for t in res["tests"]}
    assert rows["MaxPool2d forward"]["status"] == "passed"          # other targets still graded
    skipped = [t for n, t in rows.items() if n.startswith("Conv2d") and "were skipped" in t["output"]]
    assert len(skipped) == 6 - HANG_LIMIT
    assert res["score"] == 1
    assert elapsed < HANG_LIMIT * 1 + 8, f"took {elapsed:.1f} s"
