"""Who handed in what, from the names an LMS gives the files of its bulk download.

* Canvas ("Download Submissions") names every file
  ``<sortable name>_[late_]<user id>_<attachment id>_<original name>``: the name in lower case
  without spaces or punctuation, ``late`` when Canvas marked the submission late, and a
  resubmitted file's original name with ``-1``, ``-2``… before its extension.
* Moodle ("Download all submissions") makes one folder per participant,
  ``<Full Name>_<participant id>_assignsubmission_file_`` (with "Download submissions in
  folders" off: that prefix on each file's name instead).

A folder is read this way only when every entry in it has one LMS's form (a class folder of
``<student>.ipynb`` files is never mistaken for one). Only names are parsed: what a student
uploaded steers nothing else, and two users' files never merge (the user id is part of the key).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_CANVAS = re.compile(r"(?P<name>[^_\s/\\]{1,100})_(?P<late>late_)?(?P<user>\d{1,15})_(?P<attachment>\d{1,15})_"
                     r"(?P<file>.{1,200})", re.IGNORECASE | re.DOTALL)
_MOODLE = re.compile(r"(?P<name>[^_/]{1,200}?)_(?P<user>\d{1,15})_assign(?:submission|feedback)_"
                     r"(?P<plugin>file|onlinetext)_?(?P<file>.{0,200})", re.DOTALL)
_RESUBMITTED = re.compile(r"(?P<stem>.+)-\d{1,3}(?P<ext>\.[A-Za-z0-9]{1,10})")


@dataclass(frozen=True)
class LmsName:
    lms: str           # "canvas" | "moodle"
    user: str          # the LMS's id of the student (Canvas user id, Moodle participant id)
    name: str          # the student's name as the download spells it
    file: str          # the file's name as uploaded ("" for a Moodle folder)
    late: bool = False  # Canvas marked the submission late


def parse(entry_name: str, is_dir: bool) -> LmsName | None:
    """The LMS's reading of one entry of a download folder, or None."""
    m = _MOODLE.fullmatch(entry_name)
    if m and (is_dir or m.group("file")):
        return LmsName("moodle", m.group("user"), m.group("name").strip(), m.group("file"))
    if is_dir:
        return None
    m = _CANVAS.fullmatch(entry_name)
    if m:
        original = m.group("file")
        again = _RESUBMITTED.fullmatch(original)
        if again:
            original = again.group("stem") + again.group("ext")
        return LmsName("canvas", m.group("user"), m.group("name"), original, bool(m.group("late")))
    return None


def parse_folder(entries: list[tuple[str, bool]]) -> dict[str, LmsName] | None:
    """``{entry name: LmsName}`` when every ``(name, is_dir)`` of a folder has the form of one and
    the same LMS, else None (a plain class folder)."""
    if not entries:
        return None
    parsed = {name: parse(name, is_dir) for name, is_dir in entries}
    if any(p is None for p in parsed.values()) or len({p.lms for p in parsed.values()}) != 1:
        return None
    return parsed
