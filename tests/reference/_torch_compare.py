"""Helpers shared by the reference-vs-torch tests: hypothesis settings and the relative error of
our array against torch's. Imported relatively (``from ._torch_compare import ...``), which works
under ``--import-mode=importlib``."""
from __future__ import annotations

import numpy as np
import torch
from hypothesis import HealthCheck

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def to_numpy(value) -> np.ndarray:
    """A torch tensor (detached) or anything array-like -> numpy array."""
    return value.detach().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


def rel_err(ours, theirs, floor: float = 0.0) -> float:
    """max |ours - theirs| / max(max |theirs|, floor) (the absolute error when that scale is 0;
    0 for empty arrays). Asserts that the shapes agree."""
    theirs = to_numpy(theirs)
    assert np.shape(ours) == theirs.shape, (np.shape(ours), theirs.shape)
    if theirs.size == 0:
        return 0.0
    scale = max(np.abs(theirs).max(), floor)
    diff = np.abs(np.asarray(ours, dtype=np.float64) - theirs.astype(np.float64)).max()
    return diff / scale if scale > 0 else diff
