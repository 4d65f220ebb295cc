import subprocess
import sys

import pytest

from labkit import env

pytestmark = pytest.mark.unit


def test_env_report_names_backend_versions_and_reason() -> None:
    report = env()
    assert report.backend in {"local", "container", "external"}
    assert report.reason
    assert report.versions["sqlalchemy"] != "missing"
    assert "Backend:" in str(report) and "sqlalchemy" in str(report)


def test_labkit_env_command_answers() -> None:
    result = subprocess.run([sys.executable, "-m", "labkit", "env"], capture_output=True, text=True, timeout=60)
    assert result.returncode in (0, 1)
    assert result.stdout.startswith("Backend: ")


def test_env_names_the_fix_for_a_bad_backend(monkeypatch) -> None:
    monkeypatch.setenv("LABKIT_BACKEND", "sqlite")
    report = env()
    assert report.backend is None and not report.ok
    assert any("Set it to one of external, container, local" in m for m in report.missing)
