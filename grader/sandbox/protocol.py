"""Wire format between the grader and the sandbox worker (see docs/ARCHITECTURE.md).

Framing: every frame is an 8-byte big-endian unsigned length followed by that many bytes. A
*message* is one JSON frame (a UTF-8 object) followed by ``header["n_arrays"]`` frames, each the
bytes of a ``.npy`` file. In a JSON value, ``{"$array": i}`` stands for the i-th array frame.

This module is the grader's side: it encodes requests and validates what comes back. Nothing
the worker sends is unpickled, imported or called: array frames are checked field by field
(:func:`decode_npy`: a strict reader of numpy's own header, never evaluated) and every array
is copied into a fresh float64 array. The worker (``worker.py``) carries its own copy of the few lines of
framing code, because it must stay a standalone script that never imports ``grader``.
"""
from __future__ import annotations

import functools
import json
import math
import re
import struct


class _Numpy:
    """numpy, imported on its first use here: starting a worker encodes no array, and ``grade``
    starts its worker before the grader has imported numpy (:func:`grader.sandbox.pool.start_early`)."""

    def __getattr__(self, name):
        import numpy

        globals()["np"] = numpy      # from now on the module itself
        return getattr(numpy, name)


np = _Numpy()

HEADER = struct.Struct(">Q")
ALLOWED_KINDS = "biuf"


class ProtocolError(Exception):
    """The other side sent something that violates the wire format or a size cap."""


def frame(data: bytes) -> bytes:
    """Prefix ``data`` with its 8-byte big-endian length."""
    return HEADER.pack(len(data)) + data


# .npy files, written and read here without numpy's header code: numpy parses a header with
# ``ast.literal_eval`` (about a tenth of a millisecond per array, hundreds of arrays per grade).
# The reader below accepts only what numpy itself writes for a plain array: the three keys, a
# dtype from the allow-list, ``True``/``False``, a tuple of decimal ints; anything else is refused.
NPY_MAGIC = b"\x93NUMPY"
NPY_ALIGN = 64                  # numpy's ARRAY_ALIGN: the data starts on a 64-byte boundary
NPY_GROWTH_DIGITS = 21          # numpy's GROWTH_AXIS_MAX_DIGITS: spaces after the dict
MAX_NPY_HEADER = 4096           # bytes of a header (numpy's own limit: 10,000)
MAX_NPY_DIMS = 64               # numpy's NPY_MAXDIMS
MAX_HEADERS_KEPT = 512          # headers written and read, each kept for reuse (then all forgotten)


