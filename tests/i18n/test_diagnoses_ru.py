"""Diagnoses, load errors and notebook locations in the student's language (issue 14).

The diagnoses come from a real grade: the master solution of a2_convolution with three known
mistakes applied (mutants.toml: a flipped kernel, a bias gradient not summed over the batch,
``count_include_pad`` ignored), graded in-process-isolated with ``lang="ru"`` and ``lang="en"``,
only the Conv2d and AvgPool2d checks (a few seconds). The diagnosis *codes* are ids and are the
same in both languages; the messages are the catalogue's (grader/i18n/diagnoses.py).
"""
from __future__ import annotations

import dataclasses
import io
import json
import re
import zipfile

import nbformat
import pytest

from grader.assignment import load
from grader.authoring.mutants import load_mutants
from grader.authoring.notebook import parse
from grader.grade import grade_submission
from grader.i18n import language, tr
from grader.submission import SubmissionError, load_bytes

MUTANTS = ("conv2d_flipped_kernel", "conv2d_bias_grad_not_summed", "avgpool_count_include_pad_ignored")
CYRILLIC = re.compile("[а-яё]", re.IGNORECASE)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    a = load("a2_convolution")
    mutants = {m.name: m for m in load_mutants(a.path)}
    source = parse(a.path).source
    for name in MUTANTS:
        source = mutants[name].apply(source)
    path = tmp_path_factory.mktemp("mutants") / "submission.py"
    path.write_text(source, encoding="utf-8")
    few = dataclasses.replace(a, checks=[c for c in a.checks if c.target in ("Conv2d", "AvgPool2d")])
    return {lang: grade_submission(few, path, student="ivan", isolation="process", lang=lang)
            for lang in ("ru", "en")}


def _diagnoses(results) -> dict[str, list[dict]]:
    """``{row number: diagnoses}`` (numbers are the same in both languages; names are not)."""
    return {t["number"]: t.get("extra_data", {}).get("diagnoses", []) for t in results["tests"]}


def _first(results, code: str) -> tuple[str, dict]:
    return next((name, d) for name, ds in _diagnoses(results).items() for d in ds if d["code"] == code)


@pytest.mark.parametrize("code, ru, en", [
    ("flipped_kernel", "Ваш выход совпадает со *свёрткой* с перевёрнутым ядром",
     "Your output matches a *convolution* with the kernel flipped"),
    ("bias_grad_not_summed", "grads['bias'] просуммирован по пространству, но не по батчу",
     "grads['bias'] is summed over space but not over the batch"),
    ("count_include_pad_swapped", "при `count_include_pad=False` нули паддинга не учитываются",
     "with `count_include_pad=False` the padded zeros are not counted"),
])
def test_a_real_grade_diagnoses_in_russian(graded, code, ru, en):
    name, d_ru = _first(graded["ru"], code)
    assert ru in d_ru["message"], d_ru["message"]
    assert not re.search(r"\b(Your|your|matches|the)\b", d_ru["message"]), d_ru["message"]
    row = next(t for t in graded["ru"]["tests"] if t["number"] == name)
    assert ru in row["output"]                                   # the text the student reads
    _, d_en = _first(graded["en"], code)
    assert en in d_en["message"] and not CYRILLIC.search(d_en["message"])


def test_codes_are_ids_the_same_in_both_languages(graded):
    codes = {lang: {name: [d["code"] for d in ds] for name, ds in _diagnoses(r).items()}
             for lang, r in graded.items()}
    assert codes["ru"] == codes["en"] and any(codes["ru"].values())
    assert graded["ru"]["convgrade"]["lang"] == "ru"
    heat = next(t["extra_data"]["heatmap"] for t in graded["ru"]["tests"] if "heatmap" in t.get("extra_data", {}))
    assert heat["title"] == tr("ru")["diagnosis.heatmap_title"]


def _nb(*cells) -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    return nbformat.writes(nb).encode()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _reason(data: bytes, name: str, **kw) -> str:
    with pytest.raises(SubmissionError) as info:
        load_bytes(data, name, **kw)
    return info.value.reason


LOAD_ERRORS = [
    (b"{", "hw.ipynb", {}, "неверный JSON в строке 1"),
    (b"x = 1\n" * 400, "hw.py", {"max_bytes": 1000}, "предел — 1 КБ"),
    (b"x = 1\n", "hw.txt", {}, "файл не того типа: загрузите файл .py, .ipynb или .zip"),
    (b"\xff\xfe = 1", "hw.py", {}, "не текст в UTF-8"),
    (b"def f(:\n", "hw.py", {}, "hw.py: синтаксическая ошибка (строка 1)"),
    (_nb("def f(:\n    pass"), "hw.ipynb", {}, "в ячейке 1 синтаксическая ошибка в строке 1"),
    (json.dumps({"nbformat": 3, "worksheets": []}).encode(), "hw.ipynb", {}, "в старом формате ноутбука 3"),
    (_zip({"a.py": b"x = 1", "b.py": b"y = 2"}), "up.zip", {}, "несколько файлов, которые могут быть решением"),
    (_nb("x = 1") + b" " * 20000, "hw.ipynb", {"max_bytes": 1000}, "очистите их (в Jupyter: Kernel → Restart"),
]


@pytest.mark.parametrize("data, name, kw, ru", LOAD_ERRORS, ids=[e[3][:24] for e in LOAD_ERRORS])
def test_load_errors_in_russian(data, name, kw, ru):
    with language("ru"):
        reason = _reason(data, name, **kw)
    assert ru in reason, reason
    assert _reason(data, name, **kw) != reason                  # the default context stays English


def test_loader_notes_and_locations_in_russian():
    data = _nb("import numpy as np\n%time x = 1\n!ls", "def f(:\n  pass", "# convgrade: skip\nz = 1",
               "def boom():\n    return 1 / 0")
    with language("ru"):
        sub = load_bytes(data, "hw.ipynb")
        line = sub.source.split("\n").index("    return 1 / 0") + 1
        assert sub.frame(line, "boom") == "ячейка 4, строка 2 в boom: `return 1 / 0`"
        assert sub.traceback([[line - 1, "<module>"], [line, "boom"]]) == \
            "ячейка 4, строка 2 в boom: `return 1 / 0`; вызвано из: ячейка 4, строка 1: `def boom():`"
    notes = "\n".join(sub.notes)
    assert "в ячейке 2 синтаксическая ошибка в строке 1" in notes and "ячейка пропущена" in notes
    assert "пропущено с пометкой '# convgrade: skip': 1 ячейка (ячейка 3)" in notes
    assert "пропущено: 1 строка магической команды IPython (ячейка 1)" in notes
    assert not re.search(r"\b(cell|line|left out|skipped|dropped)\b", notes), notes


def test_a_graded_load_error_is_in_the_language_of_the_grade(tmp_path):
    a = load("a1_backprop")
    path = tmp_path / "hw.ipynb"
    path.write_bytes(b'{"cells": [}')
    res = grade_submission(a, path, student="ivan", isolation="process", lang="ru")
    assert "повреждённый ноутбук: неверный JSON" in res["convgrade"]["load_error"]
    assert res["score"] == 0 and res["convgrade"]["lang"] == "ru"
