"""Render the feedback and summary pages in headless Chromium and inspect the screenshot pixels.

Needs Debian's ``chromium`` package (``apt-get install -y chromium``); skipped when it is absent.
"""
import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

from grader.report import _html
from grader.report.feedback import render_html
from grader.report.gradebook import collect, render_summary_html

from .fixtures import make_results, write_batch
from .pngread import decode_png, read_png

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
needs_chromium = pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason="chromium is not installed (Debian: apt-get install -y chromium); CI (.ci/run) should install it")


def screenshot(html: str, tmp_path, name: str) -> np.ndarray:
    page = tmp_path / f"{name}.html"
    page.write_text(html, encoding="utf-8")
    png = tmp_path / f"{name}.png"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / ('profile-' + name)}", f"--screenshot={png}",
           "--window-size=1000,1400", page.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert png.exists(), f"chromium wrote no screenshot (rc={proc.returncode}): {proc.stderr[-2000:]}"
    img = decode_png(png)
    assert img.shape == (1400, 1000, 3)
    keep = os.environ.get("CONVGRADE_ARTIFACTS")       # screenshots for people: .ci/run keeps them
    if keep:
        Path(keep, "screenshots").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, Path(keep, "screenshots", png.name))
    return img


def near(img: np.ndarray, rgb, tol: int = 10) -> np.ndarray:
    return (np.abs(img.astype(np.int64) - np.array(rgb)) <= tol).all(axis=2)


def runs(mask_1d: np.ndarray) -> list[tuple[int, int]]:
    """Contiguous True runs of a 1-D mask as (start, stop) pairs."""
    m = np.concatenate([[False], mask_1d, [False]]).astype(np.int8)
    d = np.diff(m)
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def assert_not_blank(img: np.ndarray):
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 50
    dark = (img.max(axis=2) < 90).sum()          # text
    assert dark > 3000


@needs_chromium
def test_feedback_page_shows_padding_bug_heatmap(tmp_path):
    img = screenshot(render_html(make_results("alice", "failing")), tmp_path, "feedback")
    assert_not_blank(img)
    px = img.astype(np.int64)
    # "warm" = a filled error cell (yellow .. red); the cold colour is near white
    warm = (px[..., 0] > 200) & (px[..., 0] - px[..., 2] > 70) & (px[..., 1] < 235)
    assert near(img, _html.HOT, 12).sum() >= 100            # the hottest cell is drawn
    cols = runs(warm.any(axis=0))
    assert len(cols) >= 3                   # grid 0, legend 0, grid 1 (+ legend 1, orange curve)
    x0, x1 = cols[0]
    rows = runs(warm[:, x0:x1].any(axis=1))
    y0, y1 = rows[0][0], rows[-1][1]
    h, w = y1 - y0, x1 - x0
    assert 100 <= w <= 200 and abs(h - w) <= 4                # an 8 x 8 grid of square cells
    cell = w / 8
    ring = np.zeros((h, w), dtype=bool)
    m = int(round(cell))
    ring[:m, :] = ring[-m:, :] = ring[:, :m] = ring[:, -m:] = True
    grid_warm = warm[y0:y1, x0:x1]
    cold = near(img[y0:y1, x0:x1], _html.heat_colors(np.zeros(1))[0], 6)
    inner = np.zeros((h, w), dtype=bool)
    inner[m + 3:-m - 3, m + 3:-m - 3] = True
    assert grid_warm[ring].mean() > 0.6                        # border cells are hot...
    assert cold[inner].mean() > 0.85 and grid_warm[inner].mean() < 0.02     # ...the interior is not


@needs_chromium
def test_summary_page_draws_histogram_bars(tmp_path):
    # scores (% of 10): bins 0-10: 1, 40-50: 3, 50-60: 2, 70-80: 1, 90-100: 5
    scores = [0] + [4] * 3 + [5] * 2 + [7] + [10] * 5
    results = {}
    for i, sc in enumerate(scores):
        res = make_results(f"s{i:02d}", "passing")
        res["score"] = float(sc)
        results[f"s{i:02d}"] = res
    rows = collect(write_batch(tmp_path / "OUT", results))
    img = screenshot(render_summary_html(rows), tmp_path, "summary")
    assert_not_blank(img)
    bar = near(img, _html.BAR, 8)
    assert bar.sum() > 3000
    hist_rows = runs(bar.any(axis=1))[0]                  # topmost block of bar colour = histogram
    block = bar[hist_rows[0]:hist_rows[1]]
    bars = runs(block.any(axis=0))
    assert len(bars) == 5
    heights = np.array([block[:, a:b].sum(axis=0).max() for a, b in bars], dtype=np.float64)
    expected = np.array([1, 3, 2, 1, 5], dtype=np.float64)
    np.testing.assert_allclose(heights / heights.max(), expected / expected.max(), atol=0.03)
    centers = np.array([(a + b) / 2 for a, b in bars])
    gaps = np.diff(centers) / np.diff([0, 4, 5, 7, 9])    # bins are equally spaced
    assert np.ptp(gaps) <= 2


def _encode_png(img: np.ndarray, filters: list[int]) -> bytes:
    """Minimal PNG encoder applying the given filter type to each row (to test the reader)."""
    h, w, c = img.shape
    color = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    raw = img.reshape(h, w * c).astype(np.int64)
    lines = []
    for y in range(h):
        cur = raw[y]
        prev = raw[y - 1] if y else np.zeros_like(cur)
        left = np.concatenate([np.zeros(c, dtype=np.int64), cur[:-c]])
        upleft = np.concatenate([np.zeros(c, dtype=np.int64), prev[:-c]])
        f = filters[y % len(filters)]
        if f == 0:
            pred = np.zeros_like(cur)
        elif f == 1:
            pred = left
        elif f == 2:
            pred = prev
        elif f == 3:
            pred = (left + prev) // 2
        else:
            p = left + prev - upleft
            pa, pb, pc = np.abs(p - left), np.abs(p - prev), np.abs(p - upleft)
            pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, upleft))
        lines.append(bytes([f]) + ((cur - pred) % 256).astype(np.uint8).tobytes())

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"".join(lines))) + chunk(b"IEND", b""))


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_png_reader_all_filters(channels):
    rng = np.random.default_rng(channels)
    img = rng.integers(0, 256, size=(11, 7, channels), dtype=np.uint8)
    img[3:6] = 200                                         # flat rows too
    np.testing.assert_array_equal(read_png(_encode_png(img, [0, 1, 2, 3, 4])), img)
    np.testing.assert_array_equal(read_png(_encode_png(img, [4, 3, 1])), img)
    with pytest.raises(ValueError, match="data"):
        read_png(b"GIF89a....")
