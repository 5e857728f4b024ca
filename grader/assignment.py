"""An assignment folder: ``assignment.toml`` (the manifest) and ``checks.toml`` (the checks as data).

Manifest keys::

    id = "a2_convolution"
    title = "Convolution and pooling in numpy"
    title_ru = "Свёртка и пулинг на numpy"
    langs = ["en", "ru"]              # optional: the languages its texts come in (default ["en"])
    points = 40                       # optional: must equal the sum of the checks' points
    due = "2026-12-07T23:59:00+03:00" # optional, ISO 8601 with offset
    [late]   grace_minutes = 15, penalty_per_day = 0.1, max_penalty = 0.5
    [imports] forbidden = ["torch", "scipy"]; allow_torch = false
    [limits]  wall_s, probe_timeout_s, cpu_s, memory_mb, pids, ...   (grader.sandbox.Limits fields)
    [submission] preferred_names = ["convolution.ipynb"]

``checks.toml`` holds ``[[check]]`` tables: ``name``, ``kind``, ``points``, ``visibility``
(visible / hidden / after_due_date), ``target`` and kind-specific keys; ``name_ru`` is the row's
name in Russian (``CheckSpec.display_name``).

Bilingual assignments: ``langs = ["en", "ru"]`` in the manifest declares that every text a person
reads comes in both languages: ``title_ru`` and each check's ``name_ru``. :meth:`Assignment.translation_gaps`
lists what is missing (each gap names the check); ``convgrade validate`` prints them as warnings
and tests/i18n/test_data_ru.py holds every bundled assignment to none. Without ``langs`` nothing
is required and a missing ``*_ru`` falls back to the English text.
"""
from __future__ import annotations

import datetime as dt
import math
import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from . import course as _course
from .checks import CheckDefinitionError, CheckSpec, kind_of
from .checks.base import VISIBILITIES
from .i18n import LANGS as _LANGS

DEFAULT_LANG = "en"                 # the language of `name` and `title` (grader.i18n.DEFAULT)
ASSIGNMENTS_DIR = _course.bundled_assignments_dir()   # the bundled example course (see grader.course)


class AssignmentError(ValueError):
    pass


@dataclass
class LatePolicy:
    grace_minutes: float = 0.0
    penalty_per_day: float = 0.0
    max_penalty: float = 1.0

    def penalty(self, submitted: dt.datetime | None, due: dt.datetime | None) -> tuple[float, float]:
        """(days late, fraction of the score taken off) for a submission time."""
        if submitted is None or due is None:
            return 0.0, 0.0
        late_s = (submitted - due).total_seconds()
        if late_s <= self.grace_minutes * 60:
            return 0.0, 0.0
        days = late_s / 86400.0

        return days, min(self.max_penalty, self.penalty_per_day * math.ceil(days))


@dataclass
class Assignment:
    id: str
    title: str
    title_ru: str
    path: Path
    checks: list[CheckSpec]
    manifest: dict
    version: str
    due: dt.datetime | None = None
    late: LatePolicy = field(default_factory=LatePolicy)

    @property
    def max_score(self) -> float:
        return round(sum(c.points for c in self.checks), 6)

    @property
    def langs(self) -> tuple[str, ...]:
        """The languages the manifest declares its texts in (``langs``; default ``("en",)``)."""
        return tuple(self.manifest.get("langs", (DEFAULT_LANG,)))

    def translation_gaps(self) -> list[str]:
        """The texts a declared language lacks (``[]`` when complete or nothing is declared):
        the manifest's ``title_<lang>`` and every check's ``name_<lang>``, each named."""
        gaps = []
        for lang in self.langs:
            if lang == DEFAULT_LANG:
                continue
            if not str(self.manifest.get(f"title_{lang}", "")).strip():
                gaps.append(f"assignment.toml: langs includes {lang!r} but title_{lang} is missing")
            for spec in self.checks:
                text = getattr(spec, f"name_{lang}", "")
                if not isinstance(text, str) or not text.strip():
                    gaps.append(f"checks.toml: check {spec.name!r} has no name_{lang}")
        return gaps

    @property
    def forbidden_imports(self) -> list[str]:
        return list(self.manifest.get("imports", {}).get("forbidden", []))

    @property
    def released_with(self) -> str | None:
        """``convgrade`` of a released assignment.toml: the convgrade version that made the release
        (whose checks a student's ``convgrade check`` should run); None in an instructor's folder."""
        version = self.manifest.get("convgrade")
        return version if isinstance(version, str) and 0 < len(version) <= 40 else None

    @property
    def installed_imports(self) -> list[str] | None:
        """``[imports] installed`` of a released assignment.toml: the third-party packages of the
        environment it was released from (``convgrade check`` notes imports of any other); None in
        an instructor's folder, or when the list is not a list of names."""
        names = self.manifest.get("imports", {}).get("installed")
        if isinstance(names, list) and all(isinstance(n, str) for n in names):
            return list(names)
        return None

    @property
    def allow_torch(self) -> bool:
        return bool(self.manifest.get("imports", {}).get("allow_torch", False))

    @property
    def limits(self) -> dict:
        return dict(self.manifest.get("limits", {}))

    @property
    def preferred_names(self) -> tuple[str, ...]:
        return tuple(self.manifest.get("submission", {}).get("preferred_names", ()))

    def select(self, visibility: str = "all") -> list[CheckSpec]:
        if visibility == "visible":
            return [c for c in self.checks if c.visible]
        return list(self.checks)


