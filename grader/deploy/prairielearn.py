"""A PrairieLearn external grader for a course assignment: ``convgrade prairielearn ASSIGNMENT -o DIR``.

PrairieLearn's external grading mounts a job folder at ``/grade`` in a Docker image the course
names: the student's files in ``/grade/student``, the question's ``tests/`` in ``/grade/tests``,
the course's ``serverFilesCourse`` entries under ``/grade/serverFilesCourse``, the submission
data in ``/grade/data/data.json``; the entry point must write ``/grade/results/results.json``
(``gradable``, ``score`` in [0, 1], ``message``, ``output``, ``tests[]`` with ``name``,
``description``, ``points``, ``max_points``, ``message``, ``output``). ``DIR`` holds::

    Dockerfile, requirements.txt, wheels/     the grader image: python:3.11-slim + pinned requirements + convgrade
    serverFilesCourse/convgrade/<id>/         run.sh (the entry point), assignment/, secret, convgrade-deploy.json
    questions/<id>/info.json, question.html   a question using it (file upload of the release's notebook)
    README.md                                 what goes where in the course repository

``run(root)`` is the entry point's body: it grades ``ROOT/student`` with every check as student
``data.json``'s ``params.convgrade_student`` when the question sets it, else the variant seed
(``variant_seed``, which PrairieLearn draws per student and variant), and writes
``ROOT/results/results.json``. The score is the fraction of the points; the late policy is
PrairieLearn's own (assessment access rules), so the manifest's is not applied.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from .bundle import (CONFIG_NAME, PYTHON, SECRET_NAME, TORCH_INDEX, DeployError, assignment_files, build_wheel,
                     config, config_lang, read_config, requirements, take_secret)

DATA_MAX_BYTES = 16 << 20
GRADER_DIR = "convgrade"


def _dockerfile(wheel_name: str) -> str:
    return f"""# The convgrade grader image for PrairieLearn external grading (push it to Docker Hub and name
