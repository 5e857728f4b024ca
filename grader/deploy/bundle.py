"""What every deployment ships: a wheel of convgrade, pinned requirements, the assignment folder
without its authoring files, the course secret and a small config file.

The Gradescope zip and the PrairieLearn folder are both made of these pieces
(``grader.deploy.gradescope``, ``grader.deploy.prairielearn``). Nothing here downloads anything:
the wheel is built from the installed ``grader`` and ``reference`` packages, the pins are the
versions installed on the instructor's machine (the ones the course was validated with).
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import importlib.metadata as md
import io
import json
import re
import zipfile
from pathlib import Path

PACKAGES = ("grader", "reference")
# Authoring material that never leaves the instructor's machine: the master notebook holds the
# solutions, mutants.toml the known mistakes, examples/ hand-written submissions.
AUTHORING_FILES = {"master.ipynb", "mutants.toml"}
AUTHORING_DIRS = {"examples", "__pycache__", ".ipynb_checkpoints"}
# Runtime dependencies that grading does not need inside an autograder container.
NOT_FOR_GRADING = {"dask", "distributed", "dask-jobqueue", "otter-grader", "ipykernel"}
PYTHON = "3.11"                      # the Python convgrade requires (pyproject: requires-python)
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
CONFIG_NAME = "convgrade-deploy.json"
SECRET_NAME = "secret"
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)


class DeployError(ValueError):
    """The deployment cannot be built; the message says why."""


def version() -> str:
    try:
        return md.version("convgrade")
    except md.PackageNotFoundError:
        from grader import __version__

        return __version__


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_names(extras: set[str]) -> list[str]:
    """Names of convgrade's base requirements and of those of ``extras`` (from its metadata)."""
    try:
        reqs = md.requires("convgrade") or []
    except md.PackageNotFoundError:
        reqs = []
    names = []
    for r in reqs:
        spec, _, marker = r.partition(";")
        m = re.search(r"""extra\s*==\s*["']([^"']+)["']""", marker)
        if m and m.group(1) not in extras:
            continue
        name = re.match(r"[A-Za-z0-9_.\-]+", spec.strip())
        if not name:
            continue
        if _norm(name.group(0)) == "convgrade":        # convgrade[data] inside an extra
            inner = re.search(r"\[([^\]]+)\]", spec)
            if inner:
                more = {e.strip() for e in inner.group(1).split(",")} - extras
                if more:
                    names += _requirement_names(extras | more)
            continue
        names.append(name.group(0))
    return names


def requirements(assignment=None) -> list[str]:
    """``name==version`` pins of what grading ``assignment`` needs — convgrade's base
    requirements, the ``data`` extra and, for assignments that allow torch, the ``torch`` extra
    — at the versions installed here (torch without a local ``+cpu`` suffix: setup installs it
    from PyTorch's CPU index). Dask and otter (authoring) are left out."""
    extras = {"data"} | ({"torch"} if assignment is None or assignment.allow_torch else set())
    names = [n for n in _requirement_names(extras) if _norm(n) not in NOT_FOR_GRADING]
    if not names:     # running from a checkout without metadata
        names = ["numpy", "click", "nbformat", "ipython", "pyyaml", "scikit-learn", "mlxtend"] + \
                (["torch"] if "torch" in extras else [])
    pins = []
    for n in sorted(set(names), key=_norm):
        try:
            v = md.version(n)
        except md.PackageNotFoundError:
            raise DeployError(f"{n} is not installed here: install convgrade's dependencies first, the "
                              f"deployment pins the versions this machine grades with") from None
        pins.append(f"{_norm(n)}=={v.split('+')[0]}")
    return pins


def _package_files() -> list[tuple[str, bytes]]:
    import importlib

    out = []
    for pkg in PACKAGES:
        root = Path(importlib.import_module(pkg).__file__).parent
        for p in sorted(root.rglob("*")):
            rel = p.relative_to(root.parent)
            if p.is_file() and not p.is_symlink() and "__pycache__" not in rel.parts and p.suffix != ".pyc":
                out.append((rel.as_posix(), p.read_bytes()))
    return out


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_wheel(requires: list[str]) -> tuple[str, bytes]:
    """(file name, bytes) of a pure-Python wheel of the installed ``grader`` and ``reference``
    packages (PEP 427), with ``requires`` as its Requires-Dist. Deterministic for the same files."""
    ver = version()
    dist = f"convgrade-{ver}.dist-info"
    files = _package_files()
    meta = "\n".join(["Metadata-Version: 2.1", "Name: convgrade", f"Version: {ver}",
                      f"Requires-Python: >={PYTHON}", *(f"Requires-Dist: {r}" for r in requires)]) + "\n"
    files += [(f"{dist}/METADATA", meta.encode()),
              (f"{dist}/WHEEL", b"Wheel-Version: 1.0\nGenerator: convgrade.deploy\nRoot-Is-Purelib: true\n"
                                b"Tag: py3-none-any\n"),
              (f"{dist}/entry_points.txt", b"[console_scripts]\nconvgrade = grader.cli:main\n"),
              (f"{dist}/top_level.txt", "\n".join(PACKAGES).encode() + b"\n")]
    record = "".join(f"{name},{_record_hash(data)},{len(data)}\n" for name, data in files) + f"{dist}/RECORD,,\n"
    files.append((f"{dist}/RECORD", record.encode()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files:
            z.writestr(zip_info(name), data)
    return f"convgrade-{ver}-py3-none-any.whl", buf.getvalue()


def zip_info(name: str, mode: int = 0o644) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, _ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o100000 | mode) << 16
    return info


def assignment_files(assignment) -> list[tuple[str, bytes]]:
    """(relative path, bytes) of the files grading needs: the assignment folder without the master
    notebook, the mutants and examples/ (no solution leaves the instructor's machine)."""
    root = Path(assignment.path)
    out = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if not p.is_file() or p.is_symlink() or rel.name in AUTHORING_FILES or set(rel.parts) & AUTHORING_DIRS:
            continue
        out.append((rel.as_posix(), p.read_bytes()))
    return out


def config(assignment, target: str, **extra) -> dict:
    """The deployment's config file: what was built, and the language results are graded in
    (the course's ``convgrade.toml`` ``lang`` when the bundle is built)."""
    from grader.i18n import default_lang

    return {"target": target, "assignment": assignment.id, "version": assignment.version, "lang": default_lang(),
            "title": assignment.title, "max_score": assignment.max_score, "convgrade": version(),
            "python": PYTHON, "built_at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
            **extra}


def config_lang(cfg: dict) -> str | None:
    """The deployment's language (None when the config does not name a catalogue language)."""
    from grader.i18n import known

    return known(cfg.get("lang")) if isinstance(cfg, dict) else None


def read_config(folder: Path) -> dict:
    try:
        cfg = json.loads((Path(folder) / CONFIG_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DeployError(f"{folder}: no readable {CONFIG_NAME} ({exc})") from None
    if not isinstance(cfg, dict):
        raise DeployError(f"{folder}/{CONFIG_NAME} is not a JSON object")
    return cfg


def take_secret(path: Path) -> bytes | None:
    """Read the course secret shipped with the deployment and delete the file, so that a
    submission running with weaker isolation (no bubblewrap in the container) cannot read it
    afterwards. Each Gradescope/PrairieLearn run starts from a fresh copy of the image, so the
    next submission finds the file again. ``None`` when there is none (a course without hidden
    checks)."""
    try:
        secret = path.read_bytes().strip()
    except OSError:
        return None
    try:
        path.unlink()
    except OSError:
        pass
    return secret or None
