"""Wire format between the grader and the sandbox worker (see docs/ARCHITECTURE.md).

Framing: every frame is an 8-byte big-endian unsigned length followed by that many bytes. A
*message* is one JSON frame (a UTF-8 object) followed by ``header["n_arrays"]`` frames, each the
bytes of a ``.npy`` file. In a JSON value, ``{"$array": i}`` stands for the i-th array frame.

This module is the grader's side: it encodes requests and validates what comes back. Nothing
the worker sends is unpickled, imported or called: array frames are checked field by field
(:func:`decode_npy`) before ``np.load(allow_pickle=False)`` sees them, and every array is copied
into a fresh float64 array. The worker (``worker.py``) carries its own copy of the few lines of
framing code, because it must stay a standalone script that never imports ``grader``.
"""
from __future__ import annotations

import io
import json
import math
import struct

import numpy as np

HEADER = struct.Struct(">Q")
ALLOWED_KINDS = "biuf"


class ProtocolError(Exception):
    """The other side sent something that violates the wire format or a size cap."""


def frame(data: bytes) -> bytes:
    """Prefix ``data`` with its 8-byte big-endian length."""
    return HEADER.pack(len(data)) + data


def encode_npy(array: np.ndarray) -> bytes:
    """The bytes of a ``.npy`` file holding ``array`` (no pickling: object arrays are refused)."""
    array = np.asarray(array)
    if array.dtype.kind not in ALLOWED_KINDS or array.dtype.fields is not None:
        raise ValueError(f"array: dtype {array.dtype} cannot be sent (allowed kinds: b, i, u, f)")
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.ascontiguousarray(array).reshape(np.shape(array)), allow_pickle=False)
    return buf.getvalue()


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

    Checked before anything is loaded: the magic string and version (1.0/2.0), the header
    (parsed by ``np.lib.format``, which evaluates it as a literal, never as code), the dtype
    (kind in ``b i u f``: no object, structured, subarray, complex, datetime or string dtypes),
    the element count (``prod(shape) <= max_elements``) and the frame length (exactly header
    plus ``itemsize * count``). Raises :class:`ProtocolError` on any violation.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ProtocolError("array frame is not bytes")
    data = bytes(data)
    buf = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(buf)
    except ValueError as exc:
        raise ProtocolError(f"array frame: bad .npy magic ({exc})") from None
    try:
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(buf)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(buf)
        else:
            raise ProtocolError(f"array frame: unsupported .npy version {version}")
    except ProtocolError:
        raise
    except Exception as exc:   # malformed header: ValueError, SyntaxError, ...
        raise ProtocolError(f"array frame: bad .npy header ({type(exc).__name__})") from None
    if not isinstance(dtype, np.dtype) or dtype.kind not in ALLOWED_KINDS:
        raise ProtocolError(f"array frame: dtype {dtype} is not allowed")
    if dtype.fields is not None or dtype.subdtype is not None or dtype.hasobject:
        raise ProtocolError(f"array frame: structured or subarray dtype {dtype} is not allowed")
    if not isinstance(shape, tuple) or not all(type(d) is int and d >= 0 for d in shape):
        raise ProtocolError(f"array frame: bad shape {shape!r}")
    count = math.prod(shape)
    if count > max_elements:
        raise ProtocolError(f"array frame: {count} elements exceed the cap of {max_elements}")
    offset = buf.tell()
    if len(data) != offset + dtype.itemsize * count:
        raise ProtocolError(f"array frame: {len(data) - offset} data bytes for shape {shape} "
                            f"of {dtype} (expected {dtype.itemsize * count})")
    buf.seek(0)
    try:
        loaded = np.load(buf, allow_pickle=False)
    except Exception as exc:
        raise ProtocolError(f"array frame: could not load ({type(exc).__name__})") from None
    if not isinstance(loaded, np.ndarray) or loaded.shape != shape:
        raise ProtocolError("array frame: loaded array does not match its header")
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
