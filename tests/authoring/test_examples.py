"""Example submissions are derived from the master and the mutants: they cannot go stale."""
import json

from grader.assignment import load
from grader.authoring.examples import demo_mutants, example_source, write_examples
from grader.authoring.notebook import master_source
from grader.submission import load_submission


def test_examples_are_the_master_its_mutants_and_the_hand_written_files(tmp_path):
    a = load("a2_convolution")
    paths = {p.name: p for p in write_examples(a, tmp_path)}
    assert {"correct.py", "correct_notebook.ipynb", "import_crash.py", "malicious.py",
            "broken_notebook.ipynb"} <= set(paths)
    assert {f"{m.name}.py" for m in demo_mutants(a)} <= set(paths)
    master = master_source(a)
    assert master in paths["correct.py"].read_text()
    # the notebook's magic, skipped cell and stored outputs are dropped: the same code is graded
    nb = load_submission(paths["correct_notebook.ipynb"])
    assert "plt.plot" not in nb.source and any("skip" in n for n in nb.notes)
    assert json.loads(paths["correct_notebook.ipynb"].read_text())["cells"][2]["outputs"]
    for m in demo_mutants(a):
        assert example_source(a, m.name) != master
