"""Shared pieces of the self-contained HTML reports: escaping, a tiny Markdown subset converter,
the page frame (inline CSS, no script, no external URL) and inline-SVG charts.

Everything that comes from results.json is untrusted text (student output can hold ``<script>``):
it is HTML-escaped *before* any markup is added, so no converter rule can ever emit a tag that
was in the input.
"""
from __future__ import annotations

import html
import math
import re

import numpy as np


def esc(value) -> str:
    """HTML-escape any value (quotes included, so it is safe inside attributes too)."""
    return html.escape("" if value is None else str(value), quote=True)


def fmt_num(x, digits: int = 2) -> str:
    """A score-like number: ``7.5``, ``10``, ``0.33``; ``-`` for None, ``nan``/``inf`` kept."""
    if x is None:
        return "-"
    try:
        x = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(x):
        return str(x)
    s = f"{x:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def fmt_err(x) -> str:
    """An error magnitude in short scientific notation: ``1.2e-03``."""
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    return f"{x:.3g}" if 1e-2 <= abs(x) < 1e3 or x == 0 else f"{x:.2e}"


# ----------------------------------------------------------------------------------------------
# Markdown subset -> HTML
# ----------------------------------------------------------------------------------------------
_FENCE = re.compile(r"^\s*(```|~~~)")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_EM = re.compile(r"(?<![*\w])\*(?![\s*])([^*]+?)(?<!\s)\*(?![*\w])")


def _inline(text: str) -> str:
    """Inline Markdown of an already-escaped line: `code` spans, then **bold** outside them."""
    parts = text.split("`")
    if len(parts) % 2 == 0:           # an unmatched backtick stays literal
        last = parts.pop()
        parts[-1] += "`" + last
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 1:
            out.append(f"<code>{part}</code>")
        else:
            out.append(_EM.sub(r"<em>\1</em>", _BOLD.sub(r"<strong>\1</strong>", part)))
    return "".join(out)


def inline_markdown(text: str) -> str:
    """Escape one line of untrusted text, then render its inline `code` and **bold**."""
    return _inline(esc(text).replace("\n", " "))


def _table_cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|"):
        line = line[:-1]
    return [c.strip() for c in line.split("|")]


def markdown_to_html(text: str) -> str:
    """Convert the Markdown subset used in check outputs to safe HTML.

    Supported: paragraphs (blank-line separated), fenced code blocks (``` or ~~~), bullet lists
    (``-``, ``*``, ``+``), ``#`` headings (rendered as h4/h5), simple pipe tables, inline
    ``code`` and ``**bold**``. The input is escaped first; the rules only add fixed tags.
    """
    lines = esc(text or "").replace("\r\n", "\n").split("\n")
    out: list[str] = []
    para: list[str] = []
    items: list[str] = []

    def flush():
        if para:
            out.append("<p>" + "<br>".join(_inline(p) for p in para) + "</p>")
            para.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{_inline(t)}</li>" for t in items) + "</ul>")
            items.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            flush()
            fence = _FENCE.match(line).group(1)
            code = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(fence):
                code.append(lines[i])
                i += 1
            out.append("<pre><code>" + "\n".join(code) + "</code></pre>")
            i += 1                    # skip the closing fence (or run off the end)
            continue
        if not line.strip():
            flush()
        elif _HEADING.match(line):
            flush()
            level, title = _HEADING.match(line).groups()
            tag = "h4" if len(level) <= 2 else "h5"
            out.append(f"<{tag}>{_inline(title)}</{tag}>")
        elif "|" in line and i + 1 < len(lines) and _TABLE_SEP.match(lines[i + 1]):
            flush()
            head = _table_cells(line)
            rows = []
            i += 2
            while i < len(lines) and "|" in lines[i] and lines[i].strip():
                rows.append(_table_cells(lines[i]))
                i += 1
            th = "".join(f"<th>{_inline(c)}</th>" for c in head)
            body = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>"
                           for r in rows)
            out.append(f'<table class="md"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>')
            continue
        elif _BULLET.match(line):
            if para:
                flush()
            items.append(_BULLET.match(line).group(1))
        elif items and line.startswith((" ", "\t")):
            items[-1] += " " + line.strip()          # continuation of a list item
        else:
            if items:
                flush()
            para.append(line.strip())
        i += 1
    flush()
    return "\n".join(out)


