"""MOSS-style similarity (grader/report/similarity.py): normalization, winnowing, class compare."""
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from grader.report.similarity import (Pair, compare, fingerprints, kgram_hashes, load_sources, normalize,
                                      render_pairs_html, winnow, MAX_LINES, MAX_REGIONS)

from .fixtures import assert_self_contained


DATA = Path(__file__).parent / "data"
ORIG = (DATA / "sim_original.py.txt").read_text()
COPY = (DATA / "sim_disguised_copy.py.txt").read_text()       # renamed, recommented, reformatted
INDEP = (DATA / "sim_independent.py.txt").read_text()         # same functions, written separately


def generated_module(seed: int, n_funcs: int = 4) -> str:
    """Plausible but distinct numpy code, different for every seed."""
    r = random.Random(seed)
    fns = ["sum", "mean", "reshape", "transpose", "pad", "maximum", "exp", "log", "dot", "clip", "abs"]
    ops = ["+", "-", "*", "/", "//", "@"]
    lines = []
    for f in range(n_funcs):
        lines.append(f"def helper_{seed}_{f}(a, b, c={r.randrange(9)}):")
        for _ in range(r.randrange(5, 9)):
            lines.append(f"    v{r.randrange(6)} = v{r.randrange(6)} {r.choice(ops)} np.{r.choice(fns)}"
                         f"(v{r.randrange(6)}, {r.randrange(5)}) {r.choice(ops)} {r.randrange(100)}")
            if r.random() < 0.4:
                lines.append(f"    if v{r.randrange(6)} > {r.randrange(9)}:")
                lines.append(f"        return v{r.randrange(6)}.{r.choice(fns)}(axis={r.randrange(3)})")
            if r.random() < 0.3:
                lines.append(f"    for i in range({r.randrange(2, 9)}):")
                lines.append(f"        v{r.randrange(6)}[i] {r.choice(ops)}= {r.choice(['a', 'b', 'c'])}")
        lines.append(f"    return v{r.randrange(6)}")
        lines.append("")
    return "\n".join(lines) + "\n"


def test_normalize_drops_formatting_and_renames_identifiers():
    src = ('def f(alpha, beta=3):\n    """doc"""\n    # comment\n'
           '    return np.sum(alpha.reshape(-1) * 2.5, axis=beta) + len("s")\n')
    toks, first, last = normalize(src)
    assert " ".join(toks) == ("def V ( V , V = N ) : return V . sum ( V . reshape ( - N ) * N , V = V ) "
                              "+ len ( S )")
    assert first[0] == 1 and first[-1] == 4 and (first <= last).all()
    reformatted = ('def  g( x,\n       y = 7 ) :\n    # another comment\n    return np.sum(\n'
                   "        x.reshape(-1)*0.1,  # inline\n        axis=y\n    ) + len('t')\n")
    assert normalize(reformatted)[0] == toks
    # a broken file normalizes as far as it tokenizes, without raising
    broken = normalize("x = np.zeros((3,\n")[0]
    assert broken[:4] == ["V", "=", "V", "."] and fingerprints("def f(:\n  ((") == []


def test_disguised_copy_found_with_high_score():
    pairs = compare({"alice": ORIG, "bob": COPY, "carol": INDEP})
    assert [(p.a, p.b) for p in pairs] == [("alice", "bob")]
    assert pairs[0].score >= 0.9 and pairs[0].shared >= 50


def test_independent_implementations_not_flagged():
    pairs = compare({"alice": ORIG, "carol": INDEP, "dave": generated_module(1)}, threshold=0.0, min_shared=1)
    assert all(p.score < 0.25 for p in pairs), [(p.a, p.b, p.score) for p in pairs]
    assert compare({"alice": ORIG, "carol": INDEP}) == []


STARTER = '''"""Homework 2 starter code. Do not edit the helpers below."""
import numpy as np


def load_batches(x, y, batch_size=32, shuffle=True, seed=0):
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
    for start in range(0, len(x), batch_size):
        idx = order[start:start + batch_size]
        yield x[idx], y[idx]


def numeric_gradient(f, x, h=1e-5):
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        fxph = f(x)
        x[ix] = old - h
        fxmh = f(x)
        x[ix] = old
        grad[ix] = (fxph - fxmh) / (2 * h)
        it.iternext()
    return grad


def rel_error(a, b):
    return np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)))


def train(model, x, y, epochs=5, lr=0.1):
    history = []
    for epoch in range(epochs):
        for xb, yb in load_batches(x, y, seed=epoch):
            loss, grads = model.loss(xb, yb)
            for name, g in grads.items():
                model.params[name] -= lr * g
            history.append(loss)
    return history
'''


