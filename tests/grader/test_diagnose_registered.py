""""Assigned rather than registered" is said only of a parameter the object *has*: the untouched
starter of a1 (``__init__`` not written yet: no ``weight`` at all) gets the plain error, the a2
mutant that writes ``self.weight = ...`` instead of ``register_parameter`` gets the diagnosis."""
from __future__ import annotations

from grader.assignment import load
from grader.authoring.notebook import MASTER, master_source, parse, starter_source
from grader.authoring.trusted import TrustedSession
from grader.authoring.validate import _Judge


def rows(assignment_id: str, source: str, names) -> dict:
    a = load(assignment_id)
    specs = [s for s in a.checks if s.name in names]
    j = _Judge(a)
    with TrustedSession(source) as session:
        assert session.start().status == "ok"
        return {r["name"]: r for spec in specs for r in j.check(session, spec, "registered-test", {})}


def codes(row: dict) -> set[str]:
    return {d["code"] for d in row.get("extra_data", {}).get("diagnoses", [])}


def test_a_missing_parameter_is_not_called_unregistered():
    a = load("a1_backprop")
    got = rows("a1_backprop", starter_source(parse(a.path / MASTER)), ["Linear forward", "Linear backward"])
    assert got and all(r["score"] == 0 for r in got.values())
    assert all("KeyError" in r["output"] for r in got.values())
    assert not any("parameter_not_registered" in codes(r) for r in got.values()), got


def test_an_assigned_parameter_is_still_called_unregistered():
    source = master_source(load("a2_convolution"))
    line = ("        self.register_parameter(\"weight\", np.random.uniform(-bound, bound, "
            "(out_channels, in_channels // groups, kh, kw)))")
    assert source.count(line) == 1
    source = source.replace(line, "        self.weight = np.random.uniform(-bound, bound, "
                                  "(out_channels, in_channels // groups, kh, kw))")
    got = rows("a2_convolution", source, ["Conv2d forward: 3x3, no padding"])
    assert codes(got["Conv2d forward: 3x3, no padding"]) == {"parameter_not_registered"}
