"""Fair judgement (issue 12): each submission below has one real mistake; the feedback names it, no
diagnosis can cost points, and a part is judged on its own.

The submissions are the master solutions with one edit, judged on the checks that matter by the
validation driver (the grading plans, judges and diagnoses, in process); one end-to-end grade
goes through the CLI and the sandbox.
"""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from grader import diagnose
from grader.checks.cases import low_corner
from grader.cli import main

from ._judging import codes, judge, mutated

BN_KEEPDIMS = ('self.grads = {"weight": sum_gx, "bias": sum_g} if self.affine else {}',
               'self.grads = {"weight": sum_gx[None, :], "bias": sum_g} if self.affine else {}')


def test_a_weight_gradient_with_an_extra_axis_is_named_and_dx_keeps_its_points():
    """``_shape_mismatch`` used to swapaxes a 1-D gradient and turn the whole check into an
    internal error, zeroing a correct dx."""
    src = mutated("a3_pooling_normalization", BN_KEEPDIMS)
    rows, errors = judge("a3_pooling_normalization", src, "BatchNorm2d backward: training")
    assert errors == []
    dx = rows["BatchNorm2d backward: training — input gradient (dx)"]
    w = rows["BatchNorm2d backward: training — grads['weight']"]
    assert dx["status"] == "passed" and dx["score"] == dx["max_score"]
    assert w["status"] == "failed" and "extra_axis" in codes(w) and "(1, 3)" in w["output"]
    assert rows["BatchNorm2d backward: training — grads['bias']"]["status"] == "passed"


def test_a_diagnosis_that_raises_never_changes_a_score(monkeypatch):
    def broken(*args):
        raise RuntimeError("a diagnosis bug")

    monkeypatch.setattr(diagnose, "GENERIC", [broken] + diagnose.GENERIC)
    src = mutated("a3_pooling_normalization", BN_KEEPDIMS)
    rows, errors = judge("a3_pooling_normalization", src, "BatchNorm2d backward: training")
    assert errors == []
    w = rows["BatchNorm2d backward: training — grads['weight']"]
    assert w["score"] == 0 and "extra_axis" in codes(w)          # the other diagnoses still run
    assert any("a diagnosis bug" in e or "broken" in e for e in w["extra_data"]["diagnosis_errors"])
    assert rows["BatchNorm2d backward: training — input gradient (dx)"]["status"] == "passed"


def test_gradient_consistency_does_not_blame_backward_for_forwards_shape():
    """A Conv2d that ignores its padding in forward *and* backward is self-consistent: the forward
    checks fail, the consistency check passes and says why the shape differs."""
    src = mutated("a2_convolution", ("            self.pads = ((p[0], p[0]), (p[1], p[1]))",
                                     "            self.pads = ((0, 0), (0, 0))"))
    rows, errors = judge("a2_convolution", src, "Conv2d backward agrees with its own forward",
                         "Conv2d forward: stride 2, zero padding 1")
    assert errors == []
    gc = rows["Conv2d backward agrees with its own forward"]
    assert gc["status"] == "passed", gc["output"]
    assert "Your forward returns shape" in gc["output"]
    assert rows["Conv2d forward: stride 2, zero padding 1"]["status"] == "failed"


def test_gradient_consistency_still_catches_an_inconsistent_backward():
    src = mutated("a2_convolution", ("        return np.einsum(\"ph,ncpq,qw->nchw\", Ph, dxp, Pw)",
                                     "        return 2 * np.einsum(\"ph,ncpq,qw->nchw\", Ph, dxp, Pw)"))
    rows, _ = judge("a2_convolution", src, "Conv2d backward agrees with its own forward")
    gc = rows["Conv2d backward agrees with its own forward"]
    assert gc["status"] == "failed" and "the bug is in backward" in gc["output"]


