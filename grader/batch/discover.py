"""Find the submissions of a class: a plain folder or a Gradescope export.

A plain folder holds one entry per student:

* a file ``<student>.py`` / ``.ipynb`` / ``.zip`` (any other extension is still a submission:
  it gets a result that says the type is wrong), or
* a subfolder ``<student>/``: its only gradeable file, or — when it holds several — all of its
  files packed into one deterministic zip (``OUT/_staging/<student>.zip``, fixed timestamps and
  order, so the same files always give the same hash) that the loader then picks from with the
  assignment's ``preferred_names``.

A Gradescope export ("Download Submissions") is a folder with ``submission_metadata.yml`` and
one folder ``submission_<id>/`` per submission. The metadata maps ``submission_<id>`` to
``:submitters:`` (``:name:``, ``:sid:``, ``:email:``) and ``:created_at:`` (the submission
time). A group submission is graded once and each submitter gets the result. The export may
also be given as its ``.zip``; it is then unpacked safely into ``OUT/_staging/export/``.

Student ids become folder names under OUT: Gradescope's ``:sid:`` (else the e-mail, else the
submission id), a plain folder's file stem or subfolder name; characters other than letters,
digits and ``_.@+-`` are replaced by ``_`` and a leading ``.``/``_`` is dropped.

Submission times: Gradescope's ``:created_at:``; for a plain folder, a ``submitted_at`` column
of the roster (ISO 8601; without an offset it is UTC). A file's modification time is *not* a
submission time (copying resets it), so without either the submission is treated as on time.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

from grader.roster import RosterError, roster_by_folder, safe_id
from grader.roster import read_roster as _read_roster_rows

GRADEABLE = (".py", ".ipynb", ".zip")
METADATA = "submission_metadata.yml"
IGNORED = frozenset({"__MACOSX", ".ipynb_checkpoints", "__pycache__", ".DS_Store"})
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
MAX_EXPORT_BYTES = 2 << 30


class DiscoveryError(ValueError):
    """SUBMISSIONS (or the roster) cannot be read; the message names what is wrong."""


@dataclass
class Member:
    student: str
    name: str = ""
    email: str = ""


@dataclass
class Entry:
    """One thing to grade: a submission file and the students who get its result."""
    key: str                          # unique job key (the first member's student id)
    path: Path                        # the file handed to the loader
    members: list[Member]
    submitted_at: dt.datetime | None = None
    origin: str = ""                  # where it came from, for messages
    notes: list[str] = field(default_factory=list)

    @property
    def student(self) -> str:
        return self.members[0].student

    def sha256(self) -> str | None:
        try:
            return hashlib.sha256(self.path.read_bytes()).hexdigest()
        except OSError:
            return None


def parse_time(value, what: str = "submitted_at") -> dt.datetime | None:
    """ISO 8601 (or a YAML timestamp, or Gradescope's ``2026-12-08 10:00:00.123456789 -0800``)
    -> aware datetime; no offset means UTC. Empty -> None."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        t = value
    elif isinstance(value, dt.date):
        t = dt.datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip()
        m = re.fullmatch(r"(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(\.\d+)?\s*(Z|[+-]\d\d:?\d\d)?", text)
        if not m:
            raise DiscoveryError(f"{what}: not an ISO 8601 time: {text!r}")
        frac = (m.group(3) or "")[:7]
        tz = m.group(4) or ""
        if tz and tz != "Z" and ":" not in tz:
            tz = tz[:3] + ":" + tz[3:]
        try:
            t = dt.datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}{frac}{'+00:00' if tz == 'Z' else tz}")
        except ValueError:
            raise DiscoveryError(f"{what}: not a valid time: {text!r}") from None
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def read_roster(path) -> dict[str, dict]:
    """Roster CSV (see ``grader.roster``) -> ``{student folder id: row}``; ``name``, ``email``
    and ``submitted_at`` are used here (the gradebook reads the LMS id columns)."""
    try:
        return roster_by_folder(_read_roster_rows(path), path)
    except RosterError as exc:
        raise DiscoveryError(str(exc)) from None


def discover(submissions, staging: Path, roster: dict[str, dict] | None = None) -> list[Entry]:
    """Every submission under ``submissions`` (a folder, a Gradescope export folder or its zip),
    sorted by key. ``staging`` is scratch space for packed folders and unpacked exports.
    Raises DiscoveryError on unusable input (missing folder, bad metadata, duplicate students)."""
    src = Path(submissions)
    roster = roster or {}
    if src.is_file() and src.suffix.lower() == ".zip":
        src = _unpack_export(src, staging / "export")
    if not src.is_dir():
        raise DiscoveryError(f"submissions: {str(submissions)!r} is not a folder (or a Gradescope export zip)")
    meta = _find_metadata(src)
    entries = _gradescope(meta, staging) if meta else _plain_folder(src, staging)
    seen: dict[str, str] = {}
    for e in entries:
        for m in e.members:
            if m.student in seen:
                raise DiscoveryError(f"submissions: student {m.student!r} appears twice "
                                     f"({seen[m.student]} and {e.origin})")
            seen[m.student] = e.origin
            info = roster.get(m.student, {})
            m.name = m.name or info.get("name", "")
            m.email = m.email or info.get("email", "")
        if e.submitted_at is None:
            e.submitted_at = parse_time(roster.get(e.student, {}).get("submitted_at"),
                                        f"roster submitted_at of {e.student}")
    return sorted(entries, key=lambda e: e.key)


