"""Task texts that agree with the grader (issue 12, item 10): one reading in both languages, every
scored threshold stated, and the reference matching torch for the cases a text describes."""
import numpy as np
import pytest

from grader.assignment import load
from grader.authoring import master_source, parse


def _markdown(assignment_id: str) -> str:
    nb = parse(load(assignment_id).path / "master.ipynb").nb
    return "\n".join("".join(c.source) for c in nb.cells if c.cell_type == "markdown")


def _all_text(assignment_id: str) -> str:
    nb = parse(load(assignment_id).path / "master.ipynb").nb
    return "\n".join("".join(c.source) for c in nb.cells)


def test_a1_asks_for_parameters_in_both_languages():
    text = _markdown("a1_backprop")
    assert "Сколько весов" not in text and "Сколько параметров (весов и смещений" in text


def test_a1_hint_leads_to_log_sum_exp():
    text = _markdown("a1_backprop")
    assert "log-sum-exp" in text and "do not take the log of the softmax" in text
    assert "не берите логарифм от softmax" in text


def test_a2_sigmoid_questions_have_one_reading():
    text = _all_text("a2_convolution")
    assert "(at which z?)" not in text and "not the z where it is reached" in text
    assert "by what factor does the gradient shrink" not in text and "multiplied by what number" in text


def test_a6_states_the_marks_of_its_milestones_in_both_languages():
    a = load("a6_training")
    text = _markdown("a6_training")
    for spec in (s for s in a.checks if s.kind == "milestone"):
        for threshold, _ in spec.get("bands"):
            assert f"{threshold:.0%}" in text, (spec.name, threshold)
    assert "97% held-out accuracy for full points, 95% for half" in text
    assert "97% точности на отложенной выборке — полный балл, 95% — половина" in text
    assert "at 78% or more, half of it at 70% or more" in text and "при 78% и выше, её половина при 70%" in text


def test_no_text_claims_an_unenforced_loop_rule():
    for aid in ("a1_backprop", "a2_convolution", "a3_pooling_normalization", "a4_upsampling_segmentation"):
        text = _markdown(aid)
        assert "no Python loops" not in text and "No Python loops" not in text, aid
        assert "not scored" in text, aid


def _a4_upsample():
    env = {"__name__": "a4_master"}
    exec(compile(master_source(load("a4_upsampling_segmentation")), "a4_master.py", "exec"), env)
    return env["Upsample"]


# The cases a4's text describes: identity, exactly twice the size (2 and 2.1 on H = 4), other scale
# factors, a given size, a long axis.
CASES = [({"scale_factor": 1}, (1, 1, 4, 5)), ({"scale_factor": 2}, (1, 2, 4, 4)),
         ({"scale_factor": 2.1}, (1, 1, 4, 4)), ({"scale_factor": 1.5}, (1, 1, 5, 5)),
         ({"scale_factor": 3.3}, (1, 1, 7, 3)), ({"size": (6, 10)}, (1, 2, 4, 4)),
         ({"scale_factor": 1.9}, (1, 1, 1, 2049)), ({"scale_factor": 0.7}, (1, 1, 9, 13))]


@pytest.mark.parametrize("kwargs,shape", CASES)
def test_nearest_upsampling_as_the_text_says_matches_torch(kwargs, shape):
    torch = pytest.importorskip("torch")
    from reference.nn import Upsample as RefUpsample

    x = np.random.default_rng(0).standard_normal(shape)
    want = torch.nn.Upsample(mode="nearest", **kwargs)(torch.from_numpy(x)).numpy()
    assert np.array_equal(np.asarray(RefUpsample(mode="nearest", **kwargs).forward(x)), want)
    assert np.array_equal(np.asarray(_a4_upsample()(mode="nearest", **kwargs).forward(x)), want)


def test_a4_text_states_the_twice_the_size_rule():
    text = _markdown("a4_upsampling_segmentation")
    assert "`H_out = 2·H`" in text and "0 0 1 1 2 2 3 3" in text