def test_starter_code_does_not_count():
    # two students who keep the (large) starter and write their own short, different code
    a = STARTER + "\n\n" + generated_module(11, 1)
    b = STARTER + "\n\n" + generated_module(12, 1)
    assert compare({"a": a, "b": b}) != []                       # the starter alone looks like a copy
    assert compare({"a": a, "b": b}, starter=STARTER) == []
    # copying each other's own part is still found with the starter removed
    c = STARTER + "\n\n" + generated_module(11, 1).replace("v1", "tmp")
    pairs = compare({"a": a, "b": b, "c": c}, starter=STARTER)
    assert [(p.a, p.b) for p in pairs] == [("a", "c")] and pairs[0].score > 0.8


def test_class_wide_boilerplate_is_ignored():
    boiler = generated_module(999, 3)                            # shared by everyone, not in the starter
    sources = {f"s{i:02d}": boiler + "\n" + generated_module(100 + i, 2) for i in range(25)}
    assert compare(sources) == []
    # the fraction filter is what removes it: with a cap above the class size all pairs match
    flagged = compare(sources, min_common=30, threshold=0.3)
    assert len(flagged) == 25 * 24 // 2


def test_regions_map_to_the_right_lines():
    orig_lines = ORIG.splitlines()
    conv = (orig_lines.index("def conv2d_forward(x, w, b, stride=1, pad=0):") + 1,
            orig_lines.index("    return out, cache") + 1)
    soft = (orig_lines.index("def softmax_loss(scores, y):") + 1, len(orig_lines))
    assert orig_lines[conv[1] - 1].strip() == "return out, cache"
    filler = generated_module(5, 2)
    soft_src = "\n".join(orig_lines[soft[0] - 1:soft[1]]) + "\n"
    conv_src = "\n".join(orig_lines[conv[0] - 1:conv[1]]) + "\n"
    # b: filler, then softmax_loss, then more filler, then conv2d_forward (order swapped)
    b = filler + "\n" + soft_src + "\n" + generated_module(6, 2) + "\n" + conv_src
    b_lines = b.splitlines()
    b_soft0 = b_lines.index("def softmax_loss(scores, y):") + 1
    b_conv0 = b_lines.index("def conv2d_forward(x, w, b, stride=1, pad=0):") + 1
    pairs = compare({"a": ORIG, "b": b}, threshold=0.0)
    assert len(pairs) == 1
    regions = pairs[0].regions
    assert len(regions) == 2
    (ra1, rb1), (ra2, rb2) = regions                    # sorted by a: conv first, then softmax
    # each region lies inside the function in both files and covers most of it; same offsets
    assert conv[0] <= ra1[0] and ra1[1] <= conv[1] and ra1[1] - ra1[0] >= 0.8 * (conv[1] - conv[0])
    assert rb1[0] - b_conv0 == ra1[0] - conv[0] and rb1[1] - b_conv0 == ra1[1] - conv[0]
    assert soft[0] <= ra2[0] and ra2[1] <= soft[1] and ra2[1] - ra2[0] >= 0.7 * (soft[1] - soft[0])
    assert rb2[0] - b_soft0 == ra2[0] - soft[0] and rb2[1] - b_soft0 == ra2[1] - soft[0]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=1, max_size=60), st.integers(1, 7))
def test_winnow_selects_rightmost_minimum_of_every_window(values, w):
    h = np.array(values, dtype=np.uint64)
    sel_h, pos = winnow(h, w)
    assert (np.diff(pos) > 0).all() and (sel_h == h[pos]).all()
    ww = min(w, len(values))
    expected = set()
    for i in range(len(values) - ww + 1):
        win = values[i:i + ww]
        m = min(win)
        expected.add(i + max(j for j, v in enumerate(win) if v == m))
    assert set(pos.tolist()) == expected


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from("abcdefgh"), min_size=0, max_size=20),
       st.lists(st.sampled_from("abcdefgh"), min_size=0, max_size=20),
       st.lists(st.sampled_from("abcdefgh"), min_size=8, max_size=30),
       st.lists(st.sampled_from("abcdefgh"), min_size=0, max_size=20))
