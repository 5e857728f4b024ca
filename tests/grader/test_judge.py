import numpy as np
import pytest

from grader.judge import compare
from grader.seeds import check_seed, derive_seed


def test_equal_arrays_pass_and_report_tiny_error():
    a = np.random.default_rng(0).standard_normal((2, 3, 4))
    c = compare(a + 1e-12, a)
    assert c.ok and c.rel_error < 1e-10


def test_missing_and_wrong_type_have_their_own_message():
    assert compare(None, np.zeros(3)).problem == "missing"
    c = compare({"$unencodable": "Always"}, np.zeros(3))
    assert c.problem == "type" and "Always" in c.message


def test_shape_is_checked_before_values_and_names_both_shapes():
    c = compare(np.zeros((3, 2)), np.zeros((2, 3)))
    assert c.problem == "shape"
    assert "(3, 2)" in c.message and "(2, 3)" in c.message and "reshape" in c.message


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_never_passes(bad):
    a = np.zeros(4)
    b = a.copy()
    b[1] = bad
    assert compare(b, a).problem == "nonfinite"
    assert not compare(np.full(4, bad), np.full(4, bad)).ok


def test_tolerance_is_relative_symmetric_and_dtype_aware():
    rng = np.random.default_rng(1)
    e = rng.standard_normal(100) * 1e6
    assert compare(e * (1 + 1e-8), e).ok
    assert not compare(e * (1 + 1e-3), e).ok
    noisy = e * (1 + 5e-5)
    assert not compare(noisy, e, dtype="float64").ok and compare(noisy, e, dtype="float32").ok
    x, y = rng.standard_normal(50), rng.standard_normal(50)
    assert compare(x, y).ok == compare(y, x).ok
    small = rng.standard_normal(10) * 1e-9
    assert not compare(small * 2, small).ok   # relative, not absolute: tiny values are judged too


def test_scaled_output_fails_even_if_large():
    e = np.ones(10)
    assert not compare(e * 1000, e).ok


def test_value_failure_reports_count_and_worst_index():
    e = np.zeros((2, 2, 3, 3))
    a = e.copy()
    a[1, 0, 2, 1] = 5.0
    c = compare(a, e)
    assert c.problem == "value" and c.n_wrong == 1 and c.worst_index == (1, 0, 2, 1)
    assert "1 of 36" in c.message


def test_seeds_are_deterministic_and_separate_students_checks_and_keys():
    s = derive_seed(b"k", "a2", "check", "alice")
    assert s == derive_seed(b"k", "a2", "check", "alice")
    assert len({s, derive_seed(b"k", "a2", "check", "bob"), derive_seed(b"k", "a2", "other", "alice"),
                derive_seed(b"k2", "a2", "check", "alice")}) == 4
    # visible checks ignore the student and the secret: what `check` shows is what `grade` uses
    assert check_seed("a2", "c", "alice", True, b"x") == check_seed("a2", "c", "bob", True, b"y")
    assert check_seed("a2", "c", "alice", False, b"x") != check_seed("a2", "c", "alice", False, b"y")
