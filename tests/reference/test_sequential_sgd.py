"""Sequential (names, state dicts, indexing, backward) and SGD (torch.optim.SGD's update rule,
several steps with momentum / dampening / weight decay / nesterov), and a Linear-ReLU-Linear +
CrossEntropyLoss MLP trained for 5 SGD steps in lockstep with the same torch model."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.nn.activation import ReLU, Tanh
from reference.nn.container import Sequential
from reference.nn.dropout import Dropout
from reference.nn.flatten import Flatten
from reference.nn.linear import Linear
from reference.nn.loss import CrossEntropyLoss, MSELoss
from reference.nn.normalization import BatchNorm1d
from reference.optim import SGD

from ._torch_compare import SETTINGS, rel_err


def to_torch_state(module):
    return {k: torch.tensor(v) for k, v in module.state_dict().items()}


def test_sequential_names_indexing_and_state_dict_match_torch():
    ours = Sequential(Flatten(), Linear(12, 5, rng=0), BatchNorm1d(5), ReLU(), Linear(5, 3, rng=1))
    theirs = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 5),
                                 torch.nn.BatchNorm1d(5),
                                 torch.nn.ReLU(), torch.nn.Linear(5, 3)).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict(to_torch_state(ours))
    ours.load_state_dict(theirs.state_dict())            # torch tensors load too
    assert len(ours) == 5 and isinstance(ours[1], Linear) and ours[-1] is ours[4]
    part = ours[1:3]
    assert isinstance(part, Sequential) and list(part.state_dict())[0] == "1.weight"
    assert [type(m).__name__ for m in ours] == ["Flatten", "Linear", "BatchNorm1d", "ReLU",
                                                "Linear"]
    ours.append(Tanh())
    assert len(ours) == 6 and "5" in ours._modules
    named = Sequential(OrderedDict([("fc", Linear(2, 2)), ("act", ReLU())]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"] and named[0] is named.fc
    with pytest.raises(IndexError):
        ours[6]


@settings(max_examples=25, **SETTINGS)
@given(n=st.integers(2, 5), seed=st.integers(0, 2**31), train=st.booleans())
def test_sequential_forward_backward_match_torch(n, seed, train):
    rng = np.random.default_rng(seed)
    # no bias before batchnorm: its true gradient in training is 0 (only rounding noise)
    ours = Sequential(Flatten(), Linear(6, 4, bias=False, rng=seed), BatchNorm1d(4), Tanh(),
                      Linear(4, 3, rng=1))
    theirs = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 4, bias=False),
                                 torch.nn.BatchNorm1d(4),
                                 torch.nn.Tanh(), torch.nn.Linear(4, 3)).double()
    theirs.load_state_dict(to_torch_state(ours))
    ours.train(train), theirs.train(train)
    assert ours[2].training is train
    x = rng.standard_normal((n, 2, 3))
    xt = torch.tensor(x, requires_grad=True)
    yt = theirs(xt)
    y = ours.forward(x)
    assert rel_err(y, yt) <= 1e-9
    g = rng.standard_normal(y.shape)
    yt.backward(torch.tensor(g))
    assert rel_err(ours.backward(g), xt.grad) <= 1e-9
    grads = dict(ours.named_grads())
    assert grads.keys() == {k for k, _ in theirs.named_parameters()}
    for name, p in theirs.named_parameters():
        assert rel_err(grads[name], p.grad) <= 1e-9, name
    for key, value in theirs.state_dict().items():
        assert rel_err(ours.state_dict()[key], value) <= 1e-9, key


OPTIONS = [
    dict(lr=0.1),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01),
    dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.05),
    dict(lr=0.2, weight_decay=0.1, maximize=True),
]


@pytest.mark.parametrize("options", OPTIONS, ids=[str(o) for o in OPTIONS])
def test_sgd_steps_match_torch(options):
    rng = np.random.default_rng(0)
    ours = Sequential(Linear(4, 3, rng=1), BatchNorm1d(3), Linear(3, 2, bias=False, rng=2))
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3),
                                 torch.nn.Linear(3, 2, bias=False)).double()
    theirs.load_state_dict(to_torch_state(ours))
    opt, topt = SGD(ours, **options), torch.optim.SGD(theirs.parameters(), **options)
    weight = ours[0].weight
    for _ in range(4):
        # arbitrary gradients, the same on both sides
        opt.zero_grad(), topt.zero_grad()
        assert list(ours.named_grads()) == []
        for name, p in theirs.named_parameters():
            g = rng.standard_normal(tuple(p.shape))
            p.grad = torch.tensor(g)
            prefix, leaf = name.split(".")
            ours[int(prefix)].grads[leaf] = g
        opt.step(), topt.step()
        for name, p in theirs.named_parameters():
            assert rel_err(dict(ours.named_parameters())[name], p) <= 1e-12, name
    assert ours[0].weight is weight                       # updated in place


def test_sgd_skips_parameters_without_gradients_and_takes_module_lists():
    a, b = Linear(2, 2, rng=0), Linear(2, 2, rng=1)
    before_a, before_b = a.weight.copy(), b.weight.copy()
    a.grads = {"weight": np.ones((2, 2))}
    SGD([a, b], lr=0.5).step()
    np.testing.assert_allclose(a.weight, before_a - 0.5)
    np.testing.assert_array_equal(b.weight, before_b)


def test_mlp_trains_in_lockstep_with_torch():
    rng = np.random.default_rng(42)
    x = rng.standard_normal((16, 10))
    y = rng.integers(0, 4, size=16)
    ours = Sequential(Linear(10, 8, rng=0), ReLU(), Linear(8, 4, rng=1))
    theirs = torch.nn.Sequential(torch.nn.Linear(10, 8), torch.nn.ReLU(),
                                 torch.nn.Linear(8, 4)).double()
    theirs.load_state_dict(to_torch_state(ours))
    loss_fn, tloss_fn = CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    opt = SGD(ours, lr=0.3, momentum=0.9, weight_decay=1e-3, nesterov=True)
    topt = torch.optim.SGD(theirs.parameters(), lr=0.3, momentum=0.9, weight_decay=1e-3,
                           nesterov=True)
    losses = []
    for _ in range(5):
        opt.zero_grad(), topt.zero_grad()
        loss = loss_fn.forward(ours.forward(x), y)
        tloss = tloss_fn(theirs(torch.tensor(x)), torch.tensor(y))
        assert abs(loss - tloss.item()) <= 1e-9 * abs(tloss.item())
        ours.backward(loss_fn.backward())
        tloss.backward()
        opt.step(), topt.step()
        for name, p in theirs.named_parameters():
            assert rel_err(dict(ours.named_parameters())[name], p) <= 1e-9, name
        losses.append(float(loss))
    assert losses[-1] < losses[0]


def test_regression_with_dropout_in_eval_matches_torch():
    rng = np.random.default_rng(3)
    ours = Sequential(Linear(3, 5, rng=0), Dropout(0.5, rng=0), Linear(5, 1, rng=1)).eval()
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Dropout(0.5),
                                 torch.nn.Linear(5, 1)).double().eval()
    theirs.load_state_dict(to_torch_state(ours))
    x, t = rng.standard_normal((7, 3)), rng.standard_normal((7, 1))
    mse = MSELoss()
    loss = mse.forward(ours.forward(x), t)
    tloss = torch.nn.MSELoss()(theirs(torch.tensor(x)), torch.tensor(t))
    assert abs(loss - tloss.item()) <= 1e-9 * tloss.item()
    ours.backward(mse.backward())
    tloss.backward()
    assert rel_err(ours[0].grads["weight"], theirs[0].weight.grad) <= 1e-9


@pytest.mark.parametrize("make, arg", [
    (lambda: SGD(Linear(2, 2), lr=-0.1), "lr"),
    (lambda: SGD(Linear(2, 2), lr=0.1, momentum=-0.5), "momentum"),
    (lambda: SGD(Linear(2, 2), lr=0.1, weight_decay=-1.0), "weight_decay"),
    (lambda: SGD(Linear(2, 2), lr=0.1, nesterov=True), "nesterov"),
    (lambda: SGD(Linear(2, 2), lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "dampening"),
    (lambda: SGD([np.ones(3)], lr=0.1), "params"),
    (lambda: SGD([], lr=0.1), "params"),
    (lambda: Sequential(Linear(2, 2), "relu"), "modules"),
    (lambda: Sequential().append(3), "module"),
    (lambda: Sequential(ReLU())["0"], "idx"),
])
def test_value_errors_name_the_argument(make, arg):
    with pytest.raises(ValueError, match=arg):
        make()
