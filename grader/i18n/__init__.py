"""The one message catalogue: every sentence a student, TA or instructor reads, in English and
Russian.

The catalogue is split by room into sections (``grader/i18n/<section>.py``, each a ``MESSAGES``
dict ``{"en": {key: template}, "ru": {key: template}}``); keys are unique across sections and
every key has both languages with the same ``{placeholders}`` (tests/i18n checks it). Templates
are ``str.format`` strings.

Which language: the grading code never passes it around. ``with language("ru"):`` sets it for
the current context (a ``ContextVar``: each thread and each asyncio task has its own), and
``t(key, **params)`` renders in it. ``grade_submission(lang=...)`` sets it for one grade, so the
messages stored in results.json are in the language the results were graded in
(``results["convgrade"]["lang"]``).

Text that comes from an assignment's own data (check names, question titles, case notes) is
localized by ``localized(table, field)``: the table's ``<field>_ru`` when the language is ru and
the table has one, else ``<field>``.

    >>> from grader.i18n import language, t
    >>> with language("ru"):
    ...     t("case", )                                  # doctest: +SKIP
"""
from __future__ import annotations

import contextlib
import importlib
import string
from contextvars import ContextVar

LANGS: tuple[str, ...] = ("en", "ru")
DEFAULT = "en"

# Every section module of the catalogue. A new room adds its module here.
SECTIONS: tuple[str, ...] = ("report", "grading", "diagnoses", "loading", "training", "exam", "serve")

_LANG: ContextVar[str] = ContextVar("convgrade_lang", default=DEFAULT)
_CATALOGUE: dict[str, dict[str, str]] | None = None
_ORIGIN: dict[str, str] = {}


def check_lang(lang: str) -> str:
    """``lang`` when it is a catalogue language, else ValueError naming it."""
    if lang not in LANGS:
        raise ValueError(f"lang: expected one of {list(LANGS)}, got {lang!r}")
    return lang


def catalogue() -> dict[str, dict[str, str]]:
    """``{lang: {key: template}}`` over every section (loaded once). A key defined by two
    sections is an error naming both."""
    global _CATALOGUE
    if _CATALOGUE is None:
        merged: dict[str, dict[str, str]] = {lang: {} for lang in LANGS}
        for name in SECTIONS:
            try:
                mod = importlib.import_module(f"grader.i18n.{name}")
            except ModuleNotFoundError as exc:
                if exc.name == f"grader.i18n.{name}":
                    continue                     # a section not written yet
                raise
            for lang in LANGS:
                for key, text in mod.MESSAGES.get(lang, {}).items():
                    if key in merged[lang] and _ORIGIN.get(f"{lang}:{key}") != name:
                        raise RuntimeError(f"message key {key!r} is defined in sections "
                                           f"{_ORIGIN[f'{lang}:{key}']!r} and {name!r}")
                    merged[lang][key] = text
                    _ORIGIN[f"{lang}:{key}"] = name
        _CATALOGUE = merged
    return _CATALOGUE


def section_of(key: str) -> str:
    """The section module that defines ``key`` (for error messages and tests)."""
    catalogue()
    return _ORIGIN.get(f"en:{key}") or _ORIGIN.get(f"ru:{key}", "")


def placeholders(template: str) -> set[str]:
    """The ``{names}`` a template uses (format specs and conversions stripped)."""
    out = set()
    for _, field, _, _ in string.Formatter().parse(template):
        if field is not None and field != "":
            out.add(field.split(".")[0].split("[")[0])
    return out


def current() -> str:
    """The language of the current context (``"en"`` unless ``language`` set another)."""
    return _LANG.get()


@contextlib.contextmanager
def language(lang: str | None):
    """Render ``t`` in ``lang`` inside the block (None: leave the current language)."""
    if lang is None:
        yield current()
        return
    token = _LANG.set(check_lang(lang))
    try:
        yield lang
    finally:
        _LANG.reset(token)


def t(key: str, /, lang: str | None = None, **params) -> str:
    """The message ``key`` in ``lang`` (default: the current context's), formatted with
    ``params``. An unknown key is a KeyError (a grader bug, caught by the catalogue tests)."""
    lang = check_lang(lang) if lang else current()
    cat = catalogue()
    template = cat[lang].get(key)
    if template is None:
        template = cat[DEFAULT][key]
    return template.format(**params) if params else template


def tr(lang: str) -> dict[str, str]:
    """Every template in ``lang`` as one dict (the report renderers index it directly);
    ValueError naming ``lang`` when it is not a catalogue language."""
    return catalogue()[check_lang(lang)]


def localized(table, field: str, lang: str | None = None, default: str = "") -> str:
    """An assignment's own text in the current language: ``table["<field>_<lang>"]`` when
    present and non-empty, else ``table[field]`` (``default`` when neither). ``table``: a dict
    or any object with attributes of those names."""
    lang = lang or current()
    get = table.get if isinstance(table, dict) else (lambda k, d=None: getattr(table, k, d))
    if lang != DEFAULT:
        text = get(f"{field}_{lang}")
        if isinstance(text, str) and text:
            return text
    text = get(field)
    return text if isinstance(text, str) else default


def default_lang() -> str:
    """The language of pages written for people when no ``--lang`` is given: the current
    course's ``convgrade.toml`` ``lang`` (``grader.course``), else ``"en"``."""
    try:
        from grader.course import current_course
    except ImportError:                     # no course resolver in this version
        return DEFAULT
    try:
        lang = getattr(current_course(), "lang", DEFAULT)
    except Exception:                       # an unreadable convgrade.toml: the command reports it itself
        return DEFAULT
    return lang if lang in LANGS else DEFAULT


def known(value, default: str | None = None) -> str | None:
    """``value`` when it is a catalogue language, else ``default`` (for languages read from
    untrusted or optional data: results.json, rosters, configs)."""
    return value if isinstance(value, str) and value in LANGS else default


def results_lang(results) -> str | None:
    """The language a results.json was graded in (``convgrade.lang``), None when it does not say
    or says something that is not a catalogue language (results.json is untrusted input)."""
    cg = results.get("convgrade") if isinstance(results, dict) else None
    return known(cg.get("lang")) if isinstance(cg, dict) else None
