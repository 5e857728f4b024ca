"""``validate`` proves a mutant for every sampled student, not for the seeds it happens to try."""
import textwrap

import pytest
from click.testing import CliRunner

from grader.authoring.mutants import MutantError, load_mutants
from grader.authoring.trusted import TrustedSession
from grader.authoring.validate import affected_names, format_table, rate_summary, validate
from grader.cli import main

CHANCE = textwrap.dedent('''
    [[mutant]]
    name = "relu_leaks_far_below"
    description = "forward lets values below -1.5 through"
    targets = ["ReLU forward: a batch of vectors"]
    replace = [["return np.where(self.mask, x, 0.0).astype(x.dtype)", "return np.where(self.mask | (x < -1.5), x, 0.0).astype(x.dtype)"]]
''')


@pytest.fixture()
def scaffold(tmp_path):
    folder = tmp_path / "a9_chance"
    assert CliRunner().invoke(main, ["new", "a9_chance", "-d", str(folder)]).exit_code == 0
    return folder


def test_a_mutant_caught_only_by_chance_fails_with_its_rate(scaffold):
    with (scaffold / "mutants.toml").open("a") as f:
        f.write(CHANCE)
    report = validate(scaffold, only=["relu_leaks_far_below"], master_checks=False, sample_budget_s=None)
    (row,) = report.rows
    assert row.sampled == 200 and 0.5 < row.catch_rate < 1
    assert not row.ok and any("caught on target for only" in p and "relu_leaks_far_below" in p
                              for p in report.problems)
    table = format_table(report)
    assert f"{row.catch_rate * 100:.1f}% of 200" in table and "100%" not in table.split("relu_leaks_far_below")[1]
    assert "lowest" in rate_summary(report)


def test_a_declared_bound_with_a_reason_accepts_the_rate(scaffold):
    with (scaffold / "mutants.toml").open("a") as f:
        f.write(CHANCE + 'min_catch_rate = 0.8\nreason = "only inputs below -1.5 show it; ~9% of students have none"\n')
    report = validate(scaffold, only=["relu_leaks_far_below"], master_checks=False, sample_budget_s=None)
    (row,) = report.rows
    assert row.ok and report.ok, report.problems
    assert "(≥80%)" in format_table(report)


def test_the_scaffold_validates_with_rates_in_the_table(scaffold):
    r = CliRunner().invoke(main, ["validate", str(scaffold), "--samples", "40"])
    assert r.exit_code == 0, r.output
    assert "100% of 40" in r.output and "catch rate over 40–40 sampled students" in r.output


@pytest.mark.parametrize("extra,message", [
    ("min_catch_rate = 0.9\n", "needs a reason"),
    ("min_catch_rate = 1.5\nreason = \"x\"\n", "min_catch_rate must be a number in (0, 1]"),
    ("min_catch_rate = true\nreason = \"x\"\n", "min_catch_rate must be a number"),
])
def test_min_catch_rate_is_checked(tmp_path, extra, message):
    (tmp_path / "mutants.toml").write_text(CHANCE + extra)
    with pytest.raises(MutantError, match=message.replace("(", r"\(").replace(")", r"\)").replace("]", r"\]")):
        load_mutants(tmp_path)


def test_affected_names_follow_readers_transitively():
    master = "import numpy as np\nK = 2\ndef f(x):\n    return x * K\ndef g(x):\n    return f(x) + 1\ndef h(x):\n    return x\n"
    assert affected_names(master, master.replace("x * K", "x * K * 2")) == {"f", "g"}
    assert affected_names(master, master.replace("K = 2", "K = 3")) == {"K", "f", "g"}
    assert affected_names(master, master + "print('side effect')\n") is None


def test_trusted_session_speaks_the_worker_protocol():
    src = "import numpy as np\ndef double(x):\n    return 2 * x\ndef boom():\n    raise KeyError('weight')\n"
    with TrustedSession(src) as s:
        assert s.start().status == "ok"
        r = s.probe([{"let": "y", "call": "double", "args": [{"$array": 0}]}], {"y": "y"},
                    [__import__("numpy").arange(3)])
        assert r.status == "ok" and r.values["y"].dtype.name == "float64" and list(r.values["y"]) == [0, 2, 4]
        r = s.probe([{"let": "y", "call": "boom"}], {"y": "y"})
        assert r.status == "error" and r.error["type"] == "KeyError" and r.error["step"] == 0
        r = s.probe([{"let": "t", "call": "double", "args": [{"$tuple": [1, 2]}]}], {"t": "t"})
        assert r.values["t"] == [1, 2, 1, 2]   # tuples come back as lists, as through the pipe
    with TrustedSession("while True:\n    pass\n", probe_timeout_s=0.5) as s:
        assert s.start().status == "timeout"
    with TrustedSession("raise ValueError('at import')\n") as s:
        assert s.start().status == "error"
