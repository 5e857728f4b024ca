"""The wire format: framing, and the validation of every .npy frame that comes from the sandbox."""
import io
import json
import pickle

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from grader.sandbox import ProtocolError, decode_npy, encode_message
from grader.sandbox.protocol import HEADER, decode_json, decode_value, encode_npy


def npy(array, **kw) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, **kw)
    return buf.getvalue()


def npy_with_header(header: dict, data: bytes, version=(1, 0)) -> bytes:
    buf = io.BytesIO()
    if version == (1, 0):
        np.lib.format.write_array_header_1_0(buf, header)
    else:
        np.lib.format.write_array_header_2_0(buf, header)
    return buf.getvalue() + data


def split_frames(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos < len(data):
        (n,) = HEADER.unpack_from(data, pos)
        out.append(data[pos + 8:pos + 8 + n])
        pos += 8 + n
    assert pos == len(data)
    return out


def test_encode_message_frames_json_then_arrays():
    a, b = np.arange(6, dtype=np.int32).reshape(2, 3), np.array([True, False])
    frames = split_frames(encode_message({"op": "probe", "id": 3, "x": {"$array": 1}}, [a, b]))
    assert len(frames) == 3
    header = json.loads(frames[0])
    assert header == {"op": "probe", "id": 3, "x": {"$array": 1}, "n_arrays": 2}
    np.testing.assert_array_equal(decode_npy(frames[1], 100), a)
    np.testing.assert_array_equal(decode_npy(frames[2], 100), [1.0, 0.0])


def test_encode_message_refuses_nan_and_object_arrays():
    with pytest.raises(ValueError):
        encode_message({"x": float("nan")})
    with pytest.raises(ValueError, match="array"):
        encode_message({}, [np.array([object()])])
    with pytest.raises(ValueError, match="obj"):
        encode_message([1, 2])


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(dtype=st.sampled_from(["<f8", ">f8", "<f4", "<f2", "<i8", ">i4", "<u2", "|u1", "|b1"]),
                  shape=hnp.array_shapes(min_dims=0, max_dims=4, max_side=5)),
       st.booleans())
def test_decode_npy_round_trip_gives_fresh_float64(array, fortran):
    if fortran:
        array = np.asfortranarray(array)
    out = decode_npy(npy(array), max_elements=10_000)
    assert out.dtype == np.float64 and out.shape == array.shape
    assert out.flags.writeable and out.flags.owndata
    np.testing.assert_array_equal(out, array.astype(np.float64))


def test_decode_npy_version_2_header():
    a = np.arange(4.0)
    data = npy_with_header({"descr": "<f8", "fortran_order": False, "shape": (4,)}, a.tobytes(), (2, 0))
    np.testing.assert_array_equal(decode_npy(data, 10), a)


@pytest.mark.parametrize("array", [np.array([1 + 2j]), np.array(["ab"]), np.array([b"ab"]),
                                   np.array(["2020-01-01"], dtype="datetime64[D]"),
                                   np.array([1], dtype="timedelta64[s]")])
def test_decode_npy_refuses_other_dtype_kinds(array):
    with pytest.raises(ProtocolError, match="dtype"):
        decode_npy(npy(array), 100)


def test_decode_npy_refuses_object_arrays_and_pickles():
    with pytest.raises(ProtocolError, match="dtype"):
        decode_npy(npy(np.array([{"a": 1}, None], dtype=object), allow_pickle=True), 100)
    with pytest.raises(ProtocolError, match="magic"):
        decode_npy(pickle.dumps(np.arange(3.0)), 100)
    with pytest.raises(ProtocolError, match="magic"):
        decode_npy(b"", 100)


def test_decode_npy_refuses_structured_and_subarray_dtypes():
    structured = np.zeros(2, dtype=[("a", "<f8"), ("b", "<i4")])
    with pytest.raises(ProtocolError):
        decode_npy(npy(structured), 100)
    # a subarray dtype written by hand: "<f8" with a (3,) subshape
    data = npy_with_header({"descr": [("", "<f8", (3,))], "fortran_order": False, "shape": (2,)}, bytes(48))
    with pytest.raises(ProtocolError):
        decode_npy(data, 100)


@pytest.mark.parametrize("extra", [-8, -1, 1, 8])
def test_decode_npy_refuses_header_that_lies_about_the_size(extra):
    good = npy(np.arange(10.0))
    bad = good[:extra] if extra < 0 else good + bytes(extra)
    with pytest.raises(ProtocolError, match="bytes"):
        decode_npy(bad, 100)


def test_decode_npy_refuses_huge_element_claims_before_allocating():
    data = npy_with_header({"descr": "<f8", "fortran_order": False, "shape": (10**9,)}, b"\0" * 8)
    with pytest.raises(ProtocolError, match="exceed"):
        decode_npy(data, 10_000_000)
    data = npy_with_header({"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6, 10**6)}, b"")
    with pytest.raises(ProtocolError, match="exceed"):
        decode_npy(data, 10_000_000)
    with pytest.raises(ProtocolError, match="exceed"):
        decode_npy(npy(np.zeros(11)), 10)


def test_decode_npy_refuses_garbage_headers():
    magic = np.lib.format.magic(1, 0)
    for header in (b"{'descr': __import__('os').getcwd(), 'fortran_order': False, 'shape': (1,)}",
                   b"[1, 2, 3]", b"{'descr': '<f8'}", b"\xff\xfe garbage"):
        body = header + b" " * (63 - (len(magic) + 2 + len(header)) % 64) + b"\n"
        data = magic + len(body).to_bytes(2, "little") + body + bytes(8)
        with pytest.raises(ProtocolError):
            decode_npy(data, 100)
    with pytest.raises(ProtocolError, match="version"):
        decode_npy(np.lib.format.magic(3, 0) + bytes(64), 100)


def test_decode_json_is_strict():
    assert decode_json(b'{"id": 1}') == {"id": 1}
    for bad in (b'{"x": NaN}', b'{"x": Infinity}', b"[1]", b"\xff{}", b"{", b"[" * 100_000):
        with pytest.raises(ProtocolError):
            decode_json(bad)


def test_decode_value_markers():
    arrays = [np.arange(2.0)]
    out = decode_value({"a": {"$array": 0}, "b": [{"$float": "nan"}, {"$float": "-inf"}],
                        "c": {"$unencodable": "Foo"}, "d": {"e": 1}}, arrays)
    assert out["a"] is arrays[0] and np.isnan(out["b"][0]) and out["b"][1] == -np.inf
    assert out["c"] == {"$unencodable": "Foo"} and out["d"] == {"e": 1}
    for bad in ({"$array": 1}, {"$array": True}, {"$array": "0"}, {"$float": "1e999"}):
        with pytest.raises(ProtocolError):
            decode_value(bad, arrays)
    deep = 1
    for _ in range(100):
        deep = [deep]
    with pytest.raises(ProtocolError, match="deeper"):
        decode_value(deep, arrays)
