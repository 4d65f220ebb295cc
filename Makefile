# The two commands of the workbook: `make lab` and `make test`.
# Both build .venv from the pinned lock when it is missing or older than the lock, with uv when
# it is on PATH (seconds) and with pip otherwise (about a minute); the same pins either way.
# `make UV= lab` forces pip.

PYTHON ?= python3
UV ?= $(shell command -v uv 2>/dev/null)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-from-lock

.PHONY: lab test test-fast check bench capacity soak lock clean-venv

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed; run: make PYTHON=python3.11 ...")'
	@PYTHON="$(PYTHON)" UV="$(UV)" VENV="$(VENV)" bash tools/venv.sh
	@touch $(STAMP)

# JupyterLab refuses root unless told; containers and CI machines often run as root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root)
# extra arguments for JupyterLab, e.g. LAB_ARGS="--no-browser --port=8890"
LAB_ARGS ?=

lab: $(STAMP)
	@echo "make lab: starting JupyterLab on notebooks/ (Ctrl+C twice to stop); open 00-setup.ipynb first"
	$(BIN)/jupyter lab $(ALLOW_ROOT) $(LAB_ARGS) notebooks/

# Everything: unit, integration, every notebook under nbval and every scenario, on 4 pytest-xdist
# workers (most of a run waits on servers and kernels, so 4 keep 2 cores busy). A unit of work is
# a file, so a notebook's cells run in order in one kernel; tests/scheduling.py splits the browser
# and scenario cases and starts the longest units first. WORKERS= runs everything in one process.
# Workers are asked for here, never in pyproject's addopts: pytest runs that notebooks start inside
# the project (notebook 06 runs its scenario's suite) read addopts too.
# PYTEST_ARGS adds arguments.
WORKERS ?= -n 4 --dist loadfile
PYTEST_ARGS ?=
test: $(STAMP)
	$(BIN)/python -m pytest $(WORKERS) $(PYTEST_ARGS)

# The fast tier: tests marked unit, no notebooks, one process, a few seconds. addopts is
# replaced because it names nbval's options, which -p no:nbval does not know.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m unit -p no:nbval -o addopts="-ra -p no:cacheprovider"

# Lint, format and types (configured in pyproject.toml).
check: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

# N learners at once on this machine: N kernels each running a notebook (benchmarks/capacity.py).
LEARNERS ?= 1 2 4 8 16
capacity: $(STAMP)
	$(BIN)/python benchmarks/capacity.py --learners $(LEARNERS)

# Every notebook under nbval COUNT times: failures and the slowest notebook.
# STRESS=2 runs two busy processes alongside (a loaded machine); ONLY=04 picks notebooks by name
# (deep dives run after their notebook). PG_BIN=/usr/lib/postgresql/15/bin runs on that PostgreSQL,
# BACKEND=container on the container backend, PG_IMAGE=labkit-postgres:17-trixie with that image
# (ci/pg-image/build.sh builds one per major): a cell of the version matrix.
COUNT ?= 10
STRESS ?= 0
ONLY ?=
PG_BIN ?=
BACKEND ?=
PG_IMAGE ?=
soak: $(STAMP)
	$(BIN)/python tools/soak.py $(COUNT) --stress $(STRESS) --only "$(ONLY)" \
		--pg-bin "$(PG_BIN)" --backend "$(BACKEND)" --image "$(PG_IMAGE)"

# Re-resolve the lock after changing the dependencies in pyproject.toml (needs uv), and the
# Binder requirements derived from it.
lock:
	uv pip compile pyproject.toml --extra workbook --extra test --universal --python-version 3.11 -o requirements.lock
	$(MAKE) $(STAMP)
	$(BIN)/python tools/binder_requirements.py

clean-venv:
	rm -rf $(VENV)
