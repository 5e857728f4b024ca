"""A case's reference results are computed once and reused — within a grade (one layer per case,
its forward shared by the backward) and across grades for equal cases (a visible check's) — and
are always what a fresh reference layer gives. Cases that must not be reused (a subclass with its
own ``build_reference``, a layer that draws at random) are computed every time."""
from __future__ import annotations

import numpy as np

from grader.checks import cases
from grader.checks.base import CheckSpec
from grader.checks.cases import LayerCase, make_case, template
from grader.checks.stochastic import DropoutCase


def spec(target="Conv2d", init=None, shape=(2, 3, 6, 6), **params) -> CheckSpec:
    return CheckSpec(name=f"{target} case", kind="backward", points=1.0, target=target,
                     params={"init": init if init is not None else {"in_channels": 3, "out_channels": 4,
                                                                   "kernel_size": 3, "padding": 1},
                             "input": {"shape": list(shape)}, **params})


def fresh(case: LayerCase):
    layer = case.build_reference()
    y = np.asarray(layer.forward(case.x))
    dx = np.asarray(layer.backward(case.grad_out))
    return y, dx, {p: np.asarray(layer.grads[p]) for p in case.param_names()}


def test_results_are_a_fresh_layers_and_copies():
    case = make_case(spec(), np.random.default_rng(1))
    y, dx, grads = fresh(case)
    np.testing.assert_array_equal(case.reference_output(), y)
    got = case.reference_gradients()
    np.testing.assert_array_equal(got[0], y)
    np.testing.assert_array_equal(got[1], dx)
    assert got[2].keys() == grads.keys() == {"weight", "bias"}
    for p in grads:
        np.testing.assert_array_equal(got[2][p], grads[p])
    got[1][...] = 0                       # a caller changing its copy changes nothing kept
    np.testing.assert_array_equal(case.reference_gradients()[1], dx)


def test_equal_cases_share_results_and_different_ones_do_not(monkeypatch):
    calls = []
    original = LayerCase.reference_forward

    def counted(self, layer=None, x=None):
        calls.append(1)
        return original(self, layer, x)

    monkeypatch.setattr(LayerCase, "reference_forward", counted)
    s = spec(init={"in_channels": 3, "out_channels": 2, "kernel_size": 2, "stride": 2})
    a = make_case(s, np.random.default_rng(7))
    b = make_case(s, np.random.default_rng(7))         # a visible check: the same seed for everyone
    np.testing.assert_array_equal(a.reference_output(), b.reference_output())
    assert len(calls) == 1
    c = make_case(s, np.random.default_rng(8))         # another student's hidden inputs
    assert len(calls) == 2
    assert not np.array_equal(c.reference_output(), a.reference_output())


def test_a_layer_that_draws_and_a_subclass_are_computed_every_time(monkeypatch):
    drop = make_case(spec("Dropout", init={"p": 0.0}, shape=(2, 3)), np.random.default_rng(0))
    assert drop._content() is None
    sub = DropoutCase(drop.spec, drop.kwargs, drop.dtype, drop.state, drop.x, drop.grad_out)
    assert sub._content() is None
    calls = []
    original = LayerCase.reference_forward
    monkeypatch.setattr(LayerCase, "reference_forward",
                        lambda self, layer=None, x=None: calls.append(1) or original(self, layer, x))
    sub.reference_output()
    sub.reference_output()
    assert len(calls) == 2


def test_template_is_shared_and_bounded():
    cls = cases.reference_class(spec())
    kwargs = {"in_channels": 3, "out_channels": 4, "kernel_size": 3}
    assert template(cls, kwargs) is template(cls, dict(kwargs))
    assert template(cls, {**kwargs, "bias": False}) is not template(cls, kwargs)
    for k in range(1, cases.TEMPLATES + 5):
        template(cls, {**kwargs, "out_channels": k})
    assert len(cases._TEMPLATES) <= cases.TEMPLATES


def test_the_result_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(cases, "RESULTS", 3)
    for seed in range(6):
        make_case(spec(), np.random.default_rng(100 + seed)).reference_output()
    assert len(cases._RESULTS) <= 3
    assert cases._results_bytes == sum(size for size, _ in cases._RESULTS.values())