def resolve(name_or_path: str | Path) -> Path:
    """An assignment's folder: a path to a folder with assignment.toml (a release folder too), else
    an id in the current course (``--course``, ``$CONVGRADE_COURSE``, the nearest convgrade.toml,
    the bundled examples: :func:`grader.course.current_course`)."""
    try:
        return _course.resolve_in_course(name_or_path, "assignment.toml", "assignment")
    except _course.CourseError as exc:
        raise AssignmentError(str(exc)) from None


def available() -> list[str]:
    """The ids of the current course's assignments (the bundled examples when outside a course)."""
    try:
        return _course.current_course().ids("assignment.toml")
    except _course.CourseError as exc:
        raise AssignmentError(str(exc)) from None


def _parse_time(value, what: str) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        t = value
    else:
        try:
            t = dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise AssignmentError(f"{what}: not an ISO 8601 time: {value!r}") from None
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def load(name_or_path: str | Path, validate: bool = True) -> Assignment:
    path = resolve(name_or_path)
    manifest_bytes = (path / "assignment.toml").read_bytes()
    checks_path = path / "checks.toml"
    checks_bytes = checks_path.read_bytes() if checks_path.is_file() else b""
    try:
        manifest = tomllib.loads(manifest_bytes.decode())
        checks_doc = tomllib.loads(checks_bytes.decode()) if checks_bytes else {}
    except tomllib.TOMLDecodeError as exc:
        raise AssignmentError(f"{path}: invalid TOML: {exc}") from None
    for key in ("id", "title"):
        if key not in manifest:
            raise AssignmentError(f"{path / 'assignment.toml'}: missing {key!r}")
    checks = []
    seen = set()
    for i, raw in enumerate(checks_doc.get("check", []), 1):
        raw = dict(raw)
        try:
            name = raw.pop("name")
            kind = raw.pop("kind")
        except KeyError as exc:
            raise AssignmentError(f"{checks_path}: check #{i} lacks {exc.args[0]!r}") from None
        if name in seen:
            raise AssignmentError(f"{checks_path}: duplicate check name {name!r}")
        seen.add(name)
        vis = raw.pop("visibility", "hidden")
        if vis not in VISIBILITIES:
            raise AssignmentError(f"{checks_path}: check {name!r}: visibility must be one of {VISIBILITIES}")
        name_ru = raw.pop("name_ru", "")
        if not isinstance(name_ru, str):
            raise AssignmentError(f"{checks_path}: check {name!r}: name_ru must be a string")
        spec = CheckSpec(name=name, kind=kind, points=float(raw.pop("points", 1.0)), visibility=vis,
                         target=raw.pop("target", ""), number=str(i), tags=list(raw.pop("tags", [])),
                         params=raw, name_ru=name_ru)
        checks.append(spec)
    if validate:
        for spec in checks:
            try:
                kind_of(spec).validate(spec)
            except CheckDefinitionError as exc:
                raise AssignmentError(f"{checks_path}: {exc}") from None
    langs = manifest.get("langs", [DEFAULT_LANG])
    if (not isinstance(langs, list) or not langs or DEFAULT_LANG not in langs
            or any(lang not in _LANGS for lang in langs)):
        raise AssignmentError(f"{path / 'assignment.toml'}: langs must be a list of {list(_LANGS)} that "
                              f"includes {DEFAULT_LANG!r}, got {langs!r}")
    late = manifest.get("late", {})
    a = Assignment(
        id=str(manifest["id"]), title=str(manifest["title"]),
        title_ru=str(manifest.get("title_ru", manifest["title"])), path=path, checks=checks,
        manifest=manifest,
        version=hashlib.sha256(manifest_bytes + b"\0" + checks_bytes).hexdigest()[:16],
        due=_parse_time(manifest.get("due"), "due"),
        late=LatePolicy(float(late.get("grace_minutes", 0)), float(late.get("penalty_per_day", 0)),
                        float(late.get("max_penalty", 1.0))),
    )
    if "points" in manifest and abs(float(manifest["points"]) - a.max_score) > 1e-6:
        raise AssignmentError(f"{path / 'assignment.toml'}: points = {manifest['points']} but the checks "
                              f"add up to {a.max_score}")
    return a