def test_winnowing_guarantee_shared_run_of_w_plus_k_minus_1(pre_a, pre_b, common, post):
    k, w = 5, 4                                   # guarantee threshold: w + k - 1 = 8 tokens
    ha, _ = winnow(kgram_hashes(pre_a + common + post, k), w)
    hb, _ = winnow(kgram_hashes(pre_b + common, k), w)
    assert set(ha.tolist()) & set(hb.tolist())


def test_fingerprints_are_stable_across_processes():
    code = ("from grader.report.similarity import fingerprints; import sys; "
            "print(fingerprints(sys.stdin.read())[:5])")
    outs = {subprocess.run([sys.executable, "-c", code], input=ORIG, capture_output=True, text=True,
                           env={"PYTHONHASHSEED": seed}, check=True).stdout for seed in ("1", "2")}
    assert outs == {str(fingerprints(ORIG)[:5]) + "\n"}


def test_render_pairs_html_side_by_side_highlighted():
    a = ORIG.replace("def relu_forward(x):", "def relu_forward(x):  # <script>alert(1)</script>")
    b = COPY
    pairs = compare({"a": a, "b": b})
    page = render_pairs_html(pairs, {"a": a, "b": b})
    assert_self_contained(page)
    assert "<script>" not in page
    hostile = render_pairs_html([Pair("x<i>", "b", 0.9, [((1, 1), (1, 1))])],
                                {"x<i>": "<script>alert(1)</script>", "b": "y"})
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile and "x&lt;i&gt;" in hostile and "<i>" not in hostile
    (ra, rb) = pairs[0].regions[0]
    assert f"a {ra[0]}–{ra[1]} ↔ b {rb[0]}–{rb[1]}" in page
    highlighted = page.count('<tr class="r')
    assert highlighted == sum(min(MAX_LINES, x[1] - x[0] + 1) + min(MAX_LINES, y[1] - y[0] + 1)
                              for x, y in pairs[0].regions[:MAX_REGIONS])
    assert isinstance(pairs[0], Pair)


def test_bad_arguments():
    with pytest.raises(ValueError, match="threshold"):
        compare({"a": ORIG}, threshold=1.5)
    with pytest.raises(ValueError, match="sources"):
        compare([ORIG])
    with pytest.raises(ValueError, match="w"):
        winnow(np.zeros(3, dtype=np.uint64), 0)
    with pytest.raises(ValueError, match="source"):
        normalize(b"x = 1")


def test_load_sources_from_batch_folder(tmp_path):
    for name, src in (("alice", ORIG), ("bob", COPY)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "source.py").write_text(src, encoding="utf-8")
    (tmp_path / "carol").mkdir()                       # no source.py: did not load
    (tmp_path / "_work").mkdir()
    (tmp_path / "_work" / "source.py").write_text(ORIG)
    sources = load_sources(tmp_path)
    assert sources == {"alice": ORIG, "bob": COPY}
    assert [(p.a, p.b) for p in compare(sources)] == [("alice", "bob")]
    with pytest.raises(ValueError, match="out_dir"):
        load_sources(tmp_path / "missing")


def test_similarity_page_is_bounded_and_wraps():
    """8 near-identical 400-line submissions: 28 pairs, each region cut to MAX_LINES shown lines,
    at most MAX_REGIONS regions per pair; long lines wrap instead of being clipped."""
    body = "\n".join(f"def f{i}(x):\n    return x * {i} + np.pad(x, {i}).sum() - " + "+".join(["x"] * 60)
                     for i in range(200))
    sources = {f"s{i}": body + "\n" * i for i in range(8)}
    pairs = compare(sources)
    assert len(pairs) == 28
    page = render_pairs_html(pairs, sources)
    assert len(page.encode()) < 28 * MAX_REGIONS * 2 * (MAX_LINES + 5) * 400
    assert len(page.encode()) < 1_000_000
    one = render_pairs_html([Pair("a", "b", 1.0, [((1, 50), (3, 52)), ((60, 61), (70, 71))] * 3)],
                            {"a": body, "b": body})
    assert "40 more matching line(s)" in one and one.count('<tr class="r') == 2 * (MAX_LINES + 2)
    assert "white-space:pre-wrap" in page and ".pair>div{flex:1;min-width:0}" in page
    ru = render_pairs_html(pairs, sources, lang="ru")
    assert "Похожие решения" in ru and "Similar submissions" not in ru
