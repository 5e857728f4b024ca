"""Plagiarism detection the way MOSS does it: normalized tokens, k-gram hashes, winnowing.

Pipeline (Schleimer, Wilkerson, Aiken, "Winnowing: local algorithms for document
fingerprinting", SIGMOD 2003):

1. ``normalize(source)``: Python tokens from the stdlib ``tokenize``; comments, docstrings and
   bare string statements, newlines, indentation and all formatting are dropped. Identifiers the
   student chose become ``V``; what a renamer cannot change survives: keywords, operators,
   builtins (``range``, ``len``) and attribute names (``x.reshape``, ``np.pad``: the name after a
   ``.`` belongs to an API). Literals keep only their category (``N`` number, ``S`` string).
2. ``kgram_hashes``: a 64-bit hash of every run of ``k`` consecutive normalized tokens.
3. ``winnow``: in every window of ``w`` consecutive k-gram hashes select the minimum (the
   rightmost one on ties); a selected (hash, position) is a fingerprint. Any shared run of at
   least ``w + k - 1`` tokens is guaranteed to share a fingerprint; runs shorter than ``k`` never
   do (noise threshold).
4. ``compare``: fingerprints that are k-grams of the starter code are removed, and so are
   fingerprints present in more than ``max(min_common, common_fraction · n)`` submissions (class
   boilerplate). An inverted index fingerprint → submissions counts the shared fingerprints of
   every pair that shares any (no all-pairs comparison). A pair's score is
   ``shared / min(count_a, count_b)``; pairs at or above ``threshold`` are reported with their
   matching regions: each shared fingerprint maps back to token positions, hence source lines,
   in both files, and fingerprints that follow each other in both files are merged into regions.
"""
from __future__ import annotations

import builtins
import hashlib
import io
import keyword
import tokenize
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from grader.report._html import esc, fmt_num, page

K_DEFAULT = 18
W_DEFAULT = 8

_SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
         tokenize.ENCODING, tokenize.ENDMARKER}
_FSTART = getattr(tokenize, "FSTRING_START", None)     # Python >= 3.12 splits f-strings
_FEND = getattr(tokenize, "FSTRING_END", None)
_BUILTINS = frozenset(dir(builtins))


@dataclass
class Pair:
    """Two similar submissions: ``score`` in [0, 1]; ``regions`` are
    ``((a_first_line, a_last_line), (b_first_line, b_last_line))``, 1-based and inclusive."""
    a: str
    b: str
    score: float
    regions: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)
    shared: int = 0
    a_fingerprints: int = 0
    b_fingerprints: int = 0


# ----------------------------------------------------------------------------------------------
# 1. normalization
# ----------------------------------------------------------------------------------------------
def _raw_tokens(source: str) -> list[tokenize.TokenInfo]:
    """All tokens of ``source``; a source that stops tokenizing keeps the tokens before the error."""
    toks = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            toks.append(tok)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return toks


def _logical_lines(toks: list[tokenize.TokenInfo]) -> list[list[tokenize.TokenInfo]]:
    lines, cur = [], []
    for tok in toks:
        if tok.type == tokenize.NEWLINE:
            lines.append(cur)
            cur = []
        elif tok.type not in _SKIP:
            cur.append(tok)
    if cur:
        lines.append(cur)
    return lines


