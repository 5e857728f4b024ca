"""A course: the instructor's own folder, a ``convgrade.toml`` beside its ``assignments/``.

::

    my-cnn-course/                 (usually a private git repository, separate from the tool)
        convgrade.toml             the course's settings (schema below)
        assignments/
            a2_convolution/        a problem set: assignment.toml, checks.toml, master.ipynb, ...
            exam_midterm/          an exam: exam.toml
        roster.csv                 optional, named in convgrade.toml

``convgrade.toml`` (every key optional; an unknown key is an error that names it)::

    name = "Convolutional networks, fall 2026"   # default: the folder's name
    lang = "ru"                        # default language of feedback and exam papers: "en" | "ru"
    secret_file = "~/.config/cnn-2026.key"   # HMAC key of the hidden inputs (relative: to this
                                       # folder; created on first use, mode 600); $CONVGRADE_SECRET
                                       # and $CONVGRADE_SECRET_FILE still win
    roster = "roster.csv"              # the class list (relative: to this folder)

    [lms.canvas]                       # LMS ids: canvas, gradescope, moodle, prairielearn
    course_id = 123456
    [lms.canvas.assignments]           # assignment / exam id -> the LMS's id
    a2_convolution = 987654

Which course a command works in (:func:`current_course`), first match wins:

1. ``--course DIR`` (:func:`use_course`), else ``$CONVGRADE_COURSE``;
2. the nearest ``convgrade.toml`` in the working directory or above it;
3. the bundled example course (the repository's ``assignments/``; in a wheel, the same folders
   shipped as package data under ``grader/_examples``), which ``make demo`` and the tests use.

An assignment or exam argument is first taken as a path (a folder holding the manifest), else as
an id under the current course's ``assignments/`` (:func:`resolve_in_course`). This module imports
nothing of convgrade's, so everything may use it.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

COURSE_FILE = "convgrade.toml"
ASSIGNMENTS = "assignments"
ENV_COURSE = "CONVGRADE_COURSE"
LANGS = ("en", "ru")
LMS_NAMES = ("canvas", "gradescope", "moodle", "prairielearn")
KEYS = ("name", "lang", "secret_file", "roster", "lms", "serve", "lti")   # serve, lti: grader.serve.config
LMS_KEYS = ("course_id", "assignments")

_PACKAGE_DIR = Path(__file__).resolve().parent
_override: Path | None = None


class CourseError(ValueError):
    """A course folder or its convgrade.toml is wrong (the message names the file and key)."""


@dataclass(frozen=True)
class LmsIds:
    """One LMS's ids: the course and, per assignment or exam id, the LMS's assignment."""
    course_id: int | str | None = None
    assignments: dict[str, int | str] = field(default_factory=dict)


@dataclass(frozen=True)
class Course:
    """A course folder.

    ``root`` holds ``convgrade.toml`` (for the bundled examples: the folder the examples are
    read from); ``assignments_dir`` holds one sub-folder per assignment or exam. ``bundled`` is
    True for the example course shipped with convgrade, which ``convgrade new`` never writes to.
    """
    root: Path
    name: str
    assignments_dir: Path
    lang: str = "en"
    secret_file: Path | None = None
    roster: Path | None = None
    lms: dict[str, LmsIds] = field(default_factory=dict)
    bundled: bool = False

    def ids(self, manifest: str = "assignment.toml") -> list[str]:
        """Sorted ids of the sub-folders of ``assignments/`` that hold ``manifest``."""
        if not self.assignments_dir.is_dir():
            return []
        return sorted(p.name for p in self.assignments_dir.iterdir() if (p / manifest).is_file())

    def lms_id(self, lms: str, item_id: str) -> int | str | None:
        """The LMS's id of assignment/exam ``item_id`` (None when convgrade.toml names none)."""
        ids = self.lms.get(lms)
        return ids.assignments.get(item_id) if ids else None

    def describe(self) -> str:
        where = "bundled example course" if self.bundled else str(self.root / COURSE_FILE)
        return f"{self.name} ({where})"


# --------------------------------------------------------------------------- reading convgrade.toml

def _path_value(value, key: str, file: Path) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise CourseError(f"{file}: {key} must be a non-empty string (a path)")
    p = Path(value).expanduser()
    return p if p.is_absolute() else file.parent / p


def _id_value(value, key: str, file: Path):
    if isinstance(value, bool) or not isinstance(value, (int, str)) or value == "":
        raise CourseError(f"{file}: {key} must be an integer or a non-empty string")
    return value


def _lms(doc, file: Path) -> dict[str, LmsIds]:
    if not isinstance(doc, dict):
        raise CourseError(f"{file}: lms must be a table ([lms.canvas], ...)")
    out = {}
    for lms, table in doc.items():
        if lms not in LMS_NAMES:
            raise CourseError(f"{file}: unknown key 'lms.{lms}' (known LMS: {', '.join(LMS_NAMES)})")
        if not isinstance(table, dict):
            raise CourseError(f"{file}: lms.{lms} must be a table")
        for key in table:
            if key not in LMS_KEYS:
                raise CourseError(f"{file}: unknown key 'lms.{lms}.{key}' (known: {', '.join(LMS_KEYS)})")
        course_id = table.get("course_id")
        if course_id is not None:
            course_id = _id_value(course_id, f"lms.{lms}.course_id", file)
        items = table.get("assignments", {})
        if not isinstance(items, dict):
            raise CourseError(f"{file}: lms.{lms}.assignments must be a table (assignment id = LMS id)")
        ids = {str(k): _id_value(v, f"lms.{lms}.assignments.{k}", file) for k, v in items.items()}
        out[lms] = LmsIds(course_id, ids)
    return out


