"""The assignments' own texts in Russian: every bundled check has a ``name_ru``, the loader's
``langs`` rule reports what a bilingual assignment lacks, and rows read in Russian use it."""
from __future__ import annotations

import re

import pytest

from grader import assignment
from grader.assignment import AssignmentError, load
from grader.i18n import language

CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
IDS = assignment.available()


@pytest.mark.parametrize("aid", IDS)
def test_every_bundled_check_has_a_russian_name(aid):
    a = load(aid)
    assert "ru" in a.langs, f"{aid}: assignment.toml should declare langs = ['en', 'ru']"
    assert a.translation_gaps() == []
    for spec in a.checks:
        assert spec.name_ru.strip(), spec.name
        # Russian words, unless the name is only an identifier ("linear_params")
        assert CYRILLIC.search(spec.name_ru) or re.fullmatch(r"[\w.]+", spec.name_ru), spec.name_ru
        assert spec.name_ru == spec.name_ru.strip() and "  " not in spec.name_ru
        # identifiers of the English name stay as they are in the Russian one
        for ident in re.findall(r"\b[A-Z][a-z]+[A-Z0-9]\w*\b|\b\w+_\w+\b", spec.name):
            assert ident in spec.name_ru, (spec.name, ident)


@pytest.mark.parametrize("aid", IDS)
def test_rows_use_the_russian_name_and_keep_the_identity(aid):
    a = load(aid)
    spec = a.checks[0]
    with language("ru"):
        assert spec.display_name == spec.name_ru
    with language("en"):
        assert spec.display_name == spec.name
    assert a.title_ru and CYRILLIC.search(a.title_ru)


def _bilingual(tmp_path, manifest_extra: str, checks: str):
    d = tmp_path / "x1"
    d.mkdir()
    (d / "assignment.toml").write_text(f'id = "x1"\ntitle = "X"\n{manifest_extra}\n', encoding="utf-8")
    (d / "checks.toml").write_text(checks, encoding="utf-8")
    return d


CHECKS = '''
[[check]]
name = "ReLU forward"
name_ru = "ReLU: прямой проход"
kind = "forward"
target = "ReLU"
input = { shape = [2, 3] }

[[check]]
name = "ReLU backward"
kind = "backward"
target = "ReLU"
input = { shape = [2, 3] }
'''


def test_a_bilingual_assignment_names_each_missing_translation(tmp_path):
    a = load(_bilingual(tmp_path, 'langs = ["en", "ru"]', CHECKS))
    gaps = a.translation_gaps()
    assert any("title_ru" in g for g in gaps)
    assert [g for g in gaps if "check" in g] == ["checks.toml: check 'ReLU backward' has no name_ru"]


def test_without_langs_nothing_is_required(tmp_path):
    a = load(_bilingual(tmp_path, 'title_ru = "Икс"', CHECKS))
    assert a.langs == ("en",)
    assert a.translation_gaps() == []
    with language("ru"):     # the English name stands in
        assert a.checks[1].display_name == "ReLU backward"


@pytest.mark.parametrize("bad", ['langs = ["ru"]', 'langs = ["en", "de"]', 'langs = "en"', "langs = []"])
def test_malformed_langs_is_an_authoring_error(tmp_path, bad):
    with pytest.raises(AssignmentError, match="langs"):
        load(_bilingual(tmp_path, bad, CHECKS))


def test_the_scaffold_is_bilingual_and_complete(tmp_path):
    from grader.authoring.scaffold import scaffold

    scaffold("x_relu", tmp_path / "x_relu")
    a = load(tmp_path / "x_relu")
    assert a.langs == ("en", "ru")
    # the scaffold's title_ru is the English title until the instructor writes one: no gap for it
    assert a.translation_gaps() == []
    assert all(CYRILLIC.search(s.name_ru) for s in a.checks)


def test_validate_warns_about_each_gap(tmp_path, monkeypatch):
    """`convgrade validate` prints a warning naming the check before validating."""
    from click.testing import CliRunner

    import grader.authoring.validate as validate_mod
    from grader.authoring.validate import ValidationReport
    from grader.cli import main

    d = _bilingual(tmp_path, 'langs = ["en", "ru"]\ntitle_ru = "Икс"', CHECKS)
    monkeypatch.setattr(validate_mod, "validate", lambda a, **kw: ValidationReport(a.id, a.max_score))
    res = CliRunner().invoke(main, ["validate", str(d)])
    assert "warning: checks.toml: check 'ReLU backward' has no name_ru" in res.output
