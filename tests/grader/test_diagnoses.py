"""Every named mistake the issues require has a mutant that must trigger it.

``convgrade validate`` (run on every bundled assignment by tests/authoring) requires every
``diagnosis:<code>`` target of a mutant to fire on that mutant, so listing a code here and finding
it among the targets proves the feedback names that mistake for a submission that makes it.
"""
import tomllib

import pytest

from grader.assignment import ASSIGNMENTS_DIR

REQUIRED = {
    # engine (issue 3): convolution mistakes
    "flipped_kernel": "kernel flipped (convolution instead of cross-correlation)",
    "zero_padding_instead": "padding wrong only at the border",
    "stride_ignored": "stride ignored",
    "dilation_ignored": "dilation ignored",
    "bias_grad_not_summed": "bias gradient not summed over batch and space",
    "weight_grad_transposed": "weight gradient transposed",
    "divided_by_batch": "gradients scaled by the batch size",
    # problem sets (issue 4)
    "bn_running_stats_in_training": "batch norm using running statistics in training",
    "bn_batch_stats_in_eval": "batch norm using batch statistics in eval",
    "bn_unbiased_variance": "biased vs unbiased variance swapped",
    "dropout_not_rescaled": "dropout not rescaled",
    "dropout_in_eval": "dropout applied in eval",
    "max_grad_to_every_element": "max-pool gradient sent to every element of the window",
    "output_padding_ignored": "transposed convolution with output_padding ignored",
}


def mutant_targets() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(ASSIGNMENTS_DIR.glob("*/mutants.toml")):
        for m in tomllib.loads(path.read_text()).get("mutant", []):
            for t in m.get("targets", []):
                if t.startswith("diagnosis:"):
                    found.setdefault(t.split(":", 1)[1], []).append(f"{path.parent.name}:{m['name']}")
    return found


@pytest.mark.parametrize("code", sorted(REQUIRED))
def test_required_diagnosis_has_a_mutant_that_must_trigger_it(code):
    assert code in mutant_targets(), f"no mutant targets diagnosis:{code} ({REQUIRED[code]})"
