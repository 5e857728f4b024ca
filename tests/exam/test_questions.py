"""The question bank: answers equal independent torch measurements, both languages render,
variants are deterministic per seed and differ between seeds; answer normal forms and credit."""
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from grader.exam import answers as A
from grader.exam.questions import BANK, CrossCheckError, Question, _agree, generate, torch_receptive_field
from reference import arith


@pytest.mark.parametrize("kind", sorted(BANK))
def test_every_kind_renders_both_languages_and_is_deterministic(kind):
    q1 = generate(kind, 1234, "en", qid="q7", points=2)
    q2 = generate(kind, 1234, "ru", qid="q7", points=2)
    assert q1.fingerprint() == q2.fingerprint()
    assert q1.id == "q7" and q1.points == 2.0
    assert q1.text("en") and q1.text("ru") and q1.text("en") != q1.text("ru")
    assert any("\u0400" <= ch <= "\u04ff" for ch in q1.text("ru"))       # Cyrillic
    assert q1.title("ru") and q1.title("en")
    for lang in ("en", "ru"):
        assert q1.text(lang) == q2.text(lang)
    # the exact answer scores full marks in its printed and in its JSON form
    assert A.score_answer(q1.answer_type, q1.answer, q1.answer_value, n_choices=len(q1.choices))[0] == 1.0
    if q1.answer_type != "choice":
        assert A.score_answer(q1.answer_type, q1.answer, q1.answer_text.split(" ≈")[0].replace(" ", ""),
                              n_choices=len(q1.choices))[0] == 1.0


@pytest.mark.parametrize("kind", sorted(BANK))
def test_different_seeds_give_different_variants(kind):
    prints = {generate(kind, seed).fingerprint() for seed in range(12)}
    assert len(prints) >= 3


def test_conv_shape_answer_matches_a_real_cpu_forward():
    for seed in range(6):
        q = generate("conv_output_shape", seed)
        call = q.text_en.split("`")[1]
        n, c, h, w = (int(v) for v in q.text_en.split("= (")[1].split(")")[0].split(","))
        layer = eval(call, {"nn": torch.nn})      # the text's own constructor call, trusted test input
        assert tuple(layer(torch.zeros(n, c, h, w)).shape) == q.answer


def test_transposed_and_pool_answers_match_cpu_forward():
    for seed in range(4):
        for kind in ("conv_transpose_output_shape", "pool_output_shape"):
            q = generate(kind, seed)
            call = q.text_en.split("`")[1]
            shape = tuple(int(v) for v in q.text_en.split("= (")[1].split(")")[0].split(","))
            layer = eval(call, {"nn": torch.nn})
            assert tuple(layer(torch.zeros(shape)).shape) == q.answer


def test_layer_params_answer_matches_counting_in_torch():
    seen = set()
    for seed in range(30):
        q = generate("layer_params", seed)
        seen.add(q.explanation)
        if "`nn." in q.text_en and "depthwise-separable" not in q.text_en:
            layer = eval(q.text_en.split("`")[1], {"nn": torch.nn})
            assert sum(p.numel() for p in layer.parameters()) == q.answer
    assert len(seen) >= 4      # conv, depthwise, separable, linear, batch norm all drawn


def test_model_params_answer_matches_the_printed_model():
    for seed in range(5):
        q = generate("model_params", seed)
        code = q.text_en.split("```")[1]
        model = eval(code, {"nn": torch.nn})
        assert sum(p.numel() for p in model.parameters()) == q.answer


def test_receptive_field_measurement_agrees_with_lecture_examples():
    assert torch_receptive_field([(3, 1, 1)] * 3) == (7, 1, 3)
    assert torch_receptive_field([(5, 1, 0)] * 3) == (13, 1, 0)
    assert torch_receptive_field([(3, 2, 1), (3, 2, 1)]) == (7, 4, 3)


def test_ratios_are_the_lecture_values():
    assert generate("factorized_ratio", 0).answer in {Fraction(18, 25), Fraction(27, 49), Fraction(36, 81)}
    for seed in range(5):
        q = generate("separable_ratio", seed)
        k = int(q.text_en.split("A standard ")[1].split("×")[0])
        n_out = int(q.text_en.split(" to ")[1].split("×")[2].split(" ")[0])
        assert q.answer == Fraction(1, n_out) + Fraction(1, k * k)