@functools.lru_cache(maxsize=1)
def _allowed_dtypes() -> dict[bytes, np.dtype]:
    """descr (as numpy writes it: ``dtype.str``) -> dtype, for every plain bool, int, uint and
    float dtype of this platform in either byte order."""
    out = {}
    for code in ("b1", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f2", "f4", "f8", "f16"):
        for order in "<>|":
            try:
                dtype = np.dtype(order + code)
            except TypeError:
                continue
            if dtype.kind in ALLOWED_KINDS and dtype.fields is None and dtype.subdtype is None:
                out[dtype.str.encode("ascii")] = dtype
    return out


def __getattr__(name):
    if name == "NPY_DTYPES":     # the allowed dtypes by descr, built on first use (it needs numpy)
        return _allowed_dtypes()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# one entry of the header dict: a key, then a quoted descr, a bool or a parenthesized tuple of ints
_NPY_ITEM = rb" *'([a-z_]{1,16})' *: *('[^']{0,40}'|True|False|\([0-9, ]{0,1400}\)) *"
_NPY_HEADER = re.compile(rb"\{" + _NPY_ITEM + rb"," + _NPY_ITEM + rb"," + _NPY_ITEM + rb",? *\} *\n?\Z")
_NPY_INT = re.compile(rb"0|[1-9][0-9]{0,18}")


def npy_header(dtype: np.dtype, shape: tuple[int, ...]) -> bytes:
    """The ``.npy`` v1.0 header numpy writes for a C-ordered array (magic, length, padded dict)."""
    shape = tuple(int(d) for d in shape)
    text = "{'descr': %r, 'fortran_order': False, 'shape': %r, }" % (dtype.str, shape)
    if shape:               # numpy's room to grow the first axis in place
        text += " " * (NPY_GROWTH_DIGITS - len(repr(shape[0])))
    pad = NPY_ALIGN - (len(NPY_MAGIC) + 4 + len(text) + 1) % NPY_ALIGN
    body = (text + " " * pad + "\n").encode("latin1")
    if len(body) > 0xFFFF:
        raise ValueError(f"array: shape {shape} needs a .npy header longer than version 1.0 allows")
    return NPY_MAGIC + b"\x01\x00" + len(body).to_bytes(2, "little") + body


def encode_npy(array: np.ndarray) -> bytes:
    """The bytes of a ``.npy`` file holding ``array`` (no pickling: object arrays are refused);
    byte for byte what ``np.lib.format.write_array`` writes for it."""
    array = np.asarray(array)
    if array.dtype.kind not in ALLOWED_KINDS or array.dtype.fields is not None or array.dtype.subdtype is not None:
        raise ValueError(f"array: dtype {array.dtype} cannot be sent (allowed kinds: b, i, u, f)")
    key = (array.dtype.str, array.shape)
    header = _WRITTEN.get(key)
    if header is None:
        header = npy_header(array.dtype, array.shape)
        if len(_WRITTEN) >= MAX_HEADERS_KEPT:
            _WRITTEN.clear()
        _WRITTEN[key] = header
    return header + np.ascontiguousarray(array).tobytes()


_WRITTEN: dict[tuple, bytes] = {}       # (descr, shape) -> header, for the shapes sent again and again


def _npy_shape(text: bytes) -> tuple[int, ...] | None:
    """``(2, 3)`` / ``(4,)`` / ``()`` -> the tuple; None for anything that is not a tuple of
    decimal ints (``(4)`` is an int, not a tuple)."""
    inner = text[1:-1].strip(b" ")
    if not inner:
        return ()
    parts = [part.strip(b" ") for part in inner.split(b",")]
    if parts[-1] == b"":
        parts.pop()
    elif len(parts) == 1:
        return None
    if not parts or len(parts) > MAX_NPY_DIMS or not all(_NPY_INT.fullmatch(part) for part in parts):
        return None
    return tuple(int(part) for part in parts)


# Headers repeat (the same shapes come back probe after probe): the last ones read, by their bytes.
_HEADERS: dict[bytes, tuple[np.dtype, tuple[int, ...], bool, int]] = {}


def _npy_header(data: bytes) -> tuple[np.dtype, tuple[int, ...], bool, int]:
    """(dtype, shape, fortran_order, data offset) of a ``.npy`` frame; ProtocolError unless the
    header is one numpy writes for a plain array of an allowed dtype (one read before, byte for
    byte the same, is not read again)."""
    if len(data) >= 12:
        end = 10 + int.from_bytes(data[8:10], "little") if data[6:8] == b"\x01\x00" else 0
        if 10 < end <= min(len(data), 10 + MAX_NPY_HEADER):
            known = _HEADERS.get(data[:end])
            if known is not None:
                return known
            parsed = _read_npy_header(data)
            if len(_HEADERS) >= MAX_HEADERS_KEPT:
                _HEADERS.clear()
            _HEADERS[data[:end]] = parsed
            return parsed
    return _read_npy_header(data)


def _read_npy_header(data: bytes) -> tuple[np.dtype, tuple[int, ...], bool, int]:
    if len(data) < 10 or data[:6] != NPY_MAGIC:
        raise ProtocolError("array frame: bad .npy magic (not a .npy file)")
    version = (data[6], data[7])
    if version == (1, 0):
        size, start = int.from_bytes(data[8:10], "little"), 10
    elif version == (2, 0):
        if len(data) < 12:
            raise ProtocolError("array frame: bad .npy header (truncated)")
        size, start = int.from_bytes(data[8:12], "little"), 12
    else:
        raise ProtocolError(f"array frame: unsupported .npy version {version}")
    if size > MAX_NPY_HEADER:
        raise ProtocolError(f"array frame: bad .npy header ({size} bytes, more than {MAX_NPY_HEADER})")
    if len(data) < start + size:
        raise ProtocolError("array frame: bad .npy header (truncated)")
    match = _NPY_HEADER.match(data, start, start + size)
    if match is None:
        raise ProtocolError("array frame: bad .npy header (not a plain array's)")
    items = dict(zip(match.groups()[0::2], match.groups()[1::2]))
    if len(items) != 3 or set(items) != {b"descr", b"fortran_order", b"shape"}:
        raise ProtocolError("array frame: bad .npy header (keys)")
    descr, fortran, shape_text = items[b"descr"], items[b"fortran_order"], items[b"shape"]
    if not descr.startswith(b"'"):
        raise ProtocolError("array frame: bad .npy header (descr)")
    dtype = _allowed_dtypes().get(descr[1:-1])
    if dtype is None:
        shown = descr[1:-1].decode("ascii", "replace")
        raise ProtocolError(f"array frame: dtype {shown!r} is not allowed")
    if fortran not in (b"True", b"False"):
        raise ProtocolError("array frame: bad .npy header (fortran_order)")
    shape = _npy_shape(shape_text) if shape_text.startswith(b"(") else None
    if shape is None:
        raise ProtocolError("array frame: bad .npy header (shape)")
    return dtype, shape, fortran == b"True", start + size


def _json_default(value):
    if isinstance(value, (np.bool_, np.integer, np.floating)):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable (arrays go as {{'$array': i}})")


def encode_message(obj: dict, arrays=()) -> bytes:
    """One message: a JSON frame (``obj`` plus ``n_arrays``) followed by one ``.npy`` frame per array.

    ``obj`` must be plain JSON (no NaN/Infinity: non-finite floats travel as ``{"$float": ...}``).
    """
    if not isinstance(obj, dict):
        raise ValueError("obj: a message must be a JSON object (dict)")
    arrays = list(arrays)
    header = dict(obj, n_arrays=len(arrays))
    body = json.dumps(header, allow_nan=False, separators=(",", ":"), default=_json_default).encode("utf-8")
    parts = [frame(body)]
    parts.extend(frame(encode_npy(a)) for a in arrays)
    return b"".join(parts)


def decode_npy(data: bytes, max_elements: int) -> np.ndarray:
    """Validate one ``.npy`` frame from the worker and return it as a fresh float64 array.

    Checked before anything is built: the magic string and version (1.0/2.0), the header (at
    most ``MAX_NPY_HEADER`` bytes, read by a strict pattern, never evaluated: exactly the keys
    ``descr``, ``fortran_order``, ``shape``), the dtype (one of ``NPY_DTYPES``: kinds ``b i u f``,
    no object, structured, subarray, complex, datetime or string dtypes), the shape (at most
    ``MAX_NPY_DIMS`` decimal ints), the element count (``prod(shape) <= max_elements``) and the
    frame length (exactly header plus ``itemsize * count``). Raises :class:`ProtocolError` on any
    violation.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ProtocolError("array frame is not bytes")
    data = bytes(data)
    dtype, shape, fortran, offset = _npy_header(data)
    count = math.prod(shape)
    if count > max_elements:
        raise ProtocolError(f"array frame: {count} elements exceed the cap of {max_elements}")
    if len(data) != offset + dtype.itemsize * count:
        raise ProtocolError(f"array frame: {len(data) - offset} data bytes for shape {shape} "
                            f"of {dtype} (expected {dtype.itemsize * count})")
    flat = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    loaded = flat.reshape(shape[::-1]).transpose() if fortran else flat.reshape(shape)
    return np.array(loaded, dtype=np.float64, copy=True)


MAX_DEPTH = 64
# Values (numbers, strings, list items, dict entries) in one reply's JSON. Python builds ~30-80
# bytes per value, so a reply at the byte cap made of tiny values (thousands of curve series) would
# cost the grader ~10x its size in memory; above this count the reply is refused *before* it is
# parsed. Arrays travel as .npy frames and do not count. What the checks expect is far below it
# (a shape trace: a few hundred values; a training history after the worker's bound: < 20,000).
MAX_NODES = 250_000


def count_nodes(data: bytes) -> int:
    """An upper bound of the number of JSON values in ``data``, without parsing it: every value
    after the first is preceded by ``,`` or an opening bracket or ``:`` (counted in strings too,
    which only makes the bound looser)."""
    return data.count(b",") + data.count(b"[") + data.count(b"{") + data.count(b":") + 1


def decode_value(value, arrays: list[np.ndarray], _depth: int = 0):
    """Turn an encoded JSON value from the worker into plain Python/numpy data.

    ``{"$array": i}`` -> ``arrays[i]``; ``{"$float": "nan"|"inf"|"-inf"}`` -> float;
    ``{"$unencodable": name}`` is kept as is (the judge reports it); dicts and lists recurse.
    """
    if _depth > MAX_DEPTH:
        raise ProtocolError(f"reply nests deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        if len(value) == 1:
            (key, inner), = value.items()
            if key == "$array":
                if type(inner) is not int or not 0 <= inner < len(arrays):
                    raise ProtocolError(f"reply refers to array {inner!r} of {len(arrays)}")
                return arrays[inner]
            if key == "$float":
                if inner not in ("nan", "inf", "-inf"):
                    raise ProtocolError(f"reply has bad $float {inner!r}")
                return float(inner)
            if key == "$unencodable":
                return {"$unencodable": str(inner)[:200]}
        return {str(k): decode_value(v, arrays, _depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_value(v, arrays, _depth + 1) for v in value]
    return value


def _no_constants(name):
    raise ProtocolError(f"reply JSON contains {name} (non-finite floats must be sent as $float)")


def decode_json(data: bytes, max_nodes: int = MAX_NODES) -> dict:
    """Parse a JSON frame from the worker: strict UTF-8, an object, no NaN/Infinity literals, at
    most ``max_nodes`` values (checked on the bytes, before any object is built)."""
    data = bytes(data)
    n = count_nodes(data)
    if n > max_nodes:
        raise ProtocolError(f"reply holds up to {n} values, more than the cap of {max_nodes}")
    try:
        obj = json.loads(data.decode("utf-8"), parse_constant=_no_constants)
    except ProtocolError:
        raise
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"reply is not valid JSON ({type(exc).__name__})") from None
    if not isinstance(obj, dict):
        raise ProtocolError("reply JSON is not an object")
    return obj
