"""Find the submissions of a class: a plain folder or a Gradescope export.

A plain folder holds one entry per student:

* a file ``<student>.py`` / ``.ipynb`` / ``.zip`` (any other extension is still a submission:
  it gets a result that says the type is wrong), or
* a subfolder ``<student>/``: its only gradeable file, or — when it holds several — all of its
  files packed into one deterministic zip (``OUT/_staging/<student>.zip``, fixed timestamps and
  order, so the same files always give the same hash) that the loader then picks from with the
  assignment's ``preferred_names``.

A Canvas or Moodle bulk download (every name in the folder in that LMS's form,
:mod:`grader.batch.lms_names`) holds one entry per LMS user instead, named after the roster row
that holds the user (Canvas's ``canvas_id``, Moodle's full ``name``), else after the download's
name; a user's several files are packed under the names they were uploaded with.

A Gradescope export ("Download Submissions") is a folder with ``submission_metadata.yml`` and
one folder ``submission_<id>/`` per submission. The metadata maps ``submission_<id>`` to
``:submitters:`` (``:name:``, ``:sid:``, ``:email:``) and ``:created_at:`` (the submission
time). A group submission is graded once and each submitter gets the result. The export may
also be given as its ``.zip``; it is then unpacked safely into ``OUT/_staging/export/``.

Student ids become folder names under OUT: Gradescope's ``:sid:`` (else the e-mail, else the
submission id), a plain folder's file stem or subfolder name; characters other than letters,
digits and ``_.@+-`` are replaced by ``_`` and a leading ``.``/``_`` is dropped
(:func:`grader.roster.safe_id`, which also keeps ids off the names of OUT's own files).

Everything inside SUBMISSIONS except the export's own metadata is the students', so nothing in it
steers discovery or aborts it:

* only the ``submission_metadata.yml`` at the root the TA named (or, for an export zip, at the
  root of the zip or of its one top-level folder) makes SUBMISSIONS an export; one inside a
  student's folder is just one of that student's files;
* a metadata key is a plain submission id (letters, digits, ``_.-``), resolved inside the export
  root; ``..``, absolute paths, separators and symlinks (or anything resolving outside the root)
  make that entry a load error with the reason, as does a submission without submitters or with
  an unreadable time; unsafe names inside an export zip (absolute, ``..``, links) are not
  unpacked and the submission they belong to gets a load error;
* two submissions whose ids give the same folder name are both graded, each under a distinct
  folder name (``<id>.dup-<hash of where it came from>``) with a note saying why: no submission
  takes over another's folder and the batch never stops for it.

Submission times: Gradescope's ``:created_at:``; for a plain folder, a ``submitted_at`` column
of the roster (ISO 8601; without an offset it is UTC). A file's modification time is *not* a
submission time (copying resets it), so without either the submission is treated as on time.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

from grader.batch.lms_names import parse_folder
from grader.i18n import t
from grader.roster import RosterError, roster_by_folder, safe_id
from grader.roster import read_roster as _read_roster_rows

GRADEABLE = (".py", ".ipynb", ".zip")
METADATA = "submission_metadata.yml"
IGNORED = frozenset({"__MACOSX", ".ipynb_checkpoints", "__pycache__", ".DS_Store"})
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
MAX_EXPORT_BYTES = 2 << 30
_PLAIN_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")
REJECTED = ".rejected.json"          # in an unpacked export: the submission folders with unsafe names


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
    error: str | None = None          # why this entry cannot be graded (its row says so)
    lms: dict = field(default_factory=dict)   # {"canvas_id": ...} from a Canvas download's names (the gradebook's)

    @property
    def student(self) -> str:
        return self.members[0].student

    def sha256(self) -> str | None:
        if self.error:
            return None
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
    zipped = src.is_file() and src.suffix.lower() == ".zip"
    if zipped:
        src = _unpack_export(src, staging / "export")
    if not src.is_dir():
        raise DiscoveryError(f"submissions: {str(submissions)!r} is not a folder (or a Gradescope export zip)")
    meta = _find_metadata(src, zipped)
    entries = _gradescope(meta, staging) if meta else _plain_folder(src, staging, roster)
    _disambiguate(entries)
    for e in entries:
        for m in e.members:
            info = roster.get(m.student, {})
            m.name = m.name or info.get("name", "")
            m.email = m.email or info.get("email", "")
        if e.submitted_at is None and not e.error:
            try:
                e.submitted_at = parse_time(roster.get(e.student, {}).get("submitted_at"),
                                            f"roster submitted_at of {e.student}")
            except DiscoveryError as exc:      # the TA's roster: a bad time is a bad input
                raise DiscoveryError(f"roster: {exc}") from None
    return sorted(entries, key=lambda e: e.key)


def _disambiguate(entries: list[Entry]) -> None:
    """Give every student id that appears more than once (two files or folders, or two export
    entries, whose ids map to the same folder name) a distinct, deterministic folder name and a
    note; nobody's result can overwrite another's."""
    where: dict[str, list[str]] = {}
    for e in entries:
        for m in e.members:
            where.setdefault(m.student, []).append(e.origin)
    dups = {s for s, origins in where.items() if len(origins) > 1}
    if not dups:
        return
    taken = set(where)
    for e in entries:
        for i, m in enumerate(e.members):
            if m.student not in dups:
                continue
            base, n = m.student, 0
            h = hashlib.sha256(f"{e.origin}\0{i}".encode("utf-8", "surrogateescape")).hexdigest()
            new = safe_id(f"{base[:100]}.dup-{h[:8]}")
            while new in taken:
                n += 1
                new = safe_id(f"{base[:100]}.dup-{h[:8]}-{n}")
            taken.add(new)
            others = ", ".join(repr(o) for o in where[base])
            e.notes.append(t("loading.duplicate_folder", n=len(where[base]), others=others, base=repr(base),
                             new=repr(new)))
            m.student = new
        e.key = e.members[0].student


# ----------------------------------------------------------------------------------------------
def _plain_folder(src: Path, staging: Path, roster: dict[str, dict] | None = None) -> list[Entry]:
    items = [p for p in sorted(src.iterdir())
             if not (p.name in IGNORED or p.name.startswith(".") or p.is_symlink()) and (p.is_file() or p.is_dir())]
    lms = parse_folder([(p.name, p.is_dir()) for p in items])
    if lms is not None:
        return _lms_download(items, lms, staging, roster or {})
    entries = []
    for p in items:
        if p.is_file():
            student = safe_id(p.stem)
            entries.append(Entry(student, p, [Member(student)], origin=p.name))
        elif p.is_dir():
            student = safe_id(p.name)
            entries.append(Entry(student, _folder_file(p, staging / f"{student}.zip"), [Member(student)],
                                 origin=p.name + "/"))
    return entries


def _lms_download(items: list[Path], names: dict, staging: Path, roster: dict[str, dict]) -> list[Entry]:
    """A Canvas or Moodle bulk download (:mod:`grader.batch.lms_names`): one entry per LMS user,
    their files under the names they uploaded, named after the roster row holding that user
    (Canvas: ``canvas_id``; Moodle: ``name``), else after the name in the download."""
    by_canvas_id = {str(row.get("canvas_id", "")).strip(): key for key, row in roster.items()
                    if str(row.get("canvas_id", "")).strip()}
    by_name: dict[str, list[str]] = {}
    for key, row in roster.items():
        by_name.setdefault(" ".join(str(row.get("name", "")).casefold().split()), []).append(key)
    groups: dict[tuple[str, str], list[Path]] = {}
    for p in items:
        n = names[p.name]
        groups.setdefault((n.lms, n.user), []).append(p)
    entries = []
    for (lms, user), paths in sorted(groups.items()):
        first = names[paths[0].name]
        if lms == "canvas":
            found = by_canvas_id.get(user)
        else:
            match = by_name.get(" ".join(first.name.casefold().split()), [])
            found = match[0] if len(match) == 1 else None
        student = found or safe_id(first.name)
        origin = ", ".join(p.name for p in paths)
        said = {"lms": "Canvas" if lms == "canvas" else "Moodle", "files": origin[:300], "user": user}
        notes = [t("loading.lms_matched", student=repr(student), **said) if found else
                 t("loading.lms_unmatched", **said)]
        if any(names[p.name].late for p in paths):
            notes.append(t("loading.lms_late"))
        files = []
        for p in paths:
            if p.is_dir():
                files += [(PurePosixPath(*f.relative_to(p).parts).as_posix(), f) for f in _files_in(p)]
            else:
                files.append((names[p.name].file or p.name, p))
        if len(paths) == 1 and paths[0].is_file():
            path = paths[0]                      # its suffix is the uploaded file's
        elif len(files) == 1:
            path = files[0][1]
        else:
            # named after the LMS user, never the student id: two users can share a name
            path = _pack(sorted(files), staging / f"{lms}-{user}.zip") if files else paths[0]
        entries.append(Entry(student, path, [Member(student)], origin=origin[:200], notes=notes,
                             lms={"canvas_id": user} if lms == "canvas" else {}))
    return entries


def _pack(files: list[tuple[str, Path]], packed: Path) -> Path:
    """``files`` (name in the zip, path), in the caller's order, packed into ``packed`` with fixed
    timestamps, so the same files always give the same bytes (and hash); of two equal names the
    first wins."""
    buf = io.BytesIO()
    seen = set()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, p in files:
            if name in seen:
                continue
            seen.add(name)
            info = zipfile.ZipInfo(name, _ZIP_TIME)
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


def _files_in(folder: Path) -> list[Path]:
    out = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if any(part in IGNORED or part.startswith(".") for part in rel.parts):
            continue
        if p.is_file() and not p.is_symlink() and _inside(folder, p):
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
    return _pack([(str(PurePosixPath(*p.relative_to(folder).parts)), p) for p in files], packed)


def _find_metadata(src: Path, zipped: bool = False) -> Path | None:
    """The export's own metadata: at the root the TA named, or, for an unpacked export zip, in
    its one top-level folder. Never in a student's folder of a class folder."""
    own = src / METADATA
    if own.is_file() and not own.is_symlink():
        return own
    if not zipped:
        return None
    tops = [p for p in src.iterdir() if p.name not in IGNORED and not p.name.startswith(".")]
    if len(tops) == 1 and tops[0].is_dir() and not tops[0].is_symlink():
        inner = tops[0] / METADATA
        if inner.is_file() and not inner.is_symlink():
            return inner
    return None


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


