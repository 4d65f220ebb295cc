"""Two notebooks at once, as two learners on one machine: both pass, no port or data-dir clash."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from support import ROOT, copy_notebooks

pytestmark = pytest.mark.integration

PAIR = ("00-setup.ipynb", "02-lifespan-and-shutdown.ipynb")


def test_two_notebooks_in_parallel(tmp_path: Path) -> None:
    # a copy of the notebooks, so that the work/ of these two runs is not the one the suite's own nbval
    # runs of 00 and 02 use (on another pytest-xdist worker, perhaps at the same time)
    notebooks = copy_notebooks(tmp_path / "notebooks")
    env = {**os.environ, "LABKIT_SCENARIOS": str(notebooks / "scenarios")}
    runs = [
        subprocess.Popen(
            # the project's pytest settings (nbval and its sanitizer) for notebooks outside the project
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-c",
                str(ROOT / "pyproject.toml"),
                "--rootdir",
                str(ROOT),
                str(notebooks / notebook),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for notebook in PAIR
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    for notebook, run, output in zip(PAIR, runs, outputs, strict=False):
        assert run.returncode == 0, f"{notebook} failed when run beside another notebook:\n{output[-3000:]}"
        assert " passed" in output and "failed" not in output, output[-3000:]
    assert any((notebooks / "work").iterdir()), "the copies' labs did not work beside the copied scenarios"
