"""CrossEntropyLoss and MSELoss against torch (all reductions, class weights, ignore_index,
label smoothing, spatial targets, huge logits), DiceLoss against a torch autograd version of the
same formula, validation."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.nn.loss import CrossEntropyLoss, DiceLoss, MSELoss

from ._torch_compare import SETTINGS, rel_err


def check_loss(ours, theirs, x, target, tol=1e-9, grad_out=None):
    xt = torch.tensor(x, requires_grad=True)
    lt = theirs(xt, torch.tensor(target))
    loss = ours.forward(x, target)
    assert np.asarray(loss).dtype == x.dtype
    assert np.all(np.isfinite(loss))
    assert rel_err(loss, lt) <= tol
    if grad_out is None:
        grad_out = np.ones(lt.shape, x.dtype) if lt.ndim else 1.0
    lt.backward(torch.tensor(grad_out, dtype=xt.dtype))
    dx = ours.backward(grad_out)
    assert dx.dtype == x.dtype and dx.shape == x.shape
    # saturated logits give gradients like 1 - p ~ 1e-7 computed from p ~ 1: both sides then carry
    # float64 rounding of the order of eps * grad_out, far below any real mistake but not below
    # tol relative to so tiny a gradient; the floor keeps the comparison relative to grad_out's scale
    assert rel_err(dx, xt.grad, floor=1e-6 * float(np.abs(grad_out).max())) <= tol
    assert ours.grads == {}
    return loss, dx


@settings(max_examples=50, **SETTINGS)
@given(n=st.integers(1, 5), c=st.integers(1, 6), spatial=st.lists(st.integers(1, 3), max_size=2),
       reduction=st.sampled_from(["mean", "sum", "none"]), weighted=st.booleans(),
       ignore=st.booleans(), smoothing=st.sampled_from([0.0, 0.0, 0.1, 0.5]),
       scale=st.sampled_from([1.0, 10.0, 500.0]), seed=st.integers(0, 2**31))
def test_cross_entropy_matches_torch(n, c, spatial, reduction, weighted, ignore, smoothing, scale,
                                     seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, *spatial)) * scale
    target = rng.integers(0, c, size=(n, *spatial))
    kwargs = dict(reduction=reduction, label_smoothing=smoothing)
    if ignore:
        kwargs["ignore_index"] = int(rng.integers(0, c))   # a real class, ignored
        target.flat[0] = (kwargs["ignore_index"] + 1) % c if c > 1 else target.flat[0]
    weight = rng.uniform(0.2, 2.0, size=c) if weighted else None
    ours = CrossEntropyLoss(weight=weight, **kwargs)
    theirs = torch.nn.CrossEntropyLoss(
        weight=None if weight is None else torch.tensor(weight), **kwargs)
    if ignore and c == 1:
        return                                          # every element ignored: nan, see below
    grad_out = rng.standard_normal((n, *spatial)) if reduction == "none" else rng.uniform(0.5, 2)
    with np.errstate(over="raise", invalid="raise"):
        check_loss(ours, theirs, x, target, grad_out=grad_out)


def test_cross_entropy_default_ignore_index_and_all_ignored_is_nan():
    x = np.random.default_rng(0).standard_normal((4, 3))
    target = np.array([0, -100, 2, -100])
    check_loss(CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), x, target)
    loss = CrossEntropyLoss().forward(x, np.full(4, -100))
    assert np.isnan(loss)
    assert np.isnan(torch.nn.CrossEntropyLoss()(torch.tensor(x), torch.full((4,), -100)).item())


def test_cross_entropy_huge_logits_and_float32():
    x = np.array([[500.0, -500.0, 0.0], [-1e4, -1e4 + 2, -1e4], [499.0, 500.0, -500.0]])
    target = np.array([1, 0, 1])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, _ = check_loss(CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), x, target)
    assert loss > 300                                   # the -500 logit for class 1 is counted
    rng = np.random.default_rng(1)
    x32 = (rng.standard_normal((6, 5)) * 300).astype(np.float32)
    check_loss(CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), x32, rng.integers(0, 5, 6),
               tol=1e-4)


def test_cross_entropy_unbatched():
    x = np.array([0.5, -1.0, 2.0])
    for reduction in ("mean", "none"):
        check_loss(CrossEntropyLoss(reduction=reduction),
                   torch.nn.CrossEntropyLoss(reduction=reduction), x, np.array(2))


def test_cross_entropy_value_is_minus_log_softmax():
    x = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    ce = CrossEntropyLoss()
    loss = ce.forward(x, np.array([2, 0]))
    expected = (np.log(np.exp(x[0]).sum()) - 3.0 + np.log(3.0)) / 2
    assert abs(loss - expected) < 1e-14
    p = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(ce.backward(), (p - np.eye(3)[[2, 0]]) / 2, rtol=1e-13)


@settings(max_examples=30, **SETTINGS)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4),
       reduction=st.sampled_from(["mean", "sum", "none"]), seed=st.integers(0, 2**31))
def test_mse_matches_torch(shape, reduction, seed):
    rng = np.random.default_rng(seed)
    x, t = rng.standard_normal(shape), rng.standard_normal(shape)
    grad_out = rng.standard_normal(shape) if reduction == "none" else 1.5
    check_loss(MSELoss(reduction), torch.nn.MSELoss(reduction=reduction), x, t,
               grad_out=grad_out)
    check_loss(MSELoss(reduction), torch.nn.MSELoss(reduction=reduction),
               x.astype(np.float32), t.astype(np.float32), tol=1e-4,
               grad_out=np.asarray(grad_out, dtype=np.float32))


def torch_dice(p, t, eps):
    """The same Dice formula, differentiated by torch autograd."""
    dims = tuple(range(2, p.ndim))
    inter = (p * t).sum(dims)
    union = p.sum(dims) + t.sum(dims) + eps
    return (1 - (2 * inter + eps) / union).mean()


@settings(max_examples=40, **SETTINGS)
@given(n=st.integers(1, 3), c=st.integers(1, 3), spatial=st.lists(st.integers(1, 5), min_size=1,
                                                                    max_size=3),
       eps=st.sampled_from([1.0, 1e-6, 0.5]), seed=st.integers(0, 2**31))
def test_dice_matches_torch_autograd(n, c, spatial, eps, seed):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0, 1, size=(n, c, *spatial))
    t = (rng.uniform(size=p.shape) < 0.4).astype(np.float64)
    check_loss(DiceLoss(eps), lambda a, b: torch_dice(a, b, eps), p, t, grad_out=0.7)


def test_dice_values_and_float32():
    t = np.zeros((1, 2, 3, 3))
    t[0, 0, :2, :2] = 1
    # perfect prediction: channel 0 gives 1 - (8+1)/(8+1) = 0, empty channel 1: 1 - 1/1 = 0
    assert DiceLoss().forward(t.copy(), t) == pytest.approx(0.0, abs=1e-15)
    # all-zero prediction: channel 0 gives 1 - 1/5, channel 1 gives 0
    assert DiceLoss().forward(np.zeros_like(t), t) == pytest.approx(0.8 / 2, rel=1e-14)
    rng = np.random.default_rng(3)
    p = rng.uniform(size=(2, 3, 4, 4)).astype(np.float32)
    t32 = (rng.uniform(size=p.shape) < 0.5).astype(np.float32)
    check_loss(DiceLoss(), lambda a, b: torch_dice(a, b, 1.0), p, t32, tol=1e-4)


@pytest.mark.parametrize("make, arg", [
    (lambda: CrossEntropyLoss(reduction="avg"), "reduction"),
    (lambda: MSELoss(reduction="max"), "reduction"),
    (lambda: CrossEntropyLoss(label_smoothing=1.5), "label_smoothing"),
    (lambda: CrossEntropyLoss(ignore_index=1.5), "ignore_index"),
    (lambda: CrossEntropyLoss(weight=np.ones((2, 2))), "weight"),
    (lambda: CrossEntropyLoss(weight=np.ones(4)).forward(np.ones((2, 3)), np.array([0, 1])),
     "weight"),
    (lambda: CrossEntropyLoss().forward(np.ones((2, 3)), np.array([0, 1, 2])), "target"),
    (lambda: CrossEntropyLoss().forward(np.ones((2, 3)), np.array([0.0, 1.0])), "target"),
    (lambda: CrossEntropyLoss().forward(np.ones((2, 3)), np.array([0, 3])), "target"),
    (lambda: CrossEntropyLoss().forward(np.ones((2, 3)), np.array([-1, 0])), "target"),
    (lambda: CrossEntropyLoss().forward(np.float64(1), np.array(0)), "input"),
    (lambda: MSELoss().forward(np.ones((2, 3)), np.ones((3, 2))), "target"),
    (lambda: DiceLoss(eps=-1.0), "eps"),
    (lambda: DiceLoss().forward(np.ones((2, 3)), np.ones((2, 3))), "input"),
    (lambda: DiceLoss().forward(np.ones((2, 3, 4)), np.ones((2, 3, 5))), "target"),
])
def test_value_errors_name_the_argument(make, arg):
    with pytest.raises(ValueError, match=arg):
        make()


def test_backward_checks_grad_out():
    loss = MSELoss()
    with pytest.raises(RuntimeError, match="before forward"):
        loss.backward()
    loss.forward(np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="grad_out"):
        loss.backward(np.ones(3))
    loss = CrossEntropyLoss(reduction="none")
    loss.forward(np.ones((2, 3)), np.array([0, 1]))
    with pytest.raises(ValueError, match="grad_out"):
        loss.backward(1.0)