def _inside(root: Path, path: Path) -> bool:
    try:
        path.resolve(strict=False).relative_to(root.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def _submission_path(root: Path, folder: str, rejected: dict) -> tuple[Path | None, str | None]:
    """(path, None) of the export entry ``folder``, or (None, why not)."""
    if not _PLAIN_KEY.fullmatch(folder) or folder in (".", ".."):
        return None, (f"the export lists the submission {folder[:80]!r}, which is not a plain submission "
                      f"id (a path, '..' or odd characters): it was not read")
    if folder in rejected:
        return None, (f"the submission held a file with an unsafe name ({rejected[folder][:80]!r}: an absolute "
                      f"path, '..' or a link); it was not unpacked")
    path = root / folder
    if not path.exists() and not path.is_symlink():
        # Gradescope also exports single-file submissions as files named after the folder key
        cands = [p for p in sorted(root.iterdir()) if p.name.startswith(folder + ".") and p.suffix
                 and p.name[len(folder) + 1:] == p.suffix[1:]]
        if not cands:
            return None, "the export has no files for this submission"
        path = cands[0]
    if path.is_symlink() or not _inside(root, path):
        return None, "the submission is a link (or resolves outside the export); it was not read"
    return path, None


def _gradescope(meta_path: Path, staging: Path) -> list[Entry]:
    root = meta_path.parent
    meta = parse_metadata(meta_path)
    try:
        rejected = json.loads((root / REJECTED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        rejected = {}
    rejected = rejected if isinstance(rejected, dict) else {}
    entries = []
    for folder, info in sorted(meta.items()):
        submitters = info.get("submitters") or []
        problems = []
        if not isinstance(submitters, list) or not submitters:
            problems.append("the export lists no :submitters: for it")
            submitters = []
        members = []
        for s in submitters:
            if not isinstance(s, dict):
                problems.append("a submitter in the export is not a mapping")
                continue
            raw = s.get("sid") or s.get("email") or folder
            members.append(Member(safe_id(str(raw)), str(s.get("name") or "")[:200],
                                  str(s.get("email") or "")[:200]))
        if not members:
            members = [Member(safe_id(folder))]
        path, why = _submission_path(root, folder, rejected)
        if why:
            problems.append(why)
        try:
            created = parse_time(info.get("created_at"), f"{folder} :created_at:")
        except DiscoveryError as exc:
            created = None
            problems.append(f"{exc} (the submission time is unknown)")
        if path is not None and path.is_dir() and not problems:
            path = _folder_file(path, staging / f"{members[0].student}.zip")
        notes = [f"group submission with {', '.join(m.student for m in members)}"] if len(members) > 1 else []
        entries.append(Entry(members[0].student, path if path is not None else root / ".missing", members,
                             created, origin=folder[:120], notes=notes,
                             error="; ".join(problems) if problems else None))
    return entries


def _unsafe_member(i: zipfile.ZipInfo) -> bool:
    name = PurePosixPath(i.filename.replace("\\", "/"))
    mode = (i.external_attr >> 16) & 0o170000
    return (not i.filename or name.is_absolute() or ".." in name.parts or mode == 0o120000
            or ":" in (name.parts[0] if name.parts else "") or "\0" in i.filename)


def _unpack_export(zpath: Path, dest: Path) -> Path:
    """Unpack a Gradescope export zip into ``dest`` (total size capped). Members with unsafe
    names (absolute, ``..``, links, drive letters) are not unpacked; the submission folders they
    were in are listed in ``dest/.rejected.json`` and get a load error. Re-unpacking the same zip
    is skipped."""
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
        rejected: dict[str, str] = {}
        safe = []
        for i in infos:
            if _unsafe_member(i):
                parts = [p for p in PurePosixPath(i.filename.replace("\\", "/")).parts if p not in ("/", "")]
                # the submission folder it was in: submission_<id>/..., or <top>/submission_<id>/...
                for p in parts[:2]:
                    if _PLAIN_KEY.fullmatch(p) and p.startswith("submission_"):
                        rejected.setdefault(p, i.filename)
                        break
                continue
            safe.append(i)
        dest.mkdir(parents=True, exist_ok=True)
        for i in safe:
            target = dest.joinpath(*PurePosixPath(i.filename).parts)
            if i.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(z.read(i))
        # always written (an empty map too), so no stale or uploaded list is ever read
        tops = {PurePosixPath(i.filename).parts[0] for i in safe if PurePosixPath(i.filename).parts}
        for r in [dest] + [dest / t for t in sorted(tops) if (dest / t).is_dir() and not (dest / t).is_symlink()]:
            (r / REJECTED).write_text(json.dumps(rejected), encoding="utf-8")
    stamp.write_text(digest)
    return dest
