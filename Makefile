# Two commands a newcomer needs: `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed

export OMP_WAIT_POLICY := PASSIVE

.PHONY: install demo test bench clean

install: $(STAMP)

# torch==2.13.0 goes in first (a CPU build on this machine's disk) so that pip never
# resolves another torch; pyproject keeps torch as a range 2.13.0 satisfies. '.[test]' is every
# extra (instructor, torch, cluster) plus pytest and hypothesis.
$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[test]'
	touch $(STAMP)

demo: install
	$(PY) -m grader demo

# pytest's exit code 5 (no tests collected) is a failure, never a pass. The suite runs on every
# core (pytest-xdist, `-n auto`), each test file on one worker (module fixtures run once), the
# bundled validations and the release path's tests one by one, the longest first (tests/conftest.py). `make test PYTEST_JOBS=0` runs it serially.
PYTEST_JOBS ?= auto
# The project is byte-compiled first: with PYTHONDONTWRITEBYTECODE set (as in some CI shells) every
# CLI a test starts would otherwise compile the grader from source again (a third of a second each).
test: install
	$(PY) -m compileall -q grader reference >/dev/null
	$(PY) -m pytest -q -p no:cacheprovider -n $(PYTEST_JOBS) --dist loadfile --durations=15; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

bench: install
	$(PY) benchmarks/reference_layers.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
