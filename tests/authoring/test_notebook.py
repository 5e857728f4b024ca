"""Master notebook parsing, the starter, and mutants (no sandbox)."""
from __future__ import annotations

import pytest

from grader.assignment import ASSIGNMENTS_DIR
from grader.authoring import MutantError, load_mutants, master_source, parse, starter_source
from grader.authoring.mutants import Mutant, hits_target
from grader.authoring.scaffold import ScaffoldError, scaffold

A2 = ASSIGNMENTS_DIR / "a2_convolution"


def test_master_source_is_the_notebook_code_without_markers():
    src = master_source("a2_convolution")
    compile(src, "master", "exec")
    assert "BEGIN SOLUTION" not in src and "# SOLUTION" not in src
    for name in ("class Conv2d(Module)", "class Conv1d(Module)", "def conv_output_size(", "ANSWER_ALEXNET_CONV1 = 55"):
        assert name in src


def test_starter_keeps_signatures_and_drops_solutions():
    master = parse(A2 / "master.ipynb")
    starter = starter_source(master)
    compile(starter, "starter", "exec")
    assert "def forward(self, x):" in starter and "class MaxPool2d(Module):" in starter
    assert "ANSWER_ALEXNET_CONV1 = ..." in starter
    for line in ("onehot = (np.arange(wshape[4] * wshape[5]) == arg[..., None]) * grad_out[..., None]",
                 "effective = dilation * (kernel_size - 1) + 1", "ANSWER_ALEXNET_CONV1 = 55"):
        assert line in master.source and line not in starter


def test_questions_map_targets():
    master = parse(A2 / "master.ipynb")
    assert [q.name for q in master.questions] == ["conv2d", "pooling", "conv1d", "sizes", "vanishing"]
    assert master.question_of("MaxPool2d").name == "pooling"
    assert master.question_of("ANSWER_RF_VGG_BLOCK").name == "sizes"
    assert master.question_of("Module") is None   # given code belongs to no question


def test_every_a2_mutant_applies_and_changes_the_source():
    src = master_source("a2_convolution")
    mutants = load_mutants(A2)
    assert len(mutants) >= 6 * 7
    assert len({m.apply(src) for m in mutants}) == len(mutants)


def test_mutant_text_must_occur_exactly_once():
    src = "a = 1\nb = 1\n"
    with pytest.raises(MutantError, match="not found"):
        Mutant("m", "d", ["x"], [("c = 1", "c = 2")]).apply(src)
    with pytest.raises(MutantError, match="found 2 times"):
        Mutant("m", "d", ["x"], [(" = 1", " = 2")]).apply(src)
    assert Mutant("m", "d", ["x"], [("a = 1", "a = 2"), ("a = 2", "a = 3")]).apply(src) == "a = 3\nb = 1\n"


@pytest.mark.parametrize("body, message", [
    ('[[mutant]]\nname = "a"\ndescription = "d"\ntargets = []\nreplace = [["x", "y"]]', "targets"),
    ('[[mutant]]\nname = "a"\ndescription = ""\ntargets = ["t"]\nreplace = [["x", "y"]]', "description"),
    ('[[mutant]]\nname = "a"\ndescription = "d"\ntargets = ["t"]\nreplace = [["x", "x"]]', "change"),
    ('[[mutant]]\nname = "a"\ndescription = "d"\ntargets = ["t"]\nreplace = [["x", "y"]]\n'
     '[[mutant]]\nname = "a"\ndescription = "d"\ntargets = ["t"]\nreplace = [["x", "y"]]', "duplicate"),
])
def test_malformed_mutants_are_refused(tmp_path, body, message):
    (tmp_path / "mutants.toml").write_text(body)
    with pytest.raises(MutantError, match=message):
        load_mutants(tmp_path)


def test_hits_target_needs_one_named_check_and_every_diagnosis():
    m = Mutant("m", "d", ["conv2d forward", "conv2d backward", "diagnosis:flipped_kernel"], [("a", "b")])
    flipped = {"diagnoses": [{"code": "flipped_kernel"}]}
    assert hits_target(m, [{"name": "Conv2d forward: 3x3", "extra_data": flipped}])
    assert hits_target(m, [{"name": "Conv2d backward: 3x3", "extra_data": flipped}])
    assert not hits_target(m, [{"name": "Conv2d forward: 3x3", "extra_data": {}}])      # diagnosis missing
    assert not hits_target(m, [{"name": "x", "extra_data": flipped}])                    # wrong check
    names_only = Mutant("n", "d", ["conv2d forward"], [("a", "b")])
    assert hits_target(names_only, [{"name": "Conv2d forward: 3x3", "extra_data": {}}])
    codes_only = Mutant("c", "d", ["diagnosis:flipped_kernel"], [("a", "b")])
    assert hits_target(codes_only, [{"name": "anything", "extra_data": flipped}])


def test_scaffold_refuses_bad_ids_and_non_empty_folders(tmp_path):
    with pytest.raises(ScaffoldError, match="assignment_id"):
        scaffold("Bad-Id", tmp_path / "x")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("x")
    with pytest.raises(ScaffoldError, match="not empty"):
        scaffold("ok_id", tmp_path / "full")
