"""The self-check that instructors run (``convgrade selfcheck``) covers every layer and passes."""
import reference.nn as rnn
from reference.selfcheck import _cases, run_selfcheck


def test_selfcheck_covers_every_layer_and_agrees_with_torch():
    covered = {c.name.split()[0] for c in _cases()}
    layers = {n for n in rnn.__all__ if n != "Module"}
    assert layers <= covered, f"selfcheck misses {sorted(layers - covered)}"
    lines = []
    assert run_selfcheck(cases=1, echo=lines.append), "\n".join(lines)
    assert len(lines) == len(_cases()) + 2
