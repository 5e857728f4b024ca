"""Validation's short runs of training checks (mutants.toml ``[validation]``,
grader/authoring/short_runs.py) and how validate uses them, without training anything: the
sessions are fakes that answer every probe with a failure, so only the plumbing is under test
(which checks a mutant is judged on, in which order, where it stops, and the master's control).
That the short runs still separate the master from its mutants is what the bundled validation
(tests/authoring/test_validate_release.py) proves."""
from __future__ import annotations

import copy

import pytest

from grader.assignment import load
from grader.authoring.short_runs import cost_order, load_short_runs, shorten
from grader.authoring.validate import validate
from grader.checks import CheckDefinitionError
from grader.sandbox.config import ProbeResult

MNIST = "MNIST held-out accuracy within the budget"
TRANSFER = "Transfer learning: fine-tuned accuracy on digits 5-9 from 3 labels each"
LOSS = "Training loss falls"
NO_EVAL = "    model.to(device)\n    x = torch"      # predict without .eval() (mutant no_eval_at_prediction)


@pytest.fixture(scope="module")
def a6():
    return load("a6_training")


def test_a6_short_runs_are_bounded_by_epochs_and_grading_never_sees_them(a6):
    tables = load_short_runs(a6.path)
    assert MNIST in tables
    spec = next(s for s in a6.checks if s.name == MNIST)
    short = shorten(spec, tables[MNIST])
    train = next(st for st in short.params["steps"] if st.get("call") == "train")
    assert train["kwargs"]["epochs"] == 1 and train["kwargs"]["augment"] is False
    assert short.params["bands"] == [[0.93, 1.0]] and short.name == spec.name
    # the assignment's own checks (what grading reads) are untouched
    assert "epochs" not in next(st for st in spec.params["steps"] if st.get("call") == "train")["kwargs"]
    assert spec.params["bands"] == [[0.97, 1.0], [0.95, 0.5]]


def test_shorten_merges_tables_and_rejects_unknown_calls(a6):
    spec = next(s for s in a6.checks if s.name.startswith("Transfer"))
    short = shorten(spec, {"compare": {"accuracy": 0.5}, "kwargs": {"fine_tune": {"epochs": 3}}})
    assert short.params["compare"]["accuracy"] == 0.5 and short.params["compare"]["label"] == "training from scratch"
    assert spec.params["compare"]["accuracy"] == 0.78
    with pytest.raises(CheckDefinitionError, match="no step calls"):
        shorten(spec, {"kwargs": {"fit": {"epochs": 1}}})
    with pytest.raises(CheckDefinitionError, match="bands"):
        shorten(spec, {"bands": [[2.0, 1.0]]})


def test_malformed_tables_are_named(tmp_path):
    (tmp_path / "mutants.toml").write_text('[validation."x"]\nsteps = []\n')
    with pytest.raises(ValueError, match="kwargs"):
        load_short_runs(tmp_path)
    (tmp_path / "mutants.toml").write_text('[validation."x"]\nkwargs = { train = 3 }\n')
    with pytest.raises(ValueError, match="called name"):
        load_short_runs(tmp_path)
    assert load_short_runs(tmp_path / "nowhere") == {}


def test_cost_order_cheapest_kind_first(a6):
    kinds = [s.kind for s in cost_order(list(a6.checks))]
    assert kinds == ["initial_loss", "overfit_small_batch", "loss_falls", "milestone", "milestone"]
    assert cost_order(list(a6.checks))[-1].name == MNIST          # the biggest budget last


class FailingSession:
    """A sandbox session that answers every probe with an error, recording what it was asked."""
    log: list = []

    def __init__(self, source, assignment, specs):
        self.source = source

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def start(self):
        return ProbeResult("ok", values={})

    def probe(self, steps, returns, arrays, timeout=None):
        kwargs = [st.get("kwargs", {}).get("$dict", {}) for st in steps if st.get("call") == "train"]
        FailingSession.log.append((self.source, kwargs))
        return ProbeResult("error", values={}, error={"type": "RuntimeError", "message": "no"})


def test_validate_stops_at_the_first_catch_and_controls_the_short_run(a6, monkeypatch):
    FailingSession.log = []
    report = validate(a6, only=["learning_rate_100x"], master_checks=False, sandbox_session=FailingSession)
    # four training targets; the cheapest (overfit a batch) fails first, and nothing else is trained
    assert len(FailingSession.log) == 1 and report.rows[0].caught_by == [
        "Overfit a batch of 32 images to 100% training accuracy"]
    assert not any("short run" in p for p in report.problems)

    FailingSession.log = []
    report = validate(a6, only=["no_eval_at_prediction"], master_checks=False, sandbox_session=FailingSession)
    # no_eval_at_prediction is judged on the short MNIST run, then the master on the same short run
    # (its control): here the fake fails the master too, so the short run proves nothing
    assert len(FailingSession.log) == 2          # the two run side by side: in either order
    (mutant_kw,) = [kw for src, kw in FailingSession.log if NO_EVAL in src]
    (master_kw,) = [kw for src, kw in FailingSession.log if NO_EVAL not in src]
    assert mutant_kw[0]["epochs"] == master_kw[0]["epochs"] == 1
    assert any(f"short run of {MNIST!r}" in p and "fails the master" in p for p in report.problems), report.problems


