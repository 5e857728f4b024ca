"""A Gradescope autograder for a course assignment: ``convgrade gradescope ASSIGNMENT -o autograder.zip``.

The zip (Gradescope's "Autograder Specifications": ``setup.sh`` and ``run_autograder`` at the
root, unpacked to ``/autograder/source``)::

    setup.sh                 installs Python 3.11, the pinned requirements and the wheel (see the script)
    run_autograder           python -m grader.deploy.gradescope --root /autograder
    requirements.txt         name==version of every grading dependency, as installed where it was built
    wheels/convgrade-*.whl   this convgrade (grader + reference), installed with --no-deps
    assignment/              assignment.toml, checks.toml, data (no master notebook, mutants or examples)
    secret                   the course secret (seeds of the hidden inputs), read and deleted per run
    convgrade-deploy.json    assignment id/version, convgrade version, how ids and due dates are read
    README.md                upload, secret rotation, isolation

``run(root)`` is what ``run_autograder`` executes: it grades ``ROOT/submission/`` (a folder: the
one gradeable file in it, or all its files as one zip) as the student named in
``ROOT/submission_metadata.json`` (``users[0]``: ``sid``, else ``email``, else the Gradescope user
id, made filesystem-safe: the same id a ``grade-batch`` of a Gradescope export uses, so a
re-grade there draws the same hidden inputs), with ``created_at`` as the submission time and the
assignment's Gradescope ``due_date`` (or the manifest's, see ``due``) for the manifest's late
policy, and writes ``ROOT/results/results.json``: every row visible, rows with hidden inputs
showing verdict and diagnosis only, the total visible, the isolation level in ``extra_data``.
"""
from __future__ import annotations

import json
import os
import sys
import time
import zipfile
from pathlib import Path

from .bundle import (CONFIG_NAME, PYTHON, SECRET_NAME, TORCH_INDEX, DeployError, assignment_files, build_wheel,
                     config, config_lang, read_config, requirements, take_secret, zip_info)
from .templates import RUN_AUTOGRADER, SETUP_SH

METADATA_MAX_BYTES = 64 << 20        # previous_submissions carries old results: generous, but bounded
DUE_SOURCES = ("gradescope", "manifest")


def schema() -> dict:
    """The JSON schema of Gradescope's results.json (written from the specification)."""
    from .schema import GRADESCOPE_RESULTS_SCHEMA

    return GRADESCOPE_RESULTS_SCHEMA


def validate_results(results: dict) -> None:
    """Raise ``jsonschema.ValidationError`` when ``results`` breaks Gradescope's format."""
    import jsonschema

    jsonschema.validate(results, schema())


def _readme(a, secret: bool) -> str:
    return f"""# Gradescope autograder: {a.title} ({a.id})

Built by convgrade {config(a, 'gradescope')['convgrade']} for assignment version {a.version}.

Upload: Gradescope → the assignment → Configure Autograder → "Zip file upload" → this zip,
base image Ubuntu 22.04 (any Ubuntu works: `setup.sh` installs Python {PYTHON} itself).

* Students submit the notebook or .py files of the release (or a .zip); `run_autograder` grades
  them with every check, including the hidden ones, and writes results.json.
* Rows of checks with hidden inputs are visible: the verdict and the diagnosis, never the inputs.
  `after_due_date` checks appear after the due date. The total is always visible.
* Late policy: the manifest's `[late]` rules applied to Gradescope's submission time and due date.

## The course secret

{"`secret` in this zip is the course secret that seeds every student's hidden inputs." if secret else
 "This assignment has no hidden checks: the zip holds no secret."}
Anyone who can download this zip (course staff on Gradescope) can compute the hidden inputs:
treat the zip like the secret itself. Each run reads the file and deletes it before the
submission starts, so student code cannot read it even where the container allows no sandbox.

Rotating it: `convgrade` reads the secret from `CONVGRADE_SECRET`, `CONVGRADE_SECRET_FILE` or
`~/.config/convgrade/secret`. Write a new one there (e.g. `python -c "import secrets;
print(secrets.token_hex(32))" > ~/.config/convgrade/secret`), build the zip again, upload it and
use "Regrade all submissions": every student gets new hidden inputs, and a later `grade-batch` of
the export with the new secret reproduces the Gradescope scores. Old zips keep the old secret;
delete them.

## Isolation

Gradescope runs the autograder as root in a Docker container. convgrade uses bubblewrap when the
container lets it create namespaces, and otherwise a separate process with rlimits and a
wall-clock kill; every result records the level it got (`convgrade.isolation`, and
`extra_data.isolation`). Check it in the results of a test submission.
"""