def test_border_only_needs_an_interior():
    from grader.judge import compare

    exp = np.zeros((1, 1, 3, 3))
    got = exp.copy()
    got[0, 0, 0, :] = 1           # wrong in one row of a 3x3 output: 8 of its 9 cells are "border"
    assert not diagnose._only_border(compare(got, exp), 4)
    exp, got = np.zeros((1, 1, 7, 7)), np.zeros((1, 1, 7, 7))
    got[0, 0, 0, :] = 1
    assert diagnose._only_border(compare(got, exp), 4)


@pytest.mark.parametrize("seed", range(50))
def test_negative_corner_keeps_values_and_makes_the_window_negative(seed):
    rng = np.random.default_rng(seed)
    x = (rng.permutation(2 * 2 * 7 * 8) / 224.0 - 0.5).reshape(2, 2, 7, 8)
    y = low_corner(x, (2, 2))
    assert (y[0, 0, :2, :2] < 0).all()
    assert np.array_equal(np.sort(y, axis=None), np.sort(x, axis=None))   # same values, still distinct
    assert (y != x).sum() <= 8                                             # only swapped positions moved


def test_maxpool_padding_with_zeros_is_caught_for_every_sampled_student():
    src = mutated("a2_convolution", ("self.ceil_mode, -np.inf)", "self.ceil_mode, 0.0)"))
    for k in range(60):
        rows, _ = judge("a2_convolution", src, "MaxPool2d forward: 3x3, stride 2, padding 1", student=f"s{k}")
        assert rows["MaxPool2d forward: 3x3, stride 2, padding 1"]["status"] == "failed", k


@pytest.mark.parametrize("edit,check,code", [
    (("        self.register_parameter(\"weight\", np.random.uniform(-bound, bound, (out_channels, in_channels // groups, kh, kw)))",
      "        self.weight = np.random.uniform(-bound, bound, (out_channels, in_channels // groups, kh, kw))"),
     "Conv2d forward: 3x3, no padding", "parameter_not_registered"),
    (("        dxp = dxp.reshape(N, C, *xpshape[2:])", "        dxp = np.zeros_like(dxp).reshape(N, C, *xpshape[2:])"),
     "Conv2d backward: 3x3, no padding", "gradient_all_zero"),
    (("    return dxp[:, :, p[0]: p[0] + H, p[1]: p[1] + W]", "    return dxp[:, :, p[0]: -p[0], p[1]: -p[1]]"),
     "MaxPool2d backward: 2x2", "empty_gradient"),
    (("            self.pads = ((p[0], p[0]), (p[1], p[1]))",
      "            self.pads = ((min(p[0], 1), min(p[0], 1)), (min(p[1], 1), min(p[1], 1)))"),
     "Conv2d forward: zero padding 2", "padding_too_small"),
    (("        win = win[:, :, ::sh, ::sw, ::dh, ::dw]                  # (N, C, Ho, Wo, kh, kw)",
      "        Hn, Wn = win.shape[2:4]\n        win = sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]"
      "[:, :, :(Hn - 1) // sh + 1, :(Wn - 1) // sw + 1]"),
     "Conv2d forward: dilation 2", "dilation_ignored"),
])
def test_a2_real_mistakes_are_named(edit, check, code):
    rows, errors = judge("a2_convolution", mutated("a2_convolution", edit), check)
    assert errors == []
    failed = [r for r in rows.values() if r["status"] == "failed"]
    assert failed and any(code in codes(r) for r in failed), [r["output"] for r in failed]


def test_dropout_p1_dividing_by_zero_is_named():
    src = mutated("a3_pooling_normalization", ("scale = 0.0 if self.p == 1 else 1.0 / (1.0 - self.p)",
                                               "scale = 1.0 / (1.0 - self.p)"))
    rows, _ = judge("a3_pooling_normalization", src, "Dropout p=1 in training drops everything")
    (row,) = rows.values()
    assert row["status"] == "failed" and "dropout_p1_divides_by_zero" in codes(row)


def test_log_of_softmax_is_named_log_sum_exp_not_overflow():
    src = mutated("a1_backprop", ("log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))",
                                  "log_probs = np.log(np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True))"))
    rows, _ = judge("a1_backprop", src, "CrossEntropyLoss: logits up to ±1000")
    failed = [r for r in rows.values() if r["status"] == "failed"]
    assert failed and all("softmax_overflow" not in codes(r) for r in failed)
    assert any("ce_log_of_softmax" in codes(r) and "log-sum-exp" in r["output"] for r in failed)


