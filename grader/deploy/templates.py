"""The scripts of the Gradescope autograder zip (kept as Python strings so an installed convgrade
needs no package data). ``@NAME@`` placeholders are filled by ``grader.deploy.gradescope.build``."""

SETUP_SH = r"""#!/usr/bin/env bash
# convgrade Gradescope autograder: setup.sh (Gradescope runs it once, as root, when it builds the
# autograder image from the uploaded zip; the zip is unpacked in /autograder/source).
#
# Gradescope's default base image is Ubuntu 22.04 with Python 3.10; convgrade needs Python 3.11.
# This script installs python3.11 from the deadsnakes PPA (apt), falling back to `uv python
# install 3.11` when the PPA cannot be added, makes a virtual environment with the pinned
# requirements (torch from PyTorch's CPU index) and installs the convgrade wheel shipped in the
# zip without dependencies. It tries to install bubblewrap too; whether the container lets it
# create namespaces is decided per run and recorded in every result (convgrade.isolation).
#
# Environment (all optional; the defaults are Gradescope's layout):
#   CONVGRADE_AUTOGRADER_ROOT   the /autograder folder                      (default /autograder)
#   CONVGRADE_PYTHON            a Python >= 3.11 to use instead of installing one
#   CONVGRADE_SETUP_OFFLINE=1   install nothing: only check that CONVGRADE_PYTHON (or the venv)
#                               already has convgrade's requirements, and fail if it does not
set -euo pipefail

ROOT="${CONVGRADE_AUTOGRADER_ROOT:-/autograder}"
SRC="$ROOT/source"
VENV="$ROOT/convgrade-venv"
PY_VERSION="@PYTHON@"
TORCH_INDEX="@TORCH_INDEX@"

have_requirements() {   # $1: a python; true when it is >= 3.11 and has every pinned requirement
  "$1" - "$SRC/requirements.txt" <<'EOF'
import importlib.metadata as md, re, sys
if sys.version_info < (3, 11):
    sys.exit(f"{sys.executable} is Python {sys.version.split()[0]}; convgrade needs 3.11")
missing = []
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if not line:
        continue
    name, _, want = line.partition("==")
    try:
        have = md.version(name).split("+")[0]
    except md.PackageNotFoundError:
        missing.append(f"{name} (not installed)")
        continue
    if want and have != want:
        missing.append(f"{name} {have} (pinned {want})")
if missing:
    sys.exit("missing or other versions: " + ", ".join(missing))
EOF
}

if [ "${CONVGRADE_SETUP_OFFLINE:-0}" = "1" ]; then
  PY="${CONVGRADE_PYTHON:-$VENV/bin/python}"
  have_requirements "$PY"
  "$PY" -c "import grader, reference" || { echo "convgrade is not importable by $PY" >&2; exit 1; }
  echo "$PY" > "$ROOT/convgrade-python"
  echo "convgrade setup: offline, using $PY (nothing installed)"
  exit 0
fi

if [ -n "${CONVGRADE_PYTHON:-}" ]; then
  BASE_PY="$CONVGRADE_PYTHON"
elif command -v "python$PY_VERSION" >/dev/null 2>&1; then
  BASE_PY="$(command -v "python$PY_VERSION")"
else
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -y
  apt-get install -y --no-install-recommends software-properties-common gnupg ca-certificates curl
  if add-apt-repository -y ppa:deadsnakes/ppa && apt-get update -y \
     && apt-get install -y --no-install-recommends "python$PY_VERSION" "python$PY_VERSION-venv"; then
    BASE_PY="$(command -v "python$PY_VERSION")"
  else
    curl -LsSf https://astral.sh/uv/install.sh | sh
    "$HOME/.local/bin/uv" python install "$PY_VERSION"
    BASE_PY="$("$HOME/.local/bin/uv" python find "$PY_VERSION")"
  fi
fi
apt-get install -y --no-install-recommends bubblewrap >/dev/null 2>&1 || true

if [ -x "$VENV/bin/python" ] && have_requirements "$VENV/bin/python" 2>/dev/null; then
  echo "convgrade setup: requirements already satisfied in $VENV"
else
  "$BASE_PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --upgrade "pip==@PIP@"
  TORCH_PIN="$(grep -E '^torch==' "$SRC/requirements.txt" || true)"
  if [ -n "$TORCH_PIN" ]; then
    "$VENV/bin/python" -m pip install --index-url "$TORCH_INDEX" "$TORCH_PIN"
  fi
  "$VENV/bin/python" -m pip install -r "$SRC/requirements.txt"
fi
"$VENV/bin/python" -m pip install --no-deps --force-reinstall "$SRC"/wheels/*.whl
echo "$VENV/bin/python" > "$ROOT/convgrade-python"
"$VENV/bin/python" -c "import grader, reference; print('convgrade', grader.__version__, 'ready')"
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# convgrade Gradescope autograder: run_autograder (Gradescope runs it once per submission, in a
# fresh container, with /autograder/submission/ and /autograder/submission_metadata.json filled
# in; it must write /autograder/results/results.json).
#   CONVGRADE_AUTOGRADER_ROOT   the /autograder folder (default /autograder; tests use a temp root)
#   CONVGRADE_ISOLATION         auto (default) | bwrap | process
ROOT="${CONVGRADE_AUTOGRADER_ROOT:-/autograder}"
PY="$(cat "$ROOT/convgrade-python" 2>/dev/null || echo "$ROOT/convgrade-venv/bin/python")"
cd "$ROOT"
exec "$PY" -m grader.deploy.gradescope --root "$ROOT" --isolation "${CONVGRADE_ISOLATION:-auto}"
"""
