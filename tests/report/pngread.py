"""A tiny PNG decoder (zlib + the five row filters) for reading headless-browser screenshots.

``read_png(data) -> (H, W, C) uint8`` for 8-bit, non-interlaced greyscale (C=1), grey+alpha (2),
RGB (3) and RGBA (4) images. ``decode_png`` uses PIL when it is importable (fast) and this
reader otherwise.
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

_SIG = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 4: 2, 2: 3, 6: 4}


def _chunks(data: bytes):
    pos = len(_SIG)
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        yield kind, data[pos + 8:pos + 8 + length]
        pos += 12 + length


def _paeth_avg_row(kind: int, line: bytearray, prev: bytes, bpp: int) -> None:
    """In-place Average (3) or Paeth (4) unfiltering of one row (sequential within the row)."""
    n = len(line)
    for i in range(n):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        if kind == 3:
            line[i] = (line[i] + ((a + b) >> 1)) & 0xFF
        else:
            c = prev[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            line[i] = (line[i] + pred) & 0xFF


def read_png(data: bytes) -> np.ndarray:
    if data[:8] != _SIG:
        raise ValueError("data: not a PNG file")
    idat, header = [], None
    for kind, body in _chunks(data):
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if header is None:
        raise ValueError("data: PNG without IHDR")
    width, height, depth, color, _, _, interlace = header
    if depth != 8 or color not in _CHANNELS or interlace:
        raise ValueError(f"data: unsupported PNG (bit depth {depth}, colour type {color}, interlace {interlace})")
    bpp = _CHANNELS[color]
    stride = width * bpp
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), dtype=np.uint8).reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        kind, line = int(raw[y, 0]), raw[y, 1:]
        if kind == 0:
            row = line.copy()
        elif kind == 1:            # Sub: running sum per channel, mod 256
            row = (np.cumsum(line.reshape(width, bpp).astype(np.int64), axis=0) % 256).astype(np.uint8).ravel()
        elif kind == 2:            # Up
            row = line + prev
        elif kind in (3, 4):
            buf = bytearray(line.tobytes())
            _paeth_avg_row(kind, buf, prev.tobytes(), bpp)
            row = np.frombuffer(bytes(buf), dtype=np.uint8)
        else:
            raise ValueError(f"data: bad filter type {kind} in row {y}")
        out[y] = row
        prev = out[y]
    return out.reshape(height, width, bpp)


def decode_png(path) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB of a PNG file (alpha dropped, greyscale expanded)."""
    try:
        from PIL import Image
    except ImportError:
        img = read_png(open(path, "rb").read())
    else:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    if img.shape[2] in (1, 2):
        return np.repeat(img[:, :, :1], 3, axis=2)
    return img[:, :, :3]
