# The two commands of the workbook: `make lab` and `make test`.
# Both build .venv from the pinned lock when it is missing or older than the lock.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-from-lock

.PHONY: lab test bench soak lock clean-venv

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed; run: make PYTHON=python3.11 ...")'
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# JupyterLab refuses root unless told; containers and CI machines often run as root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root)

lab: $(STAMP)
	$(BIN)/jupyter lab $(ALLOW_ROOT) notebooks/

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

# Every notebook under nbval COUNT times: failures and the slowest notebook.
# STRESS=2 runs two busy processes alongside (a loaded machine); ONLY=04 picks notebooks by name.
COUNT ?= 10
STRESS ?= 0
ONLY ?=
soak: $(STAMP)
	$(BIN)/python tools/soak.py $(COUNT) --stress $(STRESS) --only "$(ONLY)"

# Re-resolve the lock after changing the dependencies in pyproject.toml (needs uv).
lock:
	uv pip compile pyproject.toml --extra workbook --extra test --universal --python-version 3.11 -o requirements.lock

clean-venv:
	rm -rf $(VENV)
