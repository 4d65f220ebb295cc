#!/usr/bin/env bash
# Build or bring up to date .venv from requirements.lock: what `make lab` and `make test` run
# when the lock or pyproject.toml is newer than the environment.
#
# With uv on PATH (UV=path), `uv pip sync` makes the environment hold exactly the lock's pins,
# linked from uv's cache: seconds once the cache is warm, and a lock change updates it in place.
# Without uv, pip installs the same pins into a new venv. Either way the environment holds the
# same packages at the same versions (benchmarks/setup_time.py compares them), plus labkit
# itself, installed editable.
#
# Environment: PYTHON (interpreter, default python3), UV (uv's path, empty for pip), VENV.
set -euo pipefail

PYTHON=${PYTHON:-python3}
UV=${UV:-}
VENV=${VENV:-.venv}
say() { echo "make: $*"; }

# the real interpreter behind a shim (pyenv, asdf): uv and venv both want a path
interpreter=$("$PYTHON" -c 'import sys; print(sys.executable)')
started=$SECONDS
pins=$(grep -c '^[A-Za-z0-9]' requirements.lock)

if [ -n "$UV" ]; then
    say "installing the $pins pins of requirements.lock into $VENV with $("$UV" --version) ..."
    # a venv of another interpreter (make PYTHON=python3.12 ...) is made anew; otherwise updated in place
    have=$("$VENV/bin/python" -c 'import os, sys; print(os.path.realpath(sys._base_executable))' 2>/dev/null || true)
    if [ "$have" != "$("$interpreter" -c 'import os, sys; print(os.path.realpath(sys.executable))')" ]; then
        rm -rf "$VENV"
        # --seed: pip in the environment too, as with python -m venv (a learner's %pip works)
        "$UV" venv --quiet --seed --python "$interpreter" "$VENV"
    fi
    # sync, not install: packages the lock no longer lists are removed (pip and its seeds kept)
    "$UV" pip sync --quiet --python "$VENV/bin/python" --allow-empty-requirements requirements.lock
    "$UV" pip install --quiet --python "$VENV/bin/python" --no-deps -e .
else
    say "installing the $pins pins of requirements.lock into a new $VENV with pip (a few minutes;"
    say "  with uv on PATH this takes seconds: python3 -m pip install --user uv) ..."
    rm -rf "$VENV"
    "$interpreter" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -r requirements.lock
    "$VENV/bin/python" -m pip install --quiet --no-deps -e .
fi
say "$VENV ready in $((SECONDS - started)) s ($("$VENV/bin/python" --version), labkit installed editable)"
