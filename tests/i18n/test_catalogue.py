"""The one message catalogue (grader/i18n): both languages complete, same placeholders, every
key in one section, and the language plumbing (context, threads, data tables)."""
from __future__ import annotations

import threading

import pytest

from grader.i18n import LANGS, catalogue, language, localized, placeholders, t, tr

# Keys whose text is legitimately the same in both languages (symbols, numbers, code).
SAME_IN_BOTH: set[str] = set()


def test_every_key_in_both_languages_with_the_same_placeholders():
    cat = catalogue()
    assert set(cat["en"]) == set(cat["ru"]), set(cat["en"]) ^ set(cat["ru"])
    for key, text in cat["en"].items():
        assert placeholders(text) == placeholders(cat["ru"][key]), key


def test_russian_is_a_translation_not_a_copy():
    cat = catalogue()
    same = sorted(k for k in cat["en"] if cat["en"][k] == cat["ru"][k] and k not in SAME_IN_BOTH)
    assert same == []


def test_language_is_per_context_and_per_thread():
    assert t("case") == tr("en")["case"]
    seen = {}
    with language("ru"):
        assert t("case") == tr("ru")["case"]
        th = threading.Thread(target=lambda: seen.setdefault("thread", t("case")))
        th.start(); th.join()
    assert seen["thread"] == tr("en")["case"]          # a new thread starts in the default language
    assert t("case") == tr("en")["case"]
    assert t("case", lang="ru") == tr("ru")["case"]


def test_unknown_language_and_key():
    with pytest.raises(ValueError, match="lang"):
        with language("de"):
            pass
    with pytest.raises(KeyError):
        t("no such key")
    assert set(LANGS) == {"en", "ru"}


def test_localized_data_falls_back_to_the_base_field():
    row = {"name": "Conv2d forward", "name_ru": "Conv2d: прямой проход"}
    assert localized(row, "name") == "Conv2d forward"
    with language("ru"):
        assert localized(row, "name") == "Conv2d: прямой проход"
        assert localized({"name": "x"}, "name") == "x"
        assert localized({}, "name", default="?") == "?"
