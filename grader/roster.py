"""Class roster CSV files, shared by ``grade-batch``, ``gradebook`` and ``exam build``.

A roster is a UTF-8 CSV file (a byte-order mark is allowed) with a header row. Column names are
matched without regard to case or surrounding spaces. The student id column is the first of the
caller's ``id_columns`` that the header has: ``grade-batch`` and ``gradebook`` require ``student``
(the folder name under OUT; a bare ``id`` there could be an LMS id), ``exam build`` takes the first
of ``id``, ``student_id``, ``student``, ``login``, ``email`` (``EXAM_ID_COLUMNS``). Every other
column is optional and read by whoever needs it:

* ``name``, ``email``, ``submitted_at`` (ISO 8601)     grade-batch (feedback names, late policy)
* ``name``, ``email``, ``section``, ``sis_id``,
  ``login_id``, ``canvas_id``, ``id_number``          gradebook (LMS matching columns)
* ``name``, ``lang`` (``en``/``ru``)                   exam build (paper language)

Rows whose every cell is empty are skipped; a row with data but no student id, a student id
that appears twice or a roster with no students is an error.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

STUDENT_COLUMN = ("student",)
EXAM_ID_COLUMNS = ("id", "student_id", "student", "login", "email")


class RosterError(ValueError):
    """The roster file cannot be used; the message names the file and the line or column."""


# Names of the files a batch writes beside the student folders in OUT (and the exam papers'
# folder): a student id never becomes one of them. Compared case-insensitively.
RESERVED_NAMES = frozenset({"index.json", "summary.html", "similarity.html", "similarity.json", "roster.csv",
                            "results.json", "feedback.md", "feedback.html", "source.py"})
_RESERVED_PATTERN = re.compile(r"(gradebook|summary|similarity|index)([-.].*)?", re.IGNORECASE)


def safe_id(raw: str) -> str:
    """A student id usable as a file or folder name: characters other than letters, digits and
    ``. @ + -`` become ``_``, leading dots and underscores go, at most 120 characters, never
    empty, never one of the names a batch writes into OUT (``index.json``, ``gradebook-*.csv``
    ...: those get a trailing ``_``). ``grade-batch`` names the student folders under OUT with it,
    ``gradebook`` matches roster rows to those folders with it, ``exam build`` names the papers
    with it."""
    s = re.sub(r"[^\w.@+-]", "_", str(raw).strip())
    s = s.lstrip("._")[:120] or "unnamed"
    if s.lower() in RESERVED_NAMES or (_RESERVED_PATTERN.fullmatch(s) and "." in s):
        s = s[:119] + "_"
    return s


def roster_by_folder(rows: list[dict[str, str]], path: str | Path = "") -> dict[str, dict[str, str]]:
    """Roster rows -> ``{safe_id(student): row}``. Two ids that get the same folder name
    (``"a b"`` and ``"a_b"``) are a RosterError naming both."""
    out: dict[str, dict[str, str]] = {}
    for row in rows:
        key = safe_id(row["student"])
        if key in out:
            raise RosterError(f"path: roster {str(path)!r}: students {out[key]['student']!r} and "
                              f"{row['student']!r} get the same folder name {key!r}")
        out[key] = row
    return out


def read_roster(path: str | Path, id_columns: tuple[str, ...] = STUDENT_COLUMN,
                langs: tuple[str, ...] | None = None) -> list[dict[str, str]]:
    """Roster CSV -> one dict per student, in file order.

    Each dict maps the lower-cased, stripped column names to stripped cell values, and
    ``"student"`` to the student id (from the first column of ``id_columns`` the header has). With
    ``langs``, a non-empty ``lang`` cell is lower-cased and must be one of ``langs``.
    Raises RosterError (a ValueError whose message starts with ``path:``) on an unreadable file,
    a header without a student id column, an empty or duplicate id, a bad lang or no students.
    """
    where = f"path: roster {str(path)!r}"
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [c for c in (reader.fieldnames or []) if c]
            cols = {}
            for c in header:
                cols.setdefault(c.strip().lower(), c)
            id_col = next((cols[c] for c in id_columns if c in cols), None)
            if id_col is None:
                raise RosterError(f"{where}: no student id column (one of {', '.join(id_columns)}) in the header")
            rows, seen = [], set()
            for rec in reader:
                line = reader.line_num
                row = {key: (rec.get(col) or "").strip() for key, col in cols.items()}
                if not any(row.values()):
                    continue
                sid = row[id_col.strip().lower()]
                if not sid:
                    raise RosterError(f"{where}, line {line}: empty student id")
                if sid in seen:
                    raise RosterError(f"{where}, line {line}: duplicate student id {sid!r}")
                seen.add(sid)
                if langs is not None and row.get("lang"):
                    row["lang"] = row["lang"].lower()
                    if row["lang"] not in langs:
                        raise RosterError(f"{where}, line {line}: lang must be one of {langs}, got {row['lang']!r}")
                row["student"] = sid
                rows.append(row)
    except OSError as exc:
        raise RosterError(f"{where}: cannot read it: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise RosterError(f"{where} is not UTF-8 text") from None
    except csv.Error as exc:
        raise RosterError(f"{where}: not a valid CSV file: {exc}") from None
    if not rows:
        raise RosterError(f"{where}: no students")
    return rows