def test_wrong_trace_has_exactly_one_wrong_row():
    for seed in range(6):
        q = generate("wrong_trace", seed)
        code_rows = [r for r in q.text_en.split("\n") if r.startswith("| ") and "`" in r]
        layers = [eval(r.split("`")[1], {"nn": torch.nn}) for r in code_rows]
        printed = [tuple(int(v) for v in r.split("|")[3].strip(" ()").split(",")) for r in code_rows]
        x = torch.zeros(tuple(int(v) for v in q.text_en.split("shape (")[1].split(")")[0].split(",")))
        wrong = []
        for i, (layer, shape) in enumerate(zip(layers, printed), 1):
            x = layer(x)
            if tuple(x.shape) != shape:
                wrong.append(i)
        assert wrong == [q.answer]


def test_cross_check_disagreement_raises():
    with pytest.raises(CrossCheckError, match="torch measures"):
        _agree("x", 3, 4)


def test_choice_questions_shuffle_options_per_seed():
    letters = {generate("mc_dropout_inference", s).answer for s in range(20)}
    assert len(letters) >= 3
    q = generate("mc_gradient_step", 5)
    assert len(q.choices) == 4 and "−" in q.choices["ABCD".index(q.answer)][0]


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="kind"):
        generate("nope", 1)
    with pytest.raises(ValueError, match="lang"):
        generate("layer_params", 1, "de")
    with pytest.raises(ValueError, match="answer_type"):
        Question("q1", "k", "a", "b", 1, answer_type="float")


# ------------------------------------------------------------------------------ answers

@pytest.mark.parametrize("text", [[8, 16, 16], (8, 16, 16), "(8,16,16)", "8x16x16", "8×16×16", "8, 16, 16",
                                  "[8 16 16]", " 8 X 16 x 16 ", "8*16*16", [8.0, "16", 16]])
def test_equivalent_shape_forms(text):
    assert A.parse_ints(text) == (8, 16, 16)


@pytest.mark.parametrize("text", ["1234", 1234, "1 234", "1,234", 1234.0, "1_234", "1234.0"])
def test_equivalent_int_forms(text):
    assert A.parse_int(text) == 1234


@pytest.mark.parametrize("bad", ["12.5", "abc", True, None, "1,23", [1], 3.5])
def test_malformed_ints_are_rejected(bad):
    with pytest.raises(A.AnswerFormatError):
        A.parse_int(bad)


def test_shape_partial_credit_per_dimension():
    exact = (2, 8, 16, 16)
    assert A.score_answer("shape", exact, "2x8x16x16")[0] == 1.0
    frac, msg = A.score_answer("shape", exact, [2, 8, 15, 15])
    assert frac == 0.5 and "position 3, 4" in msg
    assert A.score_answer("shape", exact, [8, 16, 16])[0] == 0.0           # wrong length: no credit
    assert A.score_answer("shape", exact, [2, 8, 15, 15], partial=False)[0] == 0.0
    assert A.score_answer("shape", exact, None) == (0.0, "no answer")
    assert "could not read" in A.score_answer("shape", exact, "two by eight")[1]


def test_counts_are_exact_only():
    assert A.score_answer("int", 61706, "61 706")[0] == 1.0
    assert A.score_answer("int", 61706, 61705)[0] == 0.0


def test_ratio_forms():
    exact = Fraction(18, 25)
    for ok in ("18/25", "36/50", 0.72, "0.72", "72%", "0,72"):
        assert A.score_answer("ratio", exact, ok)[0] == 1.0, ok
    for bad in ("25/18", 0.7, "0.73"):
        assert A.score_answer("ratio", exact, bad)[0] == 0.0, bad
    assert A.score_answer("ratio", Fraction(521, 4608), 0.11306)[0] == 1.0


def test_choice_forms():
    for ok in ("B", "b", "(B)", "B)", " b "):
        assert A.score_answer("choice", "B", ok, n_choices=4)[0] == 1.0
    assert "one letter" in A.score_answer("choice", "B", "E", n_choices=4)[1]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 5000), min_size=1, max_size=5), st.sampled_from([", ", "x", "×", " "]),
       st.sampled_from(["()", "[]", ""]))
def test_shape_text_round_trip(dims, sep, brackets):
    text = sep.join(map(str, dims))
    if brackets:
        text = brackets[0] + text + brackets[1]
    assert A.parse_ints(text) == tuple(dims)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 64), st.integers(1, 7), st.integers(1, 3), st.integers(0, 3), st.integers(1, 2))
def test_arith_conv_size_equals_torch(size, k, s, p, d):
    if d * (k - 1) + 1 > size + 2 * p:
        return
    out = arith.conv_output_size(size, k, s, p, d)
    layer = torch.nn.Conv1d(1, 1, k, stride=s, padding=p, dilation=d, device="meta")
    assert layer(torch.empty(1, 1, size, device="meta")).shape[-1] == out
    assert np.isfinite(out)
