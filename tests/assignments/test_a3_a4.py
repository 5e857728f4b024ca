"""Content of a3_pooling_normalization and a4_upsampling_segmentation: the master solution earns
full marks, every mutant (a known student mistake) loses points on the checks it targets and names
the diagnosis it is written to trigger; every graded class has at least 6 mutants; the starter
fails every visible check."""
from __future__ import annotations

import pytest

from ._mutant_grading import (check_every_graded_class_has_six_mutants, check_feedback_text_names_the_mistake,
                              check_master_solution_earns_full_marks, check_mutants_lose_points_on_their_targets,
                              check_mutants_trigger_their_diagnoses, check_starter_has_skeletons_without_solutions,
                              grade_all)

ASSIGNMENTS = ["a3_pooling_normalization", "a4_upsampling_segmentation"]


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded(request):
    return grade_all(request.param)


def test_master_solution_earns_full_marks(graded):
    check_master_solution_earns_full_marks(graded)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_graded_class_has_six_mutants(assignment):
    check_every_graded_class_has_six_mutants(assignment)


def test_mutants_lose_points_on_their_targets(graded):
    check_mutants_lose_points_on_their_targets(graded)


def test_mutants_trigger_their_diagnoses(graded):
    check_mutants_trigger_their_diagnoses(graded)


def test_feedback_text_names_the_mistake(graded):
    check_feedback_text_names_the_mistake(graded)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_starter_has_skeletons_without_solutions(assignment):
    check_starter_has_skeletons_without_solutions(assignment)