# ----------------------------------------------------------------------------------------------
# Page frame
# ----------------------------------------------------------------------------------------------
CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif;margin:24px auto;
max-width:940px;color:#1f2328;background:#fff;line-height:1.45;padding:0 12px}
h1{font-size:1.5em;margin:0 0 .3em}h2{font-size:1.2em;margin:1.4em 0 .5em;border-bottom:1px solid #d0d7de}
h3{font-size:1.05em;margin:1.2em 0 .4em}h4,h5{margin:.8em 0 .3em}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:left;
vertical-align:top}th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
code{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.92em;background:#f3f4f6;
padding:0 3px;border-radius:3px}pre{background:#f6f8fa;border:1px solid #d0d7de;padding:8px;overflow-x:auto;
border-radius:4px}pre code{background:none;padding:0}
.score{font-size:1.35em;font-weight:600;margin:.2em 0}.muted{color:#656d76;font-size:.9em}
.passed{color:#1a7f37;font-weight:600}.failed{color:#cf222e;font-weight:600}
.late{background:#fff8c5;border:1px solid #d4a72c;padding:6px 10px;border-radius:4px;margin:.6em 0}
.error{background:#ffebe9;border:1px solid #ff8182;padding:6px 10px;border-radius:4px;margin:.6em 0}
.check{border:1px solid #d0d7de;border-radius:6px;padding:4px 14px 10px;margin:14px 0}
.diag{background:#ddf4ff;border-left:4px solid #0969da;padding:4px 10px;margin:.5em 0}
.figs{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}
.summary{border:1px solid #d0d7de;border-radius:6px;padding:8px 14px;margin:.4em 0 .8em;background:#f6f8fa}
.todo ul{margin:.2em 0}.case{background:#f6f8fa;padding:4px 8px;border-radius:4px}
details>summary{cursor:pointer}.passed-list{margin-top:1.4em}.passed-list>summary{font-weight:600;font-size:1.1em}
footer{margin-top:2em;border-top:1px solid #d0d7de;padding-top:.4em}
.bar{display:inline-block;height:10px;background:#4c78a8;vertical-align:middle}
.src{width:100%;table-layout:fixed}.src td{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.82em;
white-space:pre-wrap;overflow-wrap:anywhere;border:none;padding:0 6px}.src td.ln{color:#8c959f;text-align:right;
width:3.2em;white-space:nowrap}.pair{display:flex;gap:10px}.pair>div{flex:1;min-width:0}
""".strip()


def page(title: str, body: str, lang: str = "en") -> str:
    """A complete self-contained HTML page: inline CSS, no script, no external resource."""
    return (f'<!DOCTYPE html>\n<html lang="{esc(lang)}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{esc(title)}</title>\n<style>\n{CSS}\n</style>\n</head>\n<body>\n"
            f"{body}\n</body>\n</html>\n")


# ----------------------------------------------------------------------------------------------
# Colours and SVG charts
# ----------------------------------------------------------------------------------------------
# Sequential map for |error|: 0 -> near white, 0.5 -> orange, 1 -> red. Non-finite -> purple.
_STOPS = np.array([[247, 247, 247], [254, 224, 144], [253, 141, 60], [215, 25, 28]], dtype=np.float64)
HOT = (215, 25, 28)
NONFINITE = (118, 42, 131)
BAR = (76, 120, 168)


def heat_colors(frac: np.ndarray) -> np.ndarray:
    """Map fractions in [0, 1] (any shape) to RGB uint8 colours, ``(...) -> (..., 3)``."""
    f = np.clip(np.nan_to_num(frac, nan=0.0), 0.0, 1.0) * (len(_STOPS) - 1)
    lo = np.minimum(np.floor(f).astype(int), len(_STOPS) - 2)
    t = (f - lo)[..., None]
    rgb = _STOPS[lo] * (1 - t) + _STOPS[lo + 1] * t
    return np.rint(rgb).astype(np.uint8)


def rgb_hex(rgb) -> str:
    return "#%02x%02x%02x" % tuple(int(c) for c in rgb)


def svg_heatmap(grid, title: str, legend_max_label: str, uid: str, vmax: float | None = None,
                cell: int | None = None) -> str:
    """Inline SVG of one 2-D error map ``(H, W)``: one rect per cell, coloured by |value| / vmax
    (``vmax`` defaults to the map's own largest finite |value|), with a colour-bar legend from 0
    to ``legend_max_label``. Cells that are not finite are drawn purple."""
    a = np.asarray(grid, dtype=np.float64)
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"grid: expected a non-empty 2-D array, got shape {a.shape}")
    h, w = a.shape
    cell = cell or max(6, min(18, 220 // max(h, w)))
    finite = np.isfinite(a)
    if vmax is None:
        vmax = float(np.max(np.abs(a[finite]))) if finite.any() else 0.0
    frac = np.where(finite, np.abs(np.where(finite, a, 0.0)) / vmax if vmax > 0 else 0.0, 0.0)
    colors = heat_colors(frac)
    gw, gh = w * cell, h * cell
    top, legend_w = 18, 14
    width, height = gw + legend_w + 70, gh + top + 6
    ys, xs = np.mgrid[0:h, 0:w]
    rects = []
    for y, x, c, ok in zip(ys.ravel(), xs.ravel(), colors.reshape(-1, 3), finite.ravel()):
        fill = rgb_hex(c) if ok else rgb_hex(NONFINITE)
        rects.append(f'<rect x="{x * cell}" y="{top + y * cell}" width="{cell}" height="{cell}" fill="{fill}"/>')
    grad_id = f"g{esc(uid)}"
    stops = "".join(f'<stop offset="{i / (len(_STOPS) - 1):.3f}" stop-color="{rgb_hex(s)}"/>'
                    for i, s in enumerate(_STOPS[::-1]))
    lx = gw + 8
    return (f'<svg width="{width}" height="{height}" '
            f'role="img" aria-label="{esc(title)}">'
            f'<defs><linearGradient id="{grad_id}" x1="0" y1="0" x2="0" y2="1">{stops}</linearGradient></defs>'
            f'<text x="0" y="12" font-size="11" fill="#1f2328">{esc(title)}</text>'
            f'<g shape-rendering="crispEdges" stroke="#ffffff" stroke-width="0.5">{"".join(rects)}</g>'
            f'<rect x="0" y="{top}" width="{gw}" height="{gh}" fill="none" stroke="#57606a" stroke-width="1"/>'
            f'<rect x="{lx}" y="{top}" width="{legend_w}" height="{gh}" fill="url(#{grad_id})" stroke="#57606a" stroke-width="0.5"/>'
            f'<text x="{lx + legend_w + 3}" y="{top + 9}" font-size="10" fill="#1f2328">{esc(legend_max_label)}</text>'
            f'<text x="{lx + legend_w + 3}" y="{top + gh}" font-size="10" fill="#1f2328">0</text>'
            f"</svg>")


def svg_line_chart(x, y, title: str, color: str = "#4c78a8", width: int = 300, height: int = 170) -> str:
    """Inline SVG line chart of one series ``y`` over ``x`` (equal lengths), with min/max labels on
    both axes. Non-finite points break the line and are marked with a red cross at the top."""
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    if xs.shape != ys.shape or xs.ndim != 1 or xs.size == 0:
        raise ValueError(f"x, y: expected 1-D arrays of the same non-zero length, got {xs.shape} and {ys.shape}")
    left, right, top, bottom = 46, 10, 20, 24
    pw, ph = width - left - right, height - top - bottom
    fin = np.isfinite(ys) & np.isfinite(xs)
    x0, x1 = (float(xs[fin].min()), float(xs[fin].max())) if fin.any() else (0.0, 1.0)
    y0, y1 = (float(ys[fin].min()), float(ys[fin].max())) if fin.any() else (0.0, 1.0)
    if x1 == x0:
        x0, x1 = x0 - 0.5, x1 + 0.5
    if y1 == y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    px = left + (np.nan_to_num(xs, nan=x0) - x0) / (x1 - x0) * pw
    py = top + (1 - (np.nan_to_num(ys, nan=y0, posinf=y1, neginf=y0) - y0) / (y1 - y0)) * ph
    segments, cur = [], []
    for ok, a, b in zip(fin, px, py):
        if ok:
            cur.append(f"{a:.1f},{b:.1f}")
        elif cur:
            segments.append(cur)
            cur = []
    if cur:
        segments.append(cur)
    lines = "".join(f'<polyline points="{" ".join(s)}" fill="none" stroke="{color}" stroke-width="2"/>'
                    if len(s) > 1 else
                    f'<circle cx="{s[0].split(",")[0]}" cy="{s[0].split(",")[1]}" r="2.5" fill="{color}"/>'
                    for s in segments)
    bad = "".join(f'<text x="{a:.1f}" y="{top + 4}" font-size="10" fill="#cf222e" text-anchor="middle">×</text>'
                  for ok, a in zip(fin, px) if not ok)
    return (f'<svg width="{width}" height="{height}" role="img" '
            f'aria-label="{esc(title)}">'
            f'<text x="{left}" y="13" font-size="11" fill="#1f2328">{esc(title)}</text>'
            f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#ffffff" stroke="#8c959f" stroke-width="1"/>'
            f'{lines}{bad}'
            f'<text x="{left - 4}" y="{top + 9}" font-size="10" text-anchor="end" fill="#57606a">{esc(fmt_err(y1))}</text>'
            f'<text x="{left - 4}" y="{top + ph}" font-size="10" text-anchor="end" fill="#57606a">{esc(fmt_err(y0))}</text>'
            f'<text x="{left}" y="{height - 8}" font-size="10" fill="#57606a">{esc(fmt_num(x0, 3))}</text>'
            f'<text x="{left + pw}" y="{height - 8}" font-size="10" text-anchor="end" fill="#57606a">{esc(fmt_num(x1, 3))}</text>'
            f"</svg>")


def svg_histogram(counts, edges_labels, title: str, width: int = 520, height: int = 200) -> str:
    """Inline SVG bar chart: ``counts`` (B,) bars, ``edges_labels`` (B + 1,) tick labels."""
    counts = np.asarray(counts, dtype=np.int64)
    if counts.ndim != 1 or counts.size == 0 or len(edges_labels) != counts.size + 1:
        raise ValueError("counts, edges_labels: expected B counts and B + 1 labels")
    left, right, top, bottom = 34, 10, 32, 24
    pw, ph = width - left - right, height - top - bottom
    cmax = max(int(counts.max()), 1)
    bw = pw / counts.size
    bars = []
    for i, c in enumerate(counts):
        bh = ph * int(c) / cmax
        bars.append(f'<rect x="{left + i * bw + 1:.1f}" y="{top + ph - bh:.1f}" width="{bw - 2:.1f}" '
                    f'height="{bh:.1f}" fill="{rgb_hex(BAR)}"><title>{int(c)}</title></rect>')
        if c:
            bars.append(f'<text x="{left + (i + 0.5) * bw:.1f}" y="{top + ph - bh - 3:.1f}" font-size="10" '
                        f'text-anchor="middle" fill="#1f2328">{int(c)}</text>')
    ticks = "".join(f'<text x="{left + i * bw:.1f}" y="{height - 8}" font-size="10" text-anchor="middle" '
                    f'fill="#57606a">{esc(lab)}</text>' for i, lab in enumerate(edges_labels))
    return (f'<svg width="{width}" height="{height}" role="img" '
            f'aria-label="{esc(title)}">'
            f'<text x="{left}" y="13" font-size="11" fill="#1f2328">{esc(title)}</text>'
            f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#57606a"/>'
            f'<text x="{left - 4}" y="{top + 9}" font-size="10" text-anchor="end" fill="#57606a">{cmax}</text>'
            f'{"".join(bars)}{ticks}</svg>')
