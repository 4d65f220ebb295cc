"""Two notebooks at once, as two learners on one machine: both pass, no port or data-dir clash."""

from __future__ import annotations

import subprocess
import sys

import pytest

from support import ROOT

pytestmark = pytest.mark.integration

PAIR = ("notebooks/00-setup.ipynb", "notebooks/02-lifespan-and-shutdown.ipynb")


def test_two_notebooks_in_parallel() -> None:
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", notebook],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for notebook in PAIR
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    for notebook, run, output in zip(PAIR, runs, outputs, strict=False):
        assert run.returncode == 0, f"{notebook} failed when run beside another notebook:\n{output[-3000:]}"
