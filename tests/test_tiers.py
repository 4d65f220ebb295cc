"""Every test has exactly one tier: conftest.py stops a run that collects one with none or two,
or a unit test that asks for a PostgreSQL."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

HERE = Path(__file__).parent

PROBE = textwrap.dedent("""
    import pytest

    @pytest.mark.unit
    def test_marked():
        pass

    def test_unmarked():
        pass

    @pytest.mark.unit
    @pytest.mark.integration
    def test_twice():
        pass

    @pytest.mark.unit
    def test_with_a_server(local_pg):
        pass
""")


def test_a_test_without_exactly_one_tier_stops_the_run(tmp_path: Path) -> None:
    # this directory's conftest.py, beside a test module of its own, with none of the repository's options
    shutil.copy(HERE / "conftest.py", tmp_path)
    for plugin in ("learner_copies.py", "scheduling.py"):  # the plugins conftest.py loads
        shutil.copy(HERE / plugin, tmp_path)
    (tmp_path / "test_probe.py").write_text(PROBE)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-m",
            "unit",
            "--collect-only",
            "-q",
            "-p",
            "no:nbval",
            "-p",
            "no:cacheprovider",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    refused = [line.strip() for line in result.stderr.splitlines() if line.startswith("  test_probe.py::")]
    assert refused == [
        "test_probe.py::test_unmarked: no tier",
        "test_probe.py::test_twice: integration, unit",
        "test_probe.py::test_with_a_server: unit, but starts PostgreSQL (local_pg)",
    ]
