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
    # fair judgement (issue 12): real third-party mistakes
    "gradient_all_zero": "unfinished backward: dx all zeros",
    "empty_gradient": "empty dx from slicing pad:-pad with padding 0",
    "dropout_p1_divides_by_zero": "dropout with p = 1 dividing by zero",
    "parameter_not_registered": "self.weight = ... without register_parameter",
    "ce_log_of_softmax": "cross-entropy as the log of an underflowed softmax (log-sum-exp)",
    "extra_axis": "a gradient with an extra axis of length 1, e.g. (1, C) for (C,)",
    "padding_too_small": "padding 1 where the case asks for 2",
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
