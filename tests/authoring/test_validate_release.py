"""validate / release / new end to end (real grading path, sandbox included).

``test_bundled_assignment_validates`` is how ``make test`` validates every bundled assignment.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.assignment import available, load
from grader.authoring import load_mutants, master_source, parse, starter_source
from grader.authoring.release import audit, release
from grader.authoring.validate import format_table, validate
from grader.cli import main

RUN_TESTS = textwrap.dedent('''
    import json, os, sys
    import otter
    env = {"__name__": "submission"}
    exec(compile(open(sys.argv[1]).read(), "submission.py", "exec"), env)
    grader = otter.Notebook(sys.argv[2])
    out = {}
    for f in sorted(os.listdir("tests")):
        r = grader.check(f[:-3], env)
        out[f[:-3]] = {"passed": r.passed_all, "summary": r.summary()}
    print(json.dumps(out))
''')


def run_public_tests(folder: Path, source: str, notebook: str, tmp_path: Path) -> dict:
    """Run the released otter test files (grader.check) on ``source``, as the notebook would."""
    src = tmp_path / "code_under_test.py"
    src.write_text(source)
    script = tmp_path / "run_public_tests.py"
    script.write_text(RUN_TESTS)
    root = str(Path(__file__).resolve().parents[2])     # the tests call the installed convgrade (this checkout)
    proc = subprocess.run([sys.executable, str(script), str(src), notebook], cwd=folder, capture_output=True,
                          text=True, timeout=300, env={"OMP_WAIT_POLICY": "PASSIVE", "PATH": "/usr/bin:/bin",
                                                       "PYTHONPATH": root})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


# Mutants per test, so that each part of a bundled validation stays well under a minute (torch
# models and trainings are slow; numpy layers fast). The parts together are the whole validation.
# a6's mutants run short training runs (mutants.toml [validation]); its master trains each check on
# the real budget under one validation student and on the short run under the other (its checks'
# seeds are fixed: a second full run would train the same model), so the mutants aimed only at
# checks with short runs go with the master: its grades are their control runs.
GROUP_SIZE = {"a5_architectures": 14, "a6_training": 7}


def _with_master(a, mutants) -> list[str]:
    """The mutants of an assignment with short runs none of whose targets names a check without one
    (a target may name a row of a check, "beats training from scratch")."""
    from grader.authoring.short_runs import load_short_runs

    short = set(load_short_runs(a.path))
    others = [c.name for c in a.checks if c.name not in short]
    return [m.name for m in mutants if short and not any(
        t in c or c in t for t in m.targets if not t.startswith("diagnosis:") for c in others)]


def _validation_parts():
    parts = []
    for aid in available():
        a = load(aid, validate=False)      # collection: names and kinds only (no torch)
        mutants = load_mutants(a.path)
        first = _with_master(a, mutants)
        parts.append(pytest.param(aid, ("master", *first), id=f"{aid}-master"))
        names = [m.name for m in mutants if m.name not in first]
        size = GROUP_SIZE.get(aid, 30)
        for k in range(0, len(names), size):
            parts.append(pytest.param(aid, tuple(names[k:k + size]), id=f"{aid}-mutants{k // size + 1}"))
    return parts


def _kept_pool(a):
    """This test process's warm pool for ``a``'s sandbox, shared by the parts of its validation
    that run here (each session still a fresh worker; the zygotes' torch import paid once)."""
    from grader.checks.milestone import needs_gpu
    from grader.grade import sandbox_config
    from grader.sandbox.pool import shared_pool

    return shared_pool(sandbox_config(a, "auto", gpu=needs_gpu(a.select("all"))), size=2)


@pytest.mark.slow
@pytest.mark.parametrize("assignment_id,mutants", _validation_parts())
def test_bundled_assignment_validates(assignment_id, mutants):
    a = load(assignment_id)
    pool = _kept_pool(a)
    if mutants[0] == "master":   # master (sandbox, sampled ids), starter, coverage; mutants beside it
        report = validate(a, workers=2, only=list(mutants[1:]), pool=pool)
        assert report.ok, "\n".join(report.problems) + "\n" + format_table(report)
        assert report.master_scores and all(s == a.max_score for s in report.master_scores.values())
        assert report.starter_passing == []
        assert len(report.rows) == len(mutants) - 1 and all(r.ok for r in report.rows)
        return
    report = validate(a, workers=2, only=list(mutants), master_checks=False, pool=pool)
    assert report.ok, "\n".join(report.problems) + "\n" + format_table(report)
    assert len(report.rows) == len(mutants) and all(r.ok for r in report.rows)


@pytest.fixture(scope="module")
def a2_release(tmp_path_factory):
    out = tmp_path_factory.mktemp("release") / "a2"
    release("a2_convolution", out)
    return out


def test_a2_release_contents(a2_release):
    a = load("a2_convolution")
    names = {p.relative_to(a2_release).as_posix() for p in a2_release.rglob("*") if p.is_file()}
    assert names == {"convolution.ipynb", "README.md", "README.ru.md", "assignment.toml", "checks.toml",
                     "tests/conv2d.py", "tests/pooling.py", "tests/conv1d.py",
                     "tests/sizes.py", "tests/vanishing.py"}
    text = "\n".join(p.read_text() for p in a2_release.rglob("*") if p.is_file() and p.suffix != ".npz")
    # no solution text: every line of the master that the starter does not show stays home
    master = parse(a.path / "master.ipynb")
    for line in ("onehot = (np.arange(wshape[4] * wshape[5]) == arg[..., None]) * grad_out[..., None]",
                 "return (size + 2 * padding - effective) // stride + 1", "ANSWER_ALEXNET_CONV1 = 55",
                 "return float((s * (1.0 - s)) ** depth)", "self.grads[\"bias\"] = self.conv.grads[\"bias\"]"):
        assert line in master.source and line not in text
    # no hidden check, no mutant, no reference code (checks.toml holds the visible checks only)
    for spec in a.checks:
        assert (spec.name in text) == spec.visible, spec.name
    for m in load_mutants(a.path):
        assert m.name not in text
    assert "import reference" not in text and "from reference" not in text
    assert audit(a, a2_release) == []
    # the notebook: an otter init cell and a grader.check cell per question; the starter code
    nb = json.loads((a2_release / "convolution.ipynb").read_text())
    code = [("".join(c["source"])) for c in nb["cells"] if c["cell_type"] == "code"]
    assert 'otter.Notebook("convolution.ipynb")' in code[0]
    assert sum('grader.check("' in c for c in code) == 5
    # both READMEs say how to check and what to submit
    en, ru = (a2_release / "README.md").read_text(), (a2_release / "README.ru.md").read_text()
    assert "convgrade check convolution.ipynb" in en and "What to submit" in en
    assert "convgrade check convolution.ipynb" in ru and "Что сдавать" in ru


def test_audit_catches_leaks(a2_release, tmp_path):
    a = load("a2_convolution")
    leaky = tmp_path / "leaky"
    leaky.mkdir()
    (leaky / "notes.py").write_text("    effective = dilation * (kernel_size - 1) + 1\n")
    (leaky / "hidden.txt").write_text("Conv2d forward: dilation 2\n")
    (leaky / "mutants.toml").write_text("")
    problems = audit(a, leaky)
    assert any("instructor file" in p for p in problems)
    (leaky / "mutants.toml").unlink()
    problems = audit(a, leaky)
    assert any("solution text" in p for p in problems) and any("hidden check" in p for p in problems)


def test_released_public_tests_pass_on_the_master_and_fail_cleanly_on_the_starter(a2_release, tmp_path):
    a = load("a2_convolution")
    on_master = run_public_tests(a2_release, master_source(a), "convolution.ipynb", tmp_path)
    assert set(on_master) == {"conv2d", "pooling", "conv1d", "sizes", "vanishing"}
    assert all(r["passed"] for r in on_master.values()), on_master
    on_starter = run_public_tests(a2_release, starter_source(parse(a.path / "master.ipynb")), "convolution.ipynb",
                                  tmp_path)
    for q, r in on_starter.items():
        assert not r["passed"], q
        # a clean failure: the grader's feedback in an AssertionError, never a crash of the test itself
        assert "AssertionError: FAIL " in r["summary"] and "ModuleNotFoundError" not in r["summary"], r["summary"]


def test_public_tests_give_feedback_on_a_mutant(a2_release, tmp_path):
    a = load("a2_convolution")
    m = {m.name: m for m in load_mutants(a.path)}["output_size_true_division"]
    res = run_public_tests(a2_release, m.apply(master_source(a)), "convolution.ipynb", tmp_path)
    assert not res["sizes"]["passed"] and res["conv2d"]["passed"]
    assert "`conv_output_size(8, 3, stride=2)`: expected 3, got 3.5" in res["sizes"]["summary"]


def test_new_validate_release_round_trip(tmp_path):
    runner = CliRunner()
    folder = tmp_path / "a9_relu"
    r = runner.invoke(main, ["new", "a9_relu", "-d", str(folder)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["validate", str(folder)])
    assert r.exit_code == 0, r.output
    assert "6/6 mutants caught on target" in r.output and "relu_backward_passes_all" in r.output
    out = tmp_path / "student"
    r = runner.invoke(main, ["release", str(folder), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert (out / "a9_relu.ipynb").is_file() and (out / "tests" / "relu.py").is_file()
    assert audit(load(folder), out) == []
    res = run_public_tests(out, master_source(folder), "a9_relu.ipynb", tmp_path)
    assert res["relu"]["passed"], res
    r = runner.invoke(main, ["release", str(folder), "-o", str(out)])
    assert r.exit_code == 3 and "not empty" in r.output


def test_broken_and_uncaught_mutants_fail_validation(tmp_path):
    folder = tmp_path / "a9_bad"
    assert CliRunner().invoke(main, ["new", "a9_bad", "-d", str(folder)]).exit_code == 0
    with (folder / "mutants.toml").open("a") as f:
        f.write('\n[[mutant]]\nname = "stale_text"\ndescription = "edits code that is no longer there"\n'
                'targets = ["ReLU forward"]\nreplace = [["return np.maximum(x, 0)", "return x"]]\n'
                '\n[[mutant]]\nname = "comment_only"\ndescription = "changes only a comment"\n'
                'targets = ["ReLU forward"]\nreplace = [["# ReLU has no parameters", "# nothing to learn"]]\n')
    r = CliRunner().invoke(main, ["validate", str(folder)])
    assert r.exit_code == 1, r.output
    assert "mutant 'stale_text': replacement #1: text 'return np.maximum(x, 0)' not found" in r.output
    assert "mutant 'comment_only' is not caught: no check loses points" in r.output
    assert "6/8 mutants caught on target" in r.output
