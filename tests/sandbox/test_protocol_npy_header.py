"""The .npy header is read by the grader's own strict pattern, never evaluated: every header
numpy writes for a plain array of an allowed dtype reads back, everything else is refused with a
ProtocolError before any array is built; and the writer gives numpy's bytes exactly."""
import io

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from grader.sandbox.protocol import MAX_NPY_HEADER, NPY_DTYPES, ProtocolError, decode_npy, encode_npy

MAGIC1 = b"\x93NUMPY\x01\x00"


def numpy_bytes(array) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, allow_pickle=False)
    return buf.getvalue()


def frame(header: bytes, data: bytes = b"", magic: bytes = MAGIC1) -> bytes:
    """A v1.0 frame with the header text as given (padded to numpy's alignment unless it ends
    in a newline already)."""
    if not header.endswith(b"\n"):
        header += b" " * (63 - (len(magic) + 2 + len(header)) % 64) + b"\n"
    return magic + len(header).to_bytes(2, "little") + header + data


def header(descr="'<f8'", fortran="False", shape="(2,)") -> bytes:
    return ("{'descr': %s, 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)).encode()


DTYPES = ["<f8", ">f8", "<f4", ">f4", "<f2", "<i8", ">i8", "<i4", "<i2", "|i1", "<u8", "<u4", "<u2", "|u1", "|b1"]


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(dtype=st.sampled_from(DTYPES), shape=hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=4)))
def test_the_writer_gives_numpys_bytes_and_the_reader_reads_them(array):
    data = encode_npy(array)
    assert data == numpy_bytes(np.ascontiguousarray(array).reshape(array.shape))
    out = decode_npy(data, 10_000)
    assert out.dtype == np.float64 and out.shape == array.shape
    np.testing.assert_array_equal(out, array.astype(np.float64))
    fortran = decode_npy(numpy_bytes(np.asfortranarray(array)), 10_000)
    np.testing.assert_array_equal(fortran, array.astype(np.float64))


def test_every_allowed_dtype_is_a_plain_number_dtype():
    assert b"<f8" in NPY_DTYPES and b"|b1" in NPY_DTYPES
    for descr, dtype in NPY_DTYPES.items():
        assert dtype.kind in "biuf" and dtype.fields is None and dtype.str.encode() == descr


def test_header_variants_numpy_writes_read_back():
    data = np.arange(2.0).tobytes()
    for text in (header(), header(shape="(2, )"), header().replace(b", }", b"}"),
                 b"{'shape': (2,), 'fortran_order': False, 'descr': '<f8'}",
                 header() + b" " * 30 + b"\n"):
        np.testing.assert_array_equal(decode_npy(frame(text, data), 10), [0.0, 1.0])
    assert decode_npy(frame(header(shape="()"), bytes(8)), 10).shape == ()
    assert decode_npy(frame(header(shape="(0, 3)")), 10).shape == (0, 3)


@pytest.mark.parametrize("text", [
    header(shape="(2)"),                                  # an int, not a tuple
    header(shape="(-2,)"), header(shape="(2.0,)"), header(shape="(0x2,)"), header(shape="(02,)"),
    header(shape="(1_0,)"), header(shape="(True,)"), header(shape="[2]"), header(shape="(2,,)"),
    header(shape="(" + "1, " * 65 + ")"),                 # more dims than numpy allows
    header(shape="(" + "9" * 20 + ",)"),                  # a dim of 20 digits
    header(fortran="0"), header(fortran="'False'"), header(fortran="None"),
    header(descr="[('', '<f8', (3,))]"), header(descr="'<f8' + ''"), header(descr="<f8"),
    header(descr="\"<f8\""),
    b"{'descr': '<f8', 'fortran_order': False}",
    b"{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'shape': (2,)}",
    b"{'descr': '<f8', 'descr': '<f8', 'shape': (2,)}",
    b"{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'extra': 1}",
    b"{'descr': '<f8', 'fortran_order': False, 'shapes': (2,)}",
    b"{'descr': __import__('os').getcwd(), 'fortran_order': False, 'shape': (2,)}",
    b"dict(descr='<f8', fortran_order=False, shape=(2,))",
    header() + b" x",                                     # junk after the dict
    b"\t" + header(),
    b"\xff\xfe" + header(),
    b"",
])
def test_malformed_headers_are_refused(text):
    with pytest.raises(ProtocolError, match="header|dtype"):
        decode_npy(frame(text, bytes(16)), 100)


@pytest.mark.parametrize("descr", ["'<c16'", "'|O'", "'<U2'", "'|S2'", "'<M8[D]'", "'<m8[s]'", "'|V8'",
                                   "'<f12'", "'=f8'", "'|f8'", "'<b1'", "'<i16'", "''"])
def test_other_dtypes_are_refused_by_name(descr):
    with pytest.raises(ProtocolError, match="dtype"):
        decode_npy(frame(header(descr=descr), bytes(64)), 100)


def test_truncated_oversized_and_mislabelled_frames_are_refused():
    good = encode_npy(np.arange(3.0))
    for cut in (3, 6, 8, 9, 10, 40, len(good) - 1):
        with pytest.raises(ProtocolError):
            decode_npy(good[:cut], 100)
    big = b"{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }" + b" " * MAX_NPY_HEADER + b"\n"
    with pytest.raises(ProtocolError, match="header"):
        decode_npy(frame(big, bytes(16)), 100)
    v2 = b"\x93NUMPY\x02\x00" + (2**31).to_bytes(4, "little") + b"{"
    with pytest.raises(ProtocolError, match="header"):
        decode_npy(v2, 100)
    with pytest.raises(ProtocolError, match="version"):
        decode_npy(b"\x93NUMPY\x01\x01" + good[8:], 100)
    with pytest.raises(ProtocolError, match="magic"):
        decode_npy(b"\x93NUMPX" + good[6:], 100)
    with pytest.raises(ProtocolError, match="exceed"):
        decode_npy(frame(header(shape="(" + ", ".join(["1000000"] * 64) + ",)")), 100)


def test_headers_read_before_are_reused_only_byte_for_byte(monkeypatch):
    from grader.sandbox import protocol

    monkeypatch.setattr(protocol, "_HEADERS", {})
    good = encode_npy(np.arange(4.0))
    np.testing.assert_array_equal(decode_npy(good, 10), np.arange(4.0))
    assert len(protocol._HEADERS) == 1
    np.testing.assert_array_equal(decode_npy(good, 10), np.arange(4.0))
    with pytest.raises(ProtocolError, match="bytes"):      # same header, lying length: still caught
        decode_npy(good[:-1], 10)
    with pytest.raises(ProtocolError, match="exceed"):     # and the cap is the caller's, every time
        decode_npy(good, 3)
    bad = good.replace(b"(4,)", b"(4) ")
    with pytest.raises(ProtocolError, match="header"):
        decode_npy(bad, 10)
    monkeypatch.setattr(protocol, "MAX_HEADERS_KEPT", 3)
    for n in range(1, 8):
        decode_npy(encode_npy(np.zeros(n)), 10)
    assert len(protocol._HEADERS) <= 3