def load_course(folder: str | Path) -> Course:
    """The course whose ``convgrade.toml`` is in ``folder`` (or is ``folder`` itself)."""
    folder = Path(folder).expanduser()
    file = folder if folder.name == COURSE_FILE and folder.is_file() else folder / COURSE_FILE
    if not file.is_file():
        raise CourseError(f"{folder} is not a course folder: it has no {COURSE_FILE} "
                          f"(start one with `convgrade init-course {folder}`)")
    file = file.resolve()
    try:
        doc = tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CourseError(f"{file}: invalid TOML: {exc}") from None
    for key in doc:
        if key not in KEYS:
            raise CourseError(f"{file}: unknown key {key!r} (known: {', '.join(KEYS)})")
    name = doc.get("name", file.parent.name)
    if not isinstance(name, str) or not name.strip():
        raise CourseError(f"{file}: name must be a non-empty string")
    lang = doc.get("lang", "en")
    if lang not in LANGS:
        raise CourseError(f"{file}: lang must be one of {', '.join(LANGS)}, got {lang!r}")
    return Course(
        root=file.parent, name=name, assignments_dir=file.parent / ASSIGNMENTS, lang=lang,
        secret_file=_path_value(doc["secret_file"], "secret_file", file) if "secret_file" in doc else None,
        roster=_path_value(doc["roster"], "roster", file) if "roster" in doc else None,
        lms=_lms(doc.get("lms", {}), file),
    )


# --------------------------------------------------------------------------- finding the course

def bundled_assignments_dir() -> Path:
    """The example course's folders: ``grader/_examples`` in a wheel, else the checkout's
    ``assignments/`` beside the package (source tree, editable install)."""
    shipped = _PACKAGE_DIR / "_examples"
    if shipped.is_dir():
        return shipped
    return _PACKAGE_DIR.parent / ASSIGNMENTS


def bundled_course() -> Course:
    """The example course shipped with convgrade (``make demo``, the tests)."""
    folder = bundled_assignments_dir()
    return Course(root=folder.parent, name="convgrade examples", assignments_dir=folder, bundled=True)


def find_course_file(start: str | Path | None = None) -> Path | None:
    """The nearest ``convgrade.toml`` in ``start`` (default: the working directory) or above."""
    here = Path(start if start is not None else os.getcwd()).resolve()
    for d in (here, *here.parents):
        if (d / COURSE_FILE).is_file():
            return d / COURSE_FILE
    return None


def use_course(folder: str | Path | None) -> Course | None:
    """Make ``folder`` the course of this process (``--course DIR``; None: back to the default
    order). Returns the course, checked now so a wrong folder fails before any work."""
    global _override
    if folder is None:
        _override = None
        return None
    course = load_course(folder)
    _override = course.root
    return course


def current_course(start: str | Path | None = None) -> Course:
    """The course commands work in: ``--course`` / ``$CONVGRADE_COURSE``, the nearest
    ``convgrade.toml`` above ``start`` (default: the working directory), the bundled examples."""
    if _override is not None:
        return load_course(_override)
    env = os.environ.get(ENV_COURSE, "").strip()
    if env:
        try:
            return load_course(env)
        except CourseError as exc:
            raise CourseError(f"${ENV_COURSE}: {exc}") from None
    found = find_course_file(start)
    if found is not None:
        return load_course(found)
    return bundled_course()


def resolve_in_course(name_or_path: str | Path, manifest: str, what: str = "assignment") -> Path:
    """The folder of an assignment or exam: ``name_or_path`` itself when it is a folder holding
    ``manifest``, else ``<current course>/assignments/<name>``. Raises :class:`CourseError`
    naming the course searched and the ids it has."""
    p = Path(name_or_path).expanduser()
    if (p / manifest).is_file():
        return p
    course = current_course()
    name = str(name_or_path)
    if name and "/" not in name and name not in (".", ".."):
        q = course.assignments_dir / name
        if (q / manifest).is_file():
            return q
    have = ", ".join(course.ids(manifest)) or "(none)"
    raise CourseError(f"no {what} {name!r}: give a folder with {manifest}, or an id of the course "
                      f"{course.describe()}: {have}")


# --------------------------------------------------------------------------- starting a course

TEMPLATE = '''# convgrade course settings. Every key is optional; an unknown key is an error.
name = "{name}"
lang = "{lang}"                       # default language of feedback and exam papers: "en" or "ru"
# secret_file = "~/.config/convgrade/{slug}.key"   # HMAC key of the hidden inputs; relative paths
#                                     # are from this folder; keep it out of git. CONVGRADE_SECRET wins.
# roster = "roster.csv"               # the class list (CSV with a student column)

# [lms.canvas]                        # LMS ids (canvas, gradescope, moodle, prairielearn)
# course_id = 123456
# [lms.canvas.assignments]            # assignment or exam id = the LMS's id
# a1_first = 987654
'''


def init_course(folder: str | Path, name: str | None = None, lang: str = "en") -> list[Path]:
    """Start a course in ``folder``: ``convgrade.toml`` and an empty ``assignments/``."""
    folder = Path(folder).expanduser()
    if lang not in LANGS:
        raise CourseError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    file = folder / COURSE_FILE
    if file.exists():
        raise CourseError(f"{file} exists already")
    name = name or folder.resolve().name or "course"
    if any(c in name for c in '"\\\n'):
        raise CourseError("the course name may not contain quotes, backslashes or newlines")
    slug = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-") or "course"
    (folder / ASSIGNMENTS).mkdir(parents=True, exist_ok=True)
    file.write_text(TEMPLATE.format(name=name, lang=lang, slug=slug), encoding="utf-8")
    load_course(folder)      # the template must parse
    return [file, folder / ASSIGNMENTS]
