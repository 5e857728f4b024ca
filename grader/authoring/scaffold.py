"""``convgrade new ID``: a small but complete problem set that validates and releases as it is.

The problem: a numpy ``ReLU`` layer (forward and backward) with visible and hidden checks, a
master notebook in otter assign format and six mutants. Instructors replace it with their own.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat

from .mutants import MUTANTS
from .notebook import MASTER


class ScaffoldError(ValueError):
    pass


MANIFEST = '''id = "{id}"
title = "{title}"
title_ru = "{title}"
langs = ["en", "ru"]    # texts in both languages: give every check a name_ru (convgrade validate warns)
points = 6
# due = "2026-12-01T23:59:00+03:00"

[late]
grace_minutes = 15
penalty_per_day = 0.10
max_penalty = 0.50

[imports]
forbidden = ["torch", "scipy", "tensorflow", "jax", "sklearn"]
allow_torch = false

[limits]
wall_s = 60
probe_timeout_s = 10
memory_mb = 1024

[submission]
preferred_names = ["{id}.ipynb", "{id}.py"]

[release]
files = []
'''

CHECKS = '''# Checks as data. Visible checks: students run them (convgrade check, grader.check in the
# notebook) on public inputs. Hidden checks: fresh inputs per student, seen only at grading.

[[check]]
name = "ReLU forward"
name_ru = "ReLU: прямой проход"
kind = "forward"
target = "ReLU"
points = 1
visibility = "visible"
input = { shape = [2, 3, 4, 4] }

[[check]]
name = "ReLU backward"
name_ru = "ReLU: обратный проход"
kind = "backward"
target = "ReLU"
points = 1
visibility = "visible"
input = { shape = [2, 3, 4, 4] }

[[check]]
name = "ReLU forward: a batch of vectors"
name_ru = "ReLU: прямой проход, батч векторов"
kind = "forward"
target = "ReLU"
points = 1
visibility = "hidden"
input = { shape = [5, 7] }

[[check]]
name = "ReLU backward: a batch of vectors"
name_ru = "ReLU: обратный проход, батч векторов"
kind = "backward"
target = "ReLU"
points = 1
visibility = "hidden"
input = { shape = [5, 7] }

[[check]]
name = "ReLU forward: large inputs, float32"
name_ru = "ReLU: прямой проход, большие входы, float32"
kind = "forward"
target = "ReLU"
points = 1
visibility = "hidden"
dtype = "float32"
input = { shape = [2, 4, 3], scale = 10.0 }

[[check]]
name = "ReLU backward agrees with its own forward"
name_ru = "ReLU: обратный проход согласован с собственным прямым"
kind = "gradient_consistency"
target = "ReLU"
points = 1
visibility = "hidden"
input = { shape = [2, 3, 5] }
'''

MUTANTS_TOML = '''# Known student mistakes, as edits of the master solution; each must lose points on its targets.

[[mutant]]
name = "relu_abs"
description = "forward returns |x| instead of max(x, 0)"
targets = ["ReLU forward"]
replace = [["return np.where(self.mask, x, 0.0).astype(x.dtype)", "return np.abs(x)"]]

[[mutant]]
name = "relu_leaky"
description = "forward leaks 0.01 x for negative inputs (that is LeakyReLU)"
targets = ["ReLU forward"]
replace = [["return np.where(self.mask, x, 0.0).astype(x.dtype)", "return np.where(self.mask, x, 0.01 * x).astype(x.dtype)"]]

[[mutant]]
name = "relu_clipped_at_one"
description = "forward also clips at 1"
targets = ["ReLU forward"]
replace = [["return np.where(self.mask, x, 0.0).astype(x.dtype)", "return np.clip(x, 0.0, 1.0).astype(x.dtype)"]]

[[mutant]]
name = "relu_backward_mask_only"
description = "backward returns the mask, forgetting to multiply by the upstream gradient"
targets = ["ReLU backward"]
replace = [["return grad_out * self.mask", "return self.mask.astype(grad_out.dtype)"]]

[[mutant]]
name = "relu_backward_passes_all"
description = "backward passes the gradient everywhere, negative inputs included"
targets = ["ReLU backward"]
replace = [["return grad_out * self.mask", "return grad_out"]]

[[mutant]]
name = "relu_backward_inverted_mask"
description = "backward passes the gradient where the input was negative"
targets = ["ReLU backward"]
replace = [["return grad_out * self.mask", "return grad_out * ~self.mask"]]
'''

GIVEN = '''import numpy as np'''

SOLUTION = '''class ReLU:
    """max(x, 0) elementwise, as torch.nn.ReLU: (*) -> (*)."""

    def __init__(self):
        self.grads = {}   # ReLU has no parameters

    def forward(self, x):
        """(*) -> (*); caches which inputs were positive."""
        # BEGIN SOLUTION
        self.mask = x > 0
        return np.where(self.mask, x, 0.0).astype(x.dtype)
        # END SOLUTION

    def backward(self, grad_out):
        """dL/dy (*) -> dL/dx (*): the gradient flows only where the input was positive."""
        # BEGIN SOLUTION
        return grad_out * self.mask
        # END SOLUTION'''


def master_notebook(assignment_id: str, title: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    config = (f"# ASSIGNMENT CONFIG\nname: {assignment_id}\ninit_cell: true\ncheck_all_cell: false\n"
              "export_cell: false\nrun_tests: false\ngenerate: false\nsolutions_pdf: false\n"
              "tests:\n  files: true\n  ok_format: false")
    nb.cells = [
        nbformat.v4.new_raw_cell(config),
        nbformat.v4.new_markdown_cell(f"# {title}\n\nWrite the layer below in numpy. `forward(x)` caches what "
                                      "`backward` needs; `backward(grad_out)` returns dL/dx."),
        nbformat.v4.new_code_cell(GIVEN),
        nbformat.v4.new_raw_cell("# BEGIN QUESTION\nname: relu"),
        nbformat.v4.new_markdown_cell("## 1. `ReLU`\n\n`y = max(x, 0)`; its derivative is 1 where `x > 0`, else 0."),
        nbformat.v4.new_raw_cell("# BEGIN SOLUTION"),
        nbformat.v4.new_code_cell(SOLUTION),
        nbformat.v4.new_raw_cell("# END SOLUTION"),
        nbformat.v4.new_raw_cell("# END QUESTION"),
    ]
    return nb


def scaffold(assignment_id: str, dest: str | Path, title: str | None = None) -> list[Path]:
    """Create the problem set folder ``dest``; return the files written."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", assignment_id or ""):
        raise ScaffoldError(f"assignment_id must be lowercase letters, digits and _, starting with a letter "
                            f"(it names the notebook and a Python-friendly folder), got {assignment_id!r}")
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise ScaffoldError(f"{dest} exists and is not empty")
    title = title or assignment_id.replace("_", " ").capitalize() + ": a ReLU layer in numpy"
    if '"' in title or "\\" in title or "\n" in title:
        raise ScaffoldError("title may not contain quotes, backslashes or newlines")
    dest.mkdir(parents=True, exist_ok=True)
    files = {
        "assignment.toml": MANIFEST.format(id=assignment_id, title=title),
        "checks.toml": CHECKS,
        MUTANTS: MUTANTS_TOML,
    }
    written = []
    for name, text in files.items():
        (dest / name).write_text(text, encoding="utf-8")
        written.append(dest / name)
    nbformat.write(master_notebook(assignment_id, title), str(dest / MASTER))
    written.append(dest / MASTER)
    return written