# ----------------------------------------------------------------------------------------------
def _plain_folder(src: Path, staging: Path) -> list[Entry]:
    entries = []
    for p in sorted(src.iterdir()):
        if p.name in IGNORED or p.name.startswith(".") or p.is_symlink():
            continue
        if p.is_file():
            student = safe_id(p.stem)
            entries.append(Entry(student, p, [Member(student)], origin=p.name))
        elif p.is_dir():
            student = safe_id(p.name)
            entries.append(Entry(student, _folder_file(p, staging / f"{student}.zip"), [Member(student)],
                                 origin=p.name + "/"))
    return entries


def _files_in(folder: Path) -> list[Path]:
    out = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if any(part in IGNORED or part.startswith(".") for part in rel.parts):
            continue
        if p.is_file() and not p.is_symlink():
            out.append(p)
    return out


def _folder_file(folder: Path, packed: Path) -> Path:
    """The one gradeable file of ``folder``, or all its files packed into ``packed``."""
    files = _files_in(folder)
    gradeable = [p for p in files if p.suffix.lower() in GRADEABLE]
    if len(gradeable) == 1 and len(files) == 1:
        return gradeable[0]
    if len(files) == 1:
        return files[0]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for p in files:
            info = zipfile.ZipInfo(str(PurePosixPath(*p.relative_to(folder).parts)), _ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, p.read_bytes())
    data = buf.getvalue()
    packed.parent.mkdir(parents=True, exist_ok=True)
    if not packed.is_file() or packed.read_bytes() != data:
        tmp = packed.with_name(f".{packed.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(packed)
    return packed


def _find_metadata(src: Path) -> Path | None:
    if (src / METADATA).is_file():
        return src / METADATA
    subs = [p for p in src.iterdir() if p.is_dir() and (p / METADATA).is_file()]
    return subs[0] / METADATA if len(subs) == 1 else None   # the export zip's top folder


class _Loader(yaml.SafeLoader):
    """safe_load, but Ruby tags in Gradescope's YAML (``!ruby/object:BigDecimal``) read as plain
    values instead of failing; nothing is ever constructed from a tag."""


def _plain(loader, suffix, node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_scalar(node)


_Loader.add_multi_constructor("!", _plain)


def parse_metadata(path: Path) -> dict:
    """``submission_metadata.yml`` -> ``{folder: {"submitters": [...], "created_at": ...}}``
    with the leading colons of the keys removed."""
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DiscoveryError(f"{path.name}: cannot be read: {exc}") from None
    if not isinstance(doc, dict):
        raise DiscoveryError(f"{path.name}: expected a mapping of submission folders")

    def strip(v):
        if isinstance(v, dict):
            return {str(k).lstrip(":"): strip(x) for k, x in v.items()}
        if isinstance(v, list):
            return [strip(x) for x in v]
        return v

    return {str(k): strip(v) for k, v in doc.items() if isinstance(v, dict)}


def _gradescope(meta_path: Path, staging: Path) -> list[Entry]:
    root = meta_path.parent
    meta = parse_metadata(meta_path)
    entries = []
    for folder, info in sorted(meta.items()):
        submitters = info.get("submitters") or []
        if not isinstance(submitters, list) or not submitters:
            raise DiscoveryError(f"{METADATA}: {folder} has no :submitters:")
        members = []
        for s in submitters:
            if not isinstance(s, dict):
                raise DiscoveryError(f"{METADATA}: {folder}: a submitter is not a mapping")
            raw = s.get("sid") or s.get("email") or folder
            members.append(Member(safe_id(str(raw)), str(s.get("name") or ""), str(s.get("email") or "")))
        path = root / folder
        if path.is_dir():
            path = _folder_file(path, staging / f"{members[0].student}.zip")
        elif not path.exists():
            # Gradescope also exports single-file submissions as files named after the folder key
            cands = sorted(root.glob(f"{folder}.*"))
            path = cands[0] if cands else path
        entries.append(Entry(members[0].student, path, members,
                             parse_time(info.get("created_at"), f"{folder} :created_at:"),
                             origin=folder,
                             notes=[f"group submission with {', '.join(m.student for m in members)}"]
                             if len(members) > 1 else []))
    return entries


def _unpack_export(zpath: Path, dest: Path) -> Path:
    """Unpack a Gradescope export zip into ``dest`` (names checked: no absolute paths, no ``..``,
    no symlinks; total size capped). Re-unpacking the same zip is skipped."""
    digest = hashlib.sha256(zpath.read_bytes()).hexdigest()
    stamp = dest / ".unpacked"
    if stamp.is_file() and stamp.read_text() == digest:
        return dest
    try:
        z = zipfile.ZipFile(zpath)
    except zipfile.BadZipFile:
        raise DiscoveryError(f"submissions: {zpath.name} is not a valid zip") from None
    with z:
        infos = z.infolist()
        if sum(i.file_size for i in infos) > MAX_EXPORT_BYTES:
            raise DiscoveryError(f"submissions: {zpath.name} unpacks to more than {MAX_EXPORT_BYTES >> 30} GiB")
        for i in infos:
            name = PurePosixPath(i.filename)
            mode = (i.external_attr >> 16) & 0o170000
            if name.is_absolute() or ".." in name.parts or mode == 0o120000:
                raise DiscoveryError(f"submissions: {zpath.name} holds an unsafe entry {i.filename!r}")
        dest.mkdir(parents=True, exist_ok=True)
        for i in infos:
            target = dest.joinpath(*PurePosixPath(i.filename).parts)
            if i.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(z.read(i))
    stamp.write_text(digest)
    return dest
