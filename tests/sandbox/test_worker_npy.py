"""The worker's own .npy reader/writer (worker.py stays standalone): byte for byte numpy's
format on the fast path, numpy's reader for anything else, and what it writes passes the
grader's strict reader."""
import importlib.util
import io

import numpy as np
import pytest

from grader.sandbox.launcher import WORKER_PATH
from grader.sandbox.protocol import decode_npy, encode_npy

spec = importlib.util.spec_from_file_location("convgrade_worker_script", WORKER_PATH)
worker = importlib.util.module_from_spec(spec)
spec.loader.exec_module(worker)

ARRAYS = [np.zeros((2, 3)), np.arange(5, dtype=np.int64), np.array(3.5), np.ones((1,), dtype=bool),
          np.zeros((0, 4), np.float32), np.arange(6, dtype=">i4").reshape(2, 3), np.asfortranarray(np.ones((3, 2))),
          np.arange(24, dtype=np.uint8).reshape(2, 3, 4)[:, ::2]]


@pytest.mark.parametrize("a", ARRAYS, ids=lambda a: f"{a.dtype.str}{a.shape}")
def test_worker_writes_what_numpy_writes_and_reads_what_the_grader_sends(a):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.ascontiguousarray(a).reshape(np.shape(a)), allow_pickle=False)
    assert worker.encode_array(a) == worker.encode_array(a) == buf.getvalue()
    back = decode_npy(worker.encode_array(a), 10**6)
    assert back.shape == a.shape and np.array_equal(back, a)
    got = worker.decode_array(encode_npy(a))
    assert got.dtype == a.dtype and got.shape == a.shape and np.array_equal(got, a) and got.flags.writeable


def test_other_headers_go_to_numpys_reader():
    for a in (np.asfortranarray(np.arange(6.0).reshape(2, 3)), np.zeros((2, 2), dtype=np.complex128)):
        buf = io.BytesIO()
        np.lib.format.write_array(buf, a, allow_pickle=False)
        got = worker.decode_array(buf.getvalue())
        assert np.array_equal(got, a) and got.dtype == a.dtype
    short = encode_npy(np.zeros(4))[:-8]                # a truncated frame is numpy's to refuse
    with pytest.raises(ValueError):
        worker.decode_array(short)