def normalize(source: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Normalized token strings of ``source`` and, for each, the first and last source line
    (1-based) it came from: ``(T,) list``, ``(T,) int``, ``(T,) int``."""
    if not isinstance(source, str):
        raise ValueError(f"source: expected str, got {type(source).__name__}")
    out, first, last = [], [], []
    for line in _logical_lines(_raw_tokens(source)):
        if all(t.type == tokenize.STRING or t.type in (_FSTART, _FEND) or
               (_FSTART is not None and t.type == getattr(tokenize, "FSTRING_MIDDLE", -1))
               for t in line):
            continue                  # docstring or bare string statement
        depth = 0
        prev = ""
        for t in line:
            if _FSTART is not None and t.type == _FSTART:
                if depth == 0:
                    out.append("S")
                    first.append(t.start[0])
                    last.append(t.end[0])
                depth += 1
                continue
            if depth:
                if t.type == _FEND:
                    depth -= 1
                    last[-1] = t.end[0]
                continue
            if t.type == tokenize.NAME:
                if keyword.iskeyword(t.string) or t.string in _BUILTINS or prev == ".":
                    norm = t.string
                else:
                    norm = "V"
            elif t.type == tokenize.NUMBER:
                norm = "N"
            elif t.type == tokenize.STRING:
                norm = "S"
            elif t.string.strip():
                norm = t.string
            else:
                continue
            out.append(norm)
            first.append(t.start[0])
            last.append(t.end[0])
            prev = norm
    return out, np.asarray(first, dtype=np.int64), np.asarray(last, dtype=np.int64)


# ----------------------------------------------------------------------------------------------
# 2-3. k-gram hashes and winnowing
# ----------------------------------------------------------------------------------------------
@lru_cache(maxsize=65536)
def _token_id(tok: str) -> int:
    """A stable 64-bit id of a normalized token (Python's ``hash`` is salted per process)."""
    return int.from_bytes(hashlib.blake2b(tok.encode("utf-8"), digest_size=8).digest(), "little")


_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer, elementwise on uint64 (wrapping arithmetic)."""
    h = h ^ (h >> np.uint64(30))
    h = h * np.uint64(0xBF58476D1CE4E5B9)
    h = h ^ (h >> np.uint64(27))
    h = h * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


def kgram_hashes(tokens: list[str], k: int = K_DEFAULT) -> np.ndarray:
    """Hashes of all k-grams of ``tokens``: ``(T,) -> (T - k + 1,) uint64`` (empty if T < k).

    Polynomial hash ``sum_j id[i + j] · B^(k-1-j) mod 2^64`` over stable token ids, then mixed."""
    if k < 1:
        raise ValueError(f"k: expected a positive integer, got {k}")
    if len(tokens) < k:
        return np.zeros(0, dtype=np.uint64)
    ids = np.fromiter((_token_id(t) for t in tokens), dtype=np.uint64, count=len(tokens))
    base = 0x100000001B3
    powers = np.array([pow(base, k - 1 - j, 1 << 64) for j in range(k)], dtype=np.uint64)
    windows = np.lib.stride_tricks.sliding_window_view(ids, k)          # (T-k+1, k)
    with np.errstate(over="ignore"):
        h = (windows * powers).sum(axis=1, dtype=np.uint64)
        return _mix(h)


def winnow(hashes: np.ndarray, w: int = W_DEFAULT) -> tuple[np.ndarray, np.ndarray]:
    """Winnowing: the minimum hash of every window of ``w`` consecutive hashes, the rightmost on
    ties, each selected position once. ``(M,) -> (F,) hashes, (F,) positions`` (increasing).
    Fewer than ``w`` hashes form one window."""
    if w < 1:
        raise ValueError(f"w: expected a positive integer, got {w}")
    hashes = np.asarray(hashes, dtype=np.uint64)
    m = hashes.size
    if m == 0:
        return hashes[:0], np.zeros(0, dtype=np.int64)
    w_eff = min(w, m)
    windows = np.lib.stride_tricks.sliding_window_view(hashes, w_eff)       # (m-w+1, w)
    # argmin of the reversed window finds the first minimum from the right = the rightmost one
    pick = (w_eff - 1) - np.argmin(windows[:, ::-1], axis=1)
    pos = np.unique(np.arange(windows.shape[0]) + pick)
    return hashes[pos], pos.astype(np.int64)


def fingerprints(source: str, k: int = K_DEFAULT, w: int = W_DEFAULT) -> list[tuple[int, int]]:
    """Winnowed fingerprints of ``source``: ``[(hash, position)]`` where position is the index of
    the k-gram's first normalized token."""
    toks, _, _ = normalize(source)
    h, pos = winnow(kgram_hashes(toks, k), w)
    return list(zip(h.tolist(), pos.tolist()))


# ----------------------------------------------------------------------------------------------
# 4. comparing a class
# ----------------------------------------------------------------------------------------------
@dataclass
class _Doc:
    name: str
    first_line: np.ndarray            # (T,) per normalized token
    last_line: np.ndarray
    positions: dict                   # hash -> [k-gram start positions]


def _doc(name: str, source: str, k: int, w: int, starter: set) -> _Doc:
    toks, first, last = normalize(source)
    h, pos = winnow(kgram_hashes(toks, k), w)
    positions = defaultdict(list)
    for hv, p in zip(h.tolist(), pos.tolist()):
        if hv not in starter:
            positions[hv].append(p)
    return _Doc(name, first, last, dict(positions))


def _regions(da: _Doc, db: _Doc, shared: list[int], k: int, w: int, max_occ: int = 4):
    """Merge matching fingerprints into line regions ``[((a0, a1), (b0, b1))]`` sorted by a."""
    matches = sorted((pa, pb) for h in shared for pa in da.positions[h][:max_occ]
                     for pb in db.positions[h][:max_occ])
    runs: list[list[int]] = []        # [a_start, a_end, b_start, b_end] in tokens, inclusive
    for pa, pb in matches:
        for run in reversed(runs[-8:]):
            if pa <= run[1] + w and run[2] - w <= pb <= run[3] + w:
                run[1] = max(run[1], pa + k - 1)
                run[2] = min(run[2], pb)
                run[3] = max(run[3], pb + k - 1)
                break
        else:
            runs.append([pa, pa + k - 1, pb, pb + k - 1])
    regions = sorted(((int(da.first_line[a0]), int(da.last_line[a1])),
                      (int(db.first_line[b0]), int(db.last_line[b1]))) for a0, a1, b0, b1 in runs)
    merged: list[list] = []
    for ra, rb in regions:            # join regions overlapping or touching in both files
        if merged and ra[0] <= merged[-1][0][1] + 1 and (
                rb[0] <= merged[-1][1][1] + 1 and rb[1] >= merged[-1][1][0] - 1):
            pa_, pb_ = merged[-1]
            merged[-1] = [(pa_[0], max(pa_[1], ra[1])), (min(pb_[0], rb[0]), max(pb_[1], rb[1]))]
        else:
            merged.append([ra, rb])
    return [(tuple(a), tuple(b)) for a, b in merged]


def compare(sources: dict[str, str], starter: str = "", threshold: float = 0.5, k: int = K_DEFAULT,
            w: int = W_DEFAULT, common_fraction: float = 0.1, min_common: int = 10,
            min_shared: int = 3) -> list[Pair]:
    """Similar pairs among ``sources`` (student -> source), highest score first.

    ``starter``: the distributed starter code; none of its k-grams counts. A fingerprint found in
    more than ``max(min_common, common_fraction · len(sources))`` submissions is boilerplate and
    ignored. A pair is reported when ``shared / min(count_a, count_b) >= threshold`` and it shares
    at least ``min_shared`` fingerprints (so two near-empty files do not score 100%).
    """
    if not isinstance(sources, dict):
        raise ValueError(f"sources: expected a dict name -> source, got {type(sources).__name__}")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold: expected a value in [0, 1], got {threshold}")
    if not 0.0 < common_fraction <= 1.0:
        raise ValueError(f"common_fraction: expected a value in (0, 1], got {common_fraction}")
    if k < 1 or w < 1:
        raise ValueError(f"k, w: expected positive integers, got k={k}, w={w}")
    starter_toks, _, _ = normalize(starter or "")
    starter_set = set(kgram_hashes(starter_toks, k).tolist())
    names = sorted(sources)
    docs = [_doc(n, sources[n], k, w, starter_set) for n in names]

    index: dict[int, list[int]] = defaultdict(list)      # fingerprint -> documents holding it
    for i, d in enumerate(docs):
        for h in d.positions:
            index[h].append(i)
    cap = max(min_common, common_fraction * len(docs))
    common = {h for h, ds in index.items() if len(ds) > cap}
    counts = np.array([sum(1 for h in d.positions if h not in common) for d in docs], dtype=np.int64)

    shared: Counter = Counter()
    for h, ds in index.items():
        if len(ds) < 2 or h in common:
            continue
        for x in range(len(ds)):
            for y in range(x + 1, len(ds)):
                shared[ds[x], ds[y]] += 1

    pairs = []
    for (i, j), n in shared.items():
        denom = min(counts[i], counts[j])
        score = n / denom if denom else 0.0
        if n >= min_shared and score >= threshold:
            hs = [h for h in docs[i].positions if h in docs[j].positions and h not in common]
            pairs.append(Pair(names[i], names[j], float(score), _regions(docs[i], docs[j], hs, k, w),
                              int(n), int(counts[i]), int(counts[j])))
    pairs.sort(key=lambda p: (-p.score, p.a, p.b))
    return pairs


def load_sources(out_dir, filename: str = "source.py") -> dict[str, str]:
    """``{student: source}`` from ``OUT/<student>/source.py`` (the normalized sources the batch
    grader writes); folders without the file, or starting with ``.``/``_``, are skipped."""
    out = Path(out_dir)
    if not out.is_dir():
        raise ValueError(f"out_dir: {str(out)!r} is not a directory")
    sources = {}
    for d in sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        f = d / filename
        if f.is_file():
            sources[d.name] = f.read_text(encoding="utf-8", errors="replace")
    return sources


# ----------------------------------------------------------------------------------------------
# HTML
# ----------------------------------------------------------------------------------------------
_REGION_COLORS = ["#fff3b0", "#c8e6ff", "#d4f5d4", "#ffd8e4", "#e8dcff", "#ffe2c2"]
MAX_REGIONS = 4             # regions shown per pair (the longest); the others are listed by line range
MAX_LINES = 10              # matched lines shown per region side; the rest is summarized
_SIM_CSS = ("<style>" + "".join(f".r{i}{{background:{c}}}" for i, c in enumerate(_REGION_COLORS))
            + "</style>")


def _merge(regions):
    """Regions sorted by their first file's lines; ones that overlap or touch in both files merged."""
    out = []
    for ra, rb in sorted(regions):
        if (out and ra[0] <= out[-1][0][1] + 1 and rb[0] <= out[-1][1][1] + 1
                and rb[1] >= out[-1][1][0] - 1):
            (a0, a1), (b0, b1) = out[-1]
            out[-1] = ((a0, max(a1, ra[1])), (min(b0, rb[0]), max(b1, rb[1])))
        else:
            out.append((ra, rb))
    return out


def _code_block(lines: list[str], marked: tuple[int, int], color: int, context: int, more: str) -> str:
    """Rows of one side: ``context`` lines before, at most MAX_LINES matched lines (highlighted
    with class ``r<color>``), a row saying how many matched lines are not shown, and ``context``
    lines after the shown ones."""
    lo, hi = marked
    shown_hi = min(hi, lo + MAX_LINES - 1)
    rows = []

    def row(n, cls=""):
        text = lines[n - 1] if 0 < n <= len(lines) else ""
        rows.append(f'<tr{cls}><td class="ln">{n}</td><td>{esc(text)}</td></tr>')

    for n in range(max(1, lo - context), lo):
        row(n)
    for n in range(lo, shown_hi + 1):
        row(n, f' class="r{color}"')
    if shown_hi < hi:
        rows.append(f'<tr><td class="ln">…</td><td class="muted">{esc(more.format(n=hi - shown_hi))}</td></tr>')
    else:
        for n in range(hi + 1, min(len(lines), hi + context) + 1):
            row(n)
    return f'<table class="src">{"".join(rows)}</table>'


def render_pairs_html(pairs: list[Pair], sources: dict[str, str], context: int = 2, lang: str = "en") -> str:
    """One self-contained page of bounded size: a table of the pairs, then for each pair its
    longest ``MAX_REGIONS`` matching regions side by side (overlapping regions merged, at most
    ``MAX_LINES`` matched lines per side plus ``context`` lines around; long lines wrap), the other
    regions listed by line range."""
    from grader.i18n import tr

    s = tr(lang)
    body = [_SIM_CSS, f"<h1>{esc(s['sim_title'])}</h1>", f'<p class="muted">{esc(s["sim_intro"].format(n=len(pairs)))}</p>']
    if pairs:
        rows = "".join(f'<tr><td><a href="#p{i}">{esc(p.a)} ↔ {esc(p.b)}</a></td><td class="num">'
                       f"{esc(fmt_num(100 * p.score, 1))}%</td><td class=\"num\">{len(_merge(p.regions))}</td></tr>"
                       for i, p in enumerate(pairs))
        body.append(f"<table><thead><tr><th>{esc(s['sim_pair'])}</th><th>{esc(s['similarity_score'])}</th>"
                    f"<th>{esc(s['sim_regions'])}</th></tr></thead><tbody>{rows}</tbody></table>")
    for i, p in enumerate(pairs):
        la = (sources.get(p.a) or "").splitlines()
        lb = (sources.get(p.b) or "").splitlines()
        body.append(f'<h2 id="p{i}">{esc(p.a)} ↔ {esc(p.b)}: {esc(fmt_num(100 * p.score, 1))}% '
                    f'<span class="muted">({esc(s["sim_shared"].format(shared=p.shared, a=p.a_fingerprints, b=p.b_fingerprints))})</span></h2>')
        regions = _merge(p.regions)
        longest = sorted(regions, key=lambda r: -(r[0][1] - r[0][0]))[:MAX_REGIONS]
        for r, (ra, rb) in enumerate(sorted(longest)):
            color = r % len(_REGION_COLORS)
            body.append(
                f'<h3>{esc(p.a)} {ra[0]}–{ra[1]} ↔ {esc(p.b)} {rb[0]}–{rb[1]}</h3><div class="pair">'
                f"<div>{_code_block(la, ra, color, context, s['sim_more'])}</div>"
                f"<div>{_code_block(lb, rb, color, context, s['sim_more'])}</div></div>")
        rest = [r for r in regions if r not in longest]
        if rest:
            spans = ", ".join(f"{ra[0]}–{ra[1]} ↔ {rb[0]}–{rb[1]}" for ra, rb in rest)
            body.append(f'<p class="muted">{esc(s["sim_other"].format(n=len(rest)))}: {esc(spans)}</p>')
    return page(s["sim_title"], "\n".join(body), lang)