def build(assignment, out_zip: Path, *, secret: bytes | None, due: str = "gradescope") -> Path:
    """Write the autograder zip for ``assignment`` to ``out_zip`` and return its path.
    ``secret``: the course secret (required when the assignment has hidden checks)."""
    if due not in DUE_SOURCES:
        raise DeployError(f"due: expected one of {DUE_SOURCES}, got {due!r}")
    hidden = any(not c.visible for c in assignment.checks)
    if hidden and not secret:
        raise DeployError(f"{assignment.id} has hidden checks: the autograder needs the course secret")
    import importlib.metadata as md

    reqs = requirements(assignment)
    wheel_name, wheel = build_wheel(reqs)
    subst = {"@PYTHON@": PYTHON, "@TORCH_INDEX@": TORCH_INDEX, "@PIP@": md.version("pip")}
    setup = SETUP_SH
    for k, v in subst.items():
        setup = setup.replace(k, v)
    cfg = config(assignment, "gradescope", due=due, student_id=["sid", "email", "id"])
    out_zip = Path(out_zip)
    out_zip.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_zip.with_name(f".{out_zip.name}.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zip_info("setup.sh", 0o755), setup)
        z.writestr(zip_info("run_autograder", 0o755), RUN_AUTOGRADER)
        z.writestr(zip_info("requirements.txt"), "\n".join(reqs) + "\n")
        z.writestr(zip_info(f"wheels/{wheel_name}"), wheel)
        for rel, data in assignment_files(assignment):
            z.writestr(zip_info(f"assignment/{rel}"), data)
        if hidden:
            z.writestr(zip_info(SECRET_NAME, 0o600), secret)
        z.writestr(zip_info(CONFIG_NAME), json.dumps(cfg, indent=2) + "\n")
        z.writestr(zip_info("README.md"), _readme(assignment, hidden))
    os.replace(tmp, out_zip)
    return out_zip


# ---------------------------------------------------------------------------------------------- run

def read_metadata(path: Path) -> dict:
    """``submission_metadata.json`` (bounded); ``{}`` when missing or unreadable."""
    try:
        if path.stat().st_size > METADATA_MAX_BYTES:
            return {}
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return meta if isinstance(meta, dict) else {}


def student_of(meta: dict) -> tuple[str, str | None, list[str]]:
    """(student id, name, ids of every group member) from the metadata's ``users``."""
    from grader.roster import safe_id

    ids, name = [], None
    users = meta.get("users") if isinstance(meta.get("users"), list) else []
    for u in users[:64]:
        if not isinstance(u, dict):
            continue
        raw = next((u[k] for k in ("sid", "email", "id") if u.get(k) not in (None, "")), None)
        if raw is None:
            continue
        ids.append(safe_id(str(raw)[:200]))
        if name is None and isinstance(u.get("name"), str):
            name = u["name"][:200]
    return (ids[0] if ids else "anonymous"), name, ids


def run(root: Path, isolation: str = "auto") -> dict:
    """Grade ``root/submission`` and write ``root/results/results.json`` (see the module docstring)."""
    from grader.results import write_json_atomic

    from .grading import grade_folder, parse_time, student_view

    root = Path(root)
    src = root / "source"
    t0 = time.monotonic()
    try:
        cfg = read_config(src)
    except DeployError:
        cfg = {}
    meta = read_metadata(root / "submission_metadata.json")
    student, name, group = student_of(meta)
    secret = take_secret(src / SECRET_NAME)
    assignment_meta = meta.get("assignment") if isinstance(meta.get("assignment"), dict) else {}
    due = parse_time(assignment_meta.get("due_date")) if cfg.get("due", "gradescope") == "gradescope" else None
    results = grade_folder(src / "assignment", root / "submission", student=student, name=name, secret=secret,
                           submitted_at=parse_time(meta.get("created_at")), due=due, isolation=isolation,
                           lang=config_lang(cfg))
    if len(group) > 1:
        results["convgrade"]["group"] = group
    view = student_view(results)
    write_json_atomic(root / "results" / "results.json", view)
    cg = view.get("convgrade", {})
    print(f"convgrade {cg.get('assignment')} for {student}: {view['score']:g} / {view.get('max_score', 0):g} "
          f"in {time.monotonic() - t0:.1f} s, isolation {view['extra_data']['isolation']}"
          + (f"; load error: {cg['load_error']}" if cg.get("load_error") else ""))
    return view


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m grader.deploy.gradescope",
                                description="Grade the Gradescope submission under ROOT (run_autograder).")
    p.add_argument("--root", default=os.environ.get("CONVGRADE_AUTOGRADER_ROOT", "/autograder"))
    p.add_argument("--isolation", choices=["auto", "bwrap", "process"], default="auto")
    args = p.parse_args(argv)
    try:
        run(Path(args.root), args.isolation)
    except Exception as exc:       # never leave Gradescope without a results.json
        import traceback

        from grader.results import write_json_atomic

        traceback.print_exc()
        write_json_atomic(Path(args.root) / "results" / "results.json",
                          {"score": 0.0, "output": f"The autograder failed ({type(exc).__name__}); your instructor "
                                                   f"has the log. This is not your fault.",
                           "visibility": "visible", "stdout_visibility": "hidden", "tests": []})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