# it in the question's info.json "externalGradingOptions.image").
FROM python:{PYTHON}-slim
RUN apt-get update && apt-get install -y --no-install-recommends bubblewrap && rm -rf /var/lib/apt/lists/*
COPY requirements.txt /opt/convgrade/requirements.txt
COPY wheels/ /opt/convgrade/wheels/
RUN TORCH="$(grep -E '^torch==' /opt/convgrade/requirements.txt || true)"; \\
    if [ -n "$TORCH" ]; then pip install --no-cache-dir --index-url {TORCH_INDEX} "$TORCH"; fi && \\
    pip install --no-cache-dir -r /opt/convgrade/requirements.txt && \\
    pip install --no-cache-dir --no-deps /opt/convgrade/wheels/{wheel_name}
"""


RUN_SH = """#!/bin/sh
# PrairieLearn external grading entry point (info.json: externalGradingOptions.entrypoint).
#   CONVGRADE_PL_ROOT     the /grade folder (default /grade; tests use a temp root)
#   CONVGRADE_PYTHON      the Python with convgrade installed (default: python3 of the image)
#   CONVGRADE_ISOLATION   auto (default) | bwrap | process
HERE="$(cd "$(dirname "$0")" && pwd)"
exec "${CONVGRADE_PYTHON:-python3}" -m grader.deploy.prairielearn --root "${CONVGRADE_PL_ROOT:-/grade}" \\
     --grader "$HERE" --isolation "${CONVGRADE_ISOLATION:-auto}"
"""


def _info_json(a, timeout: int) -> dict:
    return {"uuid": "REPLACE-WITH-A-UUID", "title": a.title, "topic": "Autograded notebook", "tags": ["convgrade"],
            "type": "v3", "singleVariant": False, "gradingMethod": "External",
            "externalGradingOptions": {"enabled": True, "image": "YOUR-DOCKERHUB-USER/convgrade-grader",
                                       "serverFilesCourse": [f"{GRADER_DIR}/{a.id}/"],
                                       "entrypoint": f"/grade/serverFilesCourse/{GRADER_DIR}/{a.id}/run.sh",
                                       "timeout": timeout}}


def _question_html(a) -> str:
    names = a.preferred_names or ["solution.ipynb"]
    files = ", ".join(names[:1])
    return f"""<pl-question-panel>
  <p>{a.title}: upload your notebook ({files}) or a .py / .zip. It is graded with every check, the
  hidden ones included; the feedback names what is wrong, never the hidden inputs.</p>
</pl-question-panel>
<pl-file-upload file-patterns="*.ipynb, *.py, *.zip"></pl-file-upload>
<pl-submission-panel>
  <pl-external-grader-results></pl-external-grader-results>
  <pl-file-preview></pl-file-preview>
</pl-submission-panel>
"""


def _readme(a) -> str:
    return f"""# PrairieLearn external grader: {a.title} ({a.id})

1. Build and push the image: `docker build -t YOUR-DOCKERHUB-USER/convgrade-grader .` here, then
   `docker push`, and sync it in PrairieLearn (course → Sync → Docker images).
2. Copy `serverFilesCourse/{GRADER_DIR}/` into your course repository's `serverFilesCourse/` and
   `questions/{a.id}/` into `questions/`; give info.json a fresh UUID and your image name.
3. Student ids: PrairieLearn does not pass the user to the grader. Hidden inputs are seeded from
   `params.convgrade_student` when the question's `server.py` sets it, else from the
   `variant_seed` (fresh per student and variant).
4. The secret (`serverFilesCourse/{GRADER_DIR}/{a.id}/secret`) lives in the course repository,
   which course staff can read; to rotate it, build this folder again with a new course secret,
   commit, sync and regrade. The entry point deletes its copy inside the job before grading.
5. Isolation: bubblewrap when the container allows namespaces, else a separate process with
   rlimits; every result records it (`output` ends with the level).
"""


def build(assignment, out_dir: Path, *, secret: bytes | None, timeout: int | None = None) -> list[Path]:
    """Write the PrairieLearn grader files for ``assignment`` into ``out_dir``; return them."""
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise DeployError(f"{out_dir} exists and is not empty")
    hidden = any(not c.visible for c in assignment.checks)
    if hidden and not secret:
        raise DeployError(f"{assignment.id} has hidden checks: the grader needs the course secret")
    reqs = requirements(assignment)
    wheel_name, wheel = build_wheel(reqs)
    wall = float(assignment.limits.get("wall_s", 60.0))
    timeout = int(timeout or max(60, 1.5 * wall + 60))
    grader = out_dir / "serverFilesCourse" / GRADER_DIR / assignment.id
    files: dict[Path, bytes] = {
        out_dir / "Dockerfile": _dockerfile(wheel_name).encode(),
        out_dir / "requirements.txt": ("\n".join(reqs) + "\n").encode(),
        out_dir / "wheels" / wheel_name: wheel,
        out_dir / "README.md": _readme(assignment).encode(),
        grader / "run.sh": RUN_SH.encode(),
        grader / CONFIG_NAME: (json.dumps(config(assignment, "prairielearn"), indent=2) + "\n").encode(),
        out_dir / "questions" / assignment.id / "info.json": (json.dumps(_info_json(assignment, timeout), indent=2)
                                                              + "\n").encode(),
        out_dir / "questions" / assignment.id / "question.html": _question_html(assignment).encode(),
    }
    for rel, data in assignment_files(assignment):
        files[grader / "assignment" / rel] = data
    if hidden:
        files[grader / SECRET_NAME] = secret
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (grader / "run.sh").chmod(0o755)
    if hidden:
        (grader / SECRET_NAME).chmod(0o600)
    return sorted(files)


# ---------------------------------------------------------------------------------------------- run

def read_data(path: Path) -> dict:
    try:
        if path.stat().st_size > DATA_MAX_BYTES:
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def student_of(data: dict) -> str:
    """The id that seeds the hidden inputs: ``params.convgrade_student``, else ``pl-<variant_seed>``."""
    from grader.roster import safe_id

    params = data.get("params") if isinstance(data.get("params"), dict) else {}
    chosen = params.get("convgrade_student")
    if isinstance(chosen, (str, int)) and not isinstance(chosen, bool) and str(chosen):
        return safe_id(str(chosen)[:200])
    seed = data.get("variant_seed")
    if isinstance(seed, (str, int)) and not isinstance(seed, bool) and str(seed):
        return safe_id(f"pl-{str(seed)[:200]}")
    return "anonymous"


def prairielearn_results(results: dict) -> dict:
    """A convgrade results dict (the student's view) -> PrairieLearn's results.json."""
    cg = results.get("convgrade") if isinstance(results.get("convgrade"), dict) else {}
    max_score = float(results.get("max_score") or 0.0)
    score = float(results.get("score") or 0.0)
    frac = min(1.0, max(0.0, score / max_score)) if max_score > 0 else 0.0
    tests = []
    for t in results.get("tests", []):
        if t.get("visibility") not in ("visible", None):      # after_due_date rows: not shown on PrairieLearn
            continue
        tests.append({"name": str(t.get("name", "")), "description": f"check {t.get('number', '')}".strip(),
                      "points": float(t.get("score", 0.0)), "max_points": float(t.get("max_score", 0.0)),
                      "message": "passed" if t.get("status") == "passed" else "failed",
                      "output": str(t.get("output", ""))})
    iso = (results.get("extra_data") or {}).get("isolation", "none")
    gradable = not cg.get("batch_error")
    return {"gradable": bool(gradable), "score": round(frac, 6), "message": str(results.get("output", "")),
            "output": f"convgrade {cg.get('grader_version') or ''} · isolation: {iso}", "tests": tests}


def run(root: Path, grader_dir: Path, isolation: str = "auto") -> dict:
    """Grade ``root/student`` and write ``root/results/results.json`` (see the module docstring)."""
    from grader.results import write_json_atomic

    from .grading import grade_folder, student_view

    root, grader_dir = Path(root), Path(grader_dir)
    t0 = time.monotonic()
    try:
        cfg = read_config(grader_dir)
    except DeployError as exc:
        out = {"gradable": False, "score": 0.0, "message": f"The grader is misconfigured: {exc}", "tests": []}
        write_json_atomic(root / "results" / "results.json", out)
        return out
    data = read_data(root / "data" / "data.json")
    student = student_of(data)
    secret = take_secret(grader_dir / SECRET_NAME)
    results = student_view(grade_folder(grader_dir / "assignment", root / "student", student=student,
                                        secret=secret, isolation=isolation, lang=config_lang(cfg)))
    out = prairielearn_results(results)
    write_json_atomic(root / "results" / "results.json", out)
    print(f"convgrade for {student}: score {out['score']:.4f} in {time.monotonic() - t0:.1f} s")
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m grader.deploy.prairielearn",
                                description="Grade the PrairieLearn job under ROOT (the grader's run.sh).")
    p.add_argument("--root", default=os.environ.get("CONVGRADE_PL_ROOT", "/grade"))
    p.add_argument("--grader", required=True, help="serverFilesCourse/convgrade/<assignment> inside the job")
    p.add_argument("--isolation", choices=["auto", "bwrap", "process"], default="auto")
    args = p.parse_args(argv)
    try:
        run(Path(args.root), Path(args.grader), args.isolation)
    except Exception as exc:       # never leave PrairieLearn without a results.json
        import traceback

        from grader.results import write_json_atomic

        traceback.print_exc()
        write_json_atomic(Path(args.root) / "results" / "results.json",
                          {"gradable": False, "score": 0.0, "tests": [],
                           "message": f"The grader failed ({type(exc).__name__}); your instructor has the log."})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
