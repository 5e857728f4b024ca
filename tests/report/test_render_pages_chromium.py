"""Screenshots of summary.html and similarity.html in English and Russian (headless Chromium),
saved in the test's tmp dir for people to look at; the asserts check what must be visible."""
import numpy as np
import pytest

from grader.report.gradebook import collect, render_summary_html
from grader.report.similarity import compare, render_pairs_html
from grader.report.summary import questions_for

from .fixtures import make_results, write_batch
from .test_render_chromium import assert_not_blank, near, needs_chromium, screenshot

LONG = "    return np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), mode='constant') * scale + offset  # " + "w" * 90


def _source(i: int) -> str:
    body = "\n".join(f"def layer_{j}(x, p, scale, offset):\n    y = x.reshape(-1)\n{LONG}\n" for j in range(30))
    return f"import numpy as np\n{'# student ' * i}\n{body}"


@needs_chromium
@pytest.mark.parametrize("lang", ["en", "ru"])
def test_similarity_side_by_side_wraps(tmp_path, lang):
    sources = {"alice": _source(1), "bob": _source(2)}
    pairs = compare(sources)
    img = screenshot(render_pairs_html(pairs, sources, lang=lang), tmp_path, f"similarity-{lang}")
    assert_not_blank(img)
    hl = near(img, (0xff, 0xf3, 0xb0), 3)                 # the first region's highlight
    left, right = hl[:, :500].sum(), hl[:, 500:].sum()
    assert left > 2000 and right > 2000                    # both files, side by side
    cols = np.flatnonzero(hl.any(axis=0))
    assert cols.max() < 990                                # nothing runs off the window: long lines wrap


@needs_chromium
@pytest.mark.parametrize("lang", ["en", "ru"])
def test_summary_page_by_question(tmp_path, lang):
    res = {f"s{i}": make_results(f"s{i}", "failing" if i % 2 else "passing") for i in range(6)}
    for r in res.values():
        r["convgrade"]["assignment"] = "a2_convolution"
    out = write_batch(tmp_path / "OUT", res)
    rows = collect(out)
    page = render_summary_html(rows, lang=lang, questions=questions_for(out))
    img = screenshot(page, tmp_path, f"summary-{lang}")
    assert_not_blank(img)
    assert near(img, (0xdd, 0xf4, 0xff), 4).sum() > 2000   # the "most common mistakes" box is drawn