def test_running_stats_rows_say_the_training_forward_raised():
    src = mutated("a3_pooling_normalization", ("        use_batch = self.training or not self.track_running_stats",
                                               "        use_batch = self.training or not self.track_running_stats\n"
                                               "        if self.training:\n            raise ValueError('boom')"))
    rows, _ = judge("a3_pooling_normalization", src, "BatchNorm2d running statistics: momentum 0.1, then eval")
    for row in rows.values():
        assert row["status"] == "failed"
        assert "training forward #1 raised" in row["output"] and "did not change" not in row["output"]


def test_end_to_end_grade_of_a_1d_gradient_shape_mistake(tmp_path):
    """The real path (CLI, sandbox): no internal error, the student learns the shape."""
    sub = tmp_path / "bn.py"
    sub.write_text(mutated("a3_pooling_normalization", BN_KEEPDIMS))
    out = tmp_path / "r.json"
    r = CliRunner().invoke(main, ["grade", "a3_pooling_normalization", str(sub), "-o", str(out)])
    assert r.exit_code == 1, r.output
    res = json.loads(out.read_text())
    assert not res["convgrade"].get("internal_errors")
    rows = {t["name"]: t for t in res["tests"]}
    assert rows["BatchNorm2d backward: training — input gradient (dx)"]["status"] == "passed"
    w = rows["BatchNorm2d backward: training — grads['weight']"]
    assert "(1, 3)" in w["output"] and "extra_axis" in codes(w)


# Independent branches computed in another order than the master's: torchvision's and most public
# ResNets add the shortcut after the main path, the master computes it first; an Inception module
# may run its branches in any order before concatenating them in the stated one.
BRANCH_ORDER = (
    ("        identity = x if self.shortcut is None else self.shortcut(x)\n"
     "        out = F.relu(self.bn1(self.conv1(x)))\n"
     "        out = self.bn2(self.conv2(out))\n",
     "        out = F.relu(self.bn1(self.conv1(x)))\n"
     "        out = self.bn2(self.conv2(out))\n"
     "        identity = x if self.shortcut is None else self.shortcut(x)\n"),
    ("        skip = x if self.proj is None else self.proj(x)\n"
     "        y = F.relu(self.bn_reduce(self.reduce(x)))\n"
     "        y = F.relu(self.bn_conv(self.conv(y)))\n"
     "        y = self.bn_expand(self.expand(y))\n",
     "        y = F.relu(self.bn_reduce(self.reduce(x)))\n"
     "        y = F.relu(self.bn_conv(self.conv(y)))\n"
     "        y = self.bn_expand(self.expand(y))\n"
     "        skip = x if self.proj is None else self.proj(x)\n"),
    ("        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], dim=1)\n",
     "        b4, b3, b2 = self.branch4(x), self.branch3(x), self.branch2(x)\n"
     "        return torch.cat([self.branch1(x), b2, b3, b4], dim=1)\n"),
)


@pytest.mark.parametrize("student", ["fair-test", "fair-test-2"])
def test_branches_run_in_another_order_trace_alike(student):
    """The shape trace compares leaves in registration order (the course's contract, which the
    weights are loaded by), each leaf's calls in call order: a Bottleneck that adds its projection
    after the main path used to score 1 of 4 layers on the hidden trace."""
    src = mutated("a5_architectures", *BRANCH_ORDER)
    rows, errors = judge("a5_architectures", src, "BasicBlock shape trace", "Bottleneck shape trace",
                         "InceptionModule shape trace", "BasicBlock forward with the grader's weights (projection, stride 2)",
                         "Bottleneck forward with the grader's weights", student=student)
    assert errors == []
    for name, row in rows.items():
        assert row["status"] == "passed" and row["score"] == row["max_score"], (name, row["output"])