def test_short_run_mutants_share_the_masters_control_and_need_no_session_in_process(a6):
    """Mutants whose cheapest check is a short run are judged under one validation id (one
    control run of the master for all of them), and a mutant with only training checks to run
    gets no in-process session: there is nothing for it to judge there."""
    trusted = []

    def no_trusted(source, assignment):
        trusted.append(source)
        raise AssertionError("a training-only mutant needs no in-process session")

    FailingSession.log = []
    report = validate(a6, only=["fine_tune_from_scratch", "fine_tune_forgets_pretraining_lr", "learning_rate_100x"],
                      master_checks=False, sandbox_session=FailingSession, trusted_session=no_trusted)
    assert trusted == [] and not any("internal error" in p for p in report.problems), report.problems
    rows = {r.name: r for r in report.rows}
    assert rows["fine_tune_from_scratch"].students == rows["fine_tune_forgets_pretraining_lr"].students \
        == ["validate-1"]
    assert all(r.where == "sandbox" for r in report.rows)
    # two mutants on the short transfer run, its control once, the overfit check once
    masters = [kw for src, kw in FailingSession.log if "lr=2e-5" not in src and "state_dict())" not in src
               and "lr=1.0," not in src]
    assert len(FailingSession.log) == 4 and len(masters) == 1, FailingSession.log


def test_the_master_trains_each_check_fully_under_one_id_and_its_short_runs_are_the_controls(a6, monkeypatch):
    """a6's training checks fix their seed, so every student's run trains the same model: the
    master trains each on the real budget under one id only, spread over the ids so that its grades
    cost about the same (MNIST, the costliest, under validate-1; transfer and the loss under
    validate-2), and under the other id its grade runs the short run (its own held-out order and
    draws), whose rows are then the control of the mutants judged on it (no separate control run).
    ``thorough`` trains on the real budgets under every id."""
    import grader.authoring.validate as v
    from grader.checks import kind_of

    graded = {}

    def fake_grade(assignment, source, folder, tag, student, isolation, visibility="all", session_factory=None):
        graded[(tag.split("_")[0], student)] = {s.name: s for s in assignment.select(visibility)}
        return {"score": assignment.max_score, "tests": [], "convgrade": {}}

    monkeypatch.setattr(v, "_grade", fake_grade)
    assert all(kind_of(s).trains_alike(s) for s in a6.checks)     # visible, or the seed fixed
    mnist = copy.copy(next(s for s in a6.checks if s.name == MNIST))
    mnist.params = {k: v for k, v in mnist.params.items() if k != "seed"}
    assert not kind_of(mnist).trains_alike(mnist)                 # hidden, a torch seed per student
    short = {name: shorten(next(s for s in a6.checks if s.name == name), table)
             for name, table in load_short_runs(a6.path).items()}
    real = {s.name: s for s in a6.checks}

    FailingSession.log = []
    report = validate(a6, only=["no_eval_at_prediction", "fine_tune_from_scratch"], sandbox_session=FailingSession)
    first, second = graded[("master", "validate-1")], graded[("master", "validate-2")]
    assert set(short) == {MNIST, TRANSFER, LOSS}
    assert report.master_short == {"validate-1": sorted([TRANSFER, LOSS]), "validate-2": [MNIST]}
    for sid, grade in (("validate-1", first), ("validate-2", second)):
        for name, spec in grade.items():     # each check either real or its short run, never both short
            want = short[name] if name in report.master_short[sid] else real[name]
            assert spec.params == want.params, (sid, name)
    # each mutant is judged under the id whose master grade ran its short run: no control of its own
    rows = {r.name: r for r in report.rows}
    assert rows["no_eval_at_prediction"].students == ["validate-2"]
    assert rows["fine_tune_from_scratch"].students == ["validate-1"]
    assert len(FailingSession.log) == 2

    graded.clear()
    report = validate(a6, only=[], thorough=True, sandbox_session=FailingSession)
    assert report.master_short == {}
    assert all(graded[("master", sid)][s.name].params == s.params for sid in ("validate-1", "validate-2")
               for s in a6.checks)


def test_full_ids_spread_the_costliest_checks_first():
    from types import SimpleNamespace

    from grader.authoring.validate import _full_ids

    def spec(name, kind, budget):
        return SimpleNamespace(name=name, kind=kind, params={"budget_s": budget}, get=lambda k, d=None: {"budget_s": budget}.get(k, d))

    specs = [spec("loss", "loss_falls", 30), spec("mnist", "milestone", 90), spec("transfer", "milestone", 40)]
    assert _full_ids(specs, ("a", "b")) == {"mnist": "a", "transfer": "b", "loss": "b"}
    assert _full_ids(specs, ("a",)) == {"mnist": "a", "transfer": "a", "loss": "a"}
    assert _full_ids(specs, ("a", "b", "c")) == {"mnist": "a", "transfer": "b", "loss": "c"}
