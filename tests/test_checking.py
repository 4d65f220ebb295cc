"""labkit.checking: each helper the scenario checks share, on a real PostgreSQL and real apps where it needs them."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import psycopg2
import psycopg2.extensions
import pytest
from sqlalchemy.engine import make_url

import labkit
from labkit import Postgres, checking
from labkit._postgres._external import ExternalServer
from labkit.checking import Context

pytestmark = pytest.mark.integration  # a real PostgreSQL and real uvicorn apps

LAB_APP = "labkit-checking-test"


def _exists(pg: Postgres, kind: str, name: str) -> bool:
    sql = {
        "database": "select count(*) from pg_database where datname = %s",
        "role": "select count(*) from pg_roles where rolname = %s",
    }[kind]
    return bool(pg.query(sql, name)[0][0])


@pytest.fixture(scope="module")
def pg() -> Iterator[Postgres]:
    """The kernel's server, as the checks get it (labkit.postgres())."""
    yield labkit.postgres()


@pytest.fixture
def lab(pg: Postgres, tmp_path: Path) -> Iterator[labkit.Lab]:
    """00-hello's broken project: GET /health answers, GET /version fails with ObjectNotExecutableError."""
    with labkit.Lab("00-hello", pg=pg, workdir=tmp_path / "00-hello") as lab:
        yield lab


# -- the server --------------------------------------------------------------------------------


def test_controlled_passes_a_server_labkit_started_and_refuses_an_external_one(pg: Postgres) -> None:
    assert checking.controlled(pg) is pg
    external = Postgres(ExternalServer(pg.url("psycopg2").replace("postgresql+psycopg2", "postgresql")), "test")
    try:
        with pytest.raises(AssertionError, match="LABKIT_DATABASE_URL"):
            checking.controlled(external)
    finally:
        external.close()


def test_unreachable_url_points_where_nothing_listens(pg: Postgres) -> None:
    url = checking.unreachable_url(pg, "psycopg2", database="nowhere")
    assert "/nowhere" in url and url != pg.url("psycopg2")
    with pytest.raises(psycopg2.OperationalError, match="refused"):
        psycopg2.connect(url.replace("postgresql+psycopg2", "postgresql"), connect_timeout=3)


def _connect(pg: Postgres, database: str) -> psycopg2.extensions.connection:
    return psycopg2.connect(pg.url("psycopg2", database=database).replace("postgresql+psycopg2", "postgresql"))


def _tables(conn: psycopg2.extensions.connection) -> int:
    with conn.cursor() as cur:
        cur.execute("select count(*) from pg_tables where schemaname = 'public'")
        return int(cur.fetchone()[0])


def test_scratch_database_is_fresh_inside_and_gone_after(pg: Postgres) -> None:
    pg.query('drop database if exists "checking_scratch"')
    pg.query('create database "checking_scratch"')  # left behind by an interrupted run, with a table
    with _connect(pg, "checking_scratch") as conn, conn.cursor() as cur:
        cur.execute("create table leftover (id int)")
    conn.close()
    with checking.scratch_database(pg, "checking_scratch") as name:
        conn = _connect(pg, name)  # left open on purpose: the drop must not wait for it
        assert _tables(conn) == 0
    assert not _exists(pg, "database", "checking_scratch")


def test_scratch_role_logs_in_and_is_dropped_once_its_session_ends(pg: Postgres) -> None:
    with checking.scratch_role(pg, "checking@role", "p@ss/w:rd") as role:
        url = make_url(pg.url("psycopg2"))
        conn = psycopg2.connect(host=url.host, port=url.port, user=role, password="p@ss/w:rd", dbname=url.database)
        assert _exists(pg, "role", role)
        threading.Timer(0.3, conn.close).start()  # the session ends a moment after the block: the drop waits
    assert not _exists(pg, "role", "checking@role")


def test_connection_share_divides_the_usable_connections(pg: Postgres) -> None:
    limit = int(pg.query("show max_connections")[0][0])
    share = checking.connection_share(pg, per_process=3)
    assert share.processes >= 1 and 3 <= share.allowed < 6
    assert share.processes * share.allowed <= limit


def test_peak_connections_sees_the_most_held_at_once(pg: Postgres) -> None:
    running: Future[None] = Future()
    release = threading.Event()

    def hold_three() -> None:
        conns = [checking.own_connection(pg, LAB_APP) for _ in range(3)]
        release.wait(0.5)
        for conn in conns:
            conn.close()
        running.set_result(None)

    threading.Thread(target=hold_three).start()
    assert checking.peak_connections(pg, running, LAB_APP, timeout=10) == 3
    assert pg.connections(LAB_APP, wait_for=0) == 0


def test_process_connections_counts_this_process_own_connection(pg: Postgres) -> None:
    before = checking.process_connections(pg, os.getpid())
    conn = checking.own_connection(pg, LAB_APP)
    try:
        assert checking.process_connections(pg, os.getpid()) == before + 1
        assert pg.connections(LAB_APP) == 1
    finally:
        conn.close()


def test_settle_returns_the_first_good_value_or_the_last_one() -> None:
    values = iter(range(10))
    assert checking.settle(lambda: next(values), lambda n: n >= 3, 5.0, "three") == 3
    assert checking.settle(lambda: 7, lambda n: n == 0, 0.2, "zero") == 7


# -- the app -----------------------------------------------------------------------------------


def test_start_once_serves_asks_and_stops(lab: labkit.Lab) -> None:
    start = checking.start_once(lab, "/health", ready_path="/health")
    assert start.exit_code is None and start.status == 200
    assert "Shutting down" in start.logs  # its shutdown is in the log too


def test_start_once_says_how_an_app_exited(lab: labkit.Lab) -> None:
    (lab.workdir / "app" / "main.py").write_text("raise SystemExit('no configuration')\n")
    start = checking.start_once(lab, ready_path="/health", timeout=20)
    assert start.response is None and start.exit_code not in (None, 0)
    assert "no configuration" in start.logs


def test_outcome_poll_outcome_and_app_error_on_a_real_app(lab: labkit.Lab) -> None:
    srv = lab.serve(ready_path="/health")
    assert checking.outcome(srv, "/health") == "200"
    assert checking.outcome(srv, "/nowhere") == "404"
    assert checking.poll_outcome(srv, "/health", "200", within=2) == ["200"]
    assert checking.poll_outcome(srv, "/nowhere", "200", within=0.5)[-1] == "404"
    since = len(srv.logs())
    assert checking.outcome(srv, "/version") == "500"
    error = checking.app_error(srv, since)
    assert error.startswith("app/main.py:") and "ObjectNotExecutableError" in error
    assert checking.app_error(srv, len(srv.logs()), timeout=0.2) == "(no exception in the app's log)"
    srv.close()
    assert checking.outcome(srv, "/health", timeout=1) == "ConnectError"


def test_on_end_runs_every_cleanup_after_the_apps_stopped(lab: labkit.Lab) -> None:
    ctx = Context(lab)
    srv = lab.serve(ready_path="/health")
    seen: list[str] = []
    ctx.on_end(lambda: seen.append(f"first, app alive: {srv.alive}"))
    ctx.on_end(lambda: [][0])  # a failing cleanup does not stop the others
    ctx.on_end(lambda: seen.append("last registered, run first"))
    lab.close()  # as lab.check does before it ends the context
    with pytest.raises(IndexError):
        ctx.end()
    assert seen == ["last registered, run first", "first, app alive: False"]


def test_serve_on_scratch_database_drops_it_when_the_check_ends(lab: labkit.Lab, pg: Postgres) -> None:
    ctx = Context(lab)
    srv = checking.serve_on_scratch_database(ctx, "checking_served", ready_path="/health")
    assert srv.get("/version").status_code == 500  # the broken route, on the scratch database
    assert _exists(pg, "database", "checking_served")
    lab.close()
    ctx.end()
    assert not _exists(pg, "database", "checking_served")


# -- children and their output -----------------------------------------------------------------


def test_run_json_imports_the_work_dir_app_and_reads_its_result(lab: labkit.Lab, tmp_path: Path) -> None:
    script = tmp_path / "probe.py"
    script.write_text(
        "import json, sys\nimport app.main\n"
        "print('noise')\nprint('RESULT ' + json.dumps({'file': app.main.__file__, 'args': sys.argv[1:]}))\n"
    )
    found = checking.run_json(lab, script, "a", "b", timeout=30)
    assert found == {"file": str(lab.workdir / "app" / "main.py"), "args": ["a", "b"]}


def test_run_json_names_a_child_error_and_a_hang(lab: labkit.Lab, tmp_path: Path) -> None:
    failing = tmp_path / "failing.py"
    failing.write_text("import app.nothing_here\n")
    with pytest.raises(AssertionError, match="failing failed in the work dir: .*ModuleNotFoundError"):
        checking.run_json(lab, failing, timeout=30)
    hanging = tmp_path / "hanging.py"
    hanging.write_text("import time\ntime.sleep(60)\n")
    with pytest.raises(checking.ChildTimeout, match="hanging did not finish within 1 s"):
        checking.run_json(lab, hanging, timeout=1)


PYTEST_FAILED = """\
..F.E
FAILED tests/suite.py::test_b - RuntimeError: Task <Task pending at 0x7f00aa> got Future attached to a different loop
ERROR tests/suite.py::test_e - sqlalchemy.exc.InterfaceError: another operation is in progress
1 failed, 3 passed, 1 error in 0.52s
RUN 1: exit 1, http requests 9, without a started app 0, lifespan startups 7
"""


def test_pytest_summary_reads_pytest_own_last_word() -> None:
    run = checking.pytest_summary(PYTEST_FAILED)
    assert run.finished and not run.ok
    assert run.counts == {"failed": 1, "passed": 3, "errors": 1} and run.passed == 3
    assert run.summary == "1 failed, 3 passed, 1 error in 0.52s"
    assert len(run.failures) == 2 and "0x7f00aa" not in run.failures[0]
    assert checking.pytest_summary("=== 7 passed, 1 warning in 0.31s ===").ok
    crashed = checking.pytest_summary("ImportError while loading conftest\nE   ImportError: no app")
    assert not crashed.finished and crashed.summary == "E   ImportError: no app"


def test_loop_trouble_spots_a_connection_on_another_loop() -> None:
    assert checking.loop_trouble(PYTEST_FAILED)
    assert not checking.loop_trouble("FAILED tests/suite.py::test_a - assert 409 == 201")


def test_load_beside_imports_a_module_next_to_check_py(tmp_path: Path) -> None:
    (tmp_path / "relay.py").write_text("from dataclasses import dataclass\n\n@dataclass\nclass Relay:\n    port: int\n")
    module = checking.load_beside(str(tmp_path / "check.py"), "relay.py")
    assert module.Relay(5).port == 5


# -- evidence in text and files ----------------------------------------------------------------

UVICORN_LOG = """\
INFO:     Started server process [4242]
ERROR:    Exception in ASGI application
Traceback (most recent call last):
  File "/work/x/app/main.py", line 29, in version
    conn.execute("select version()")
sqlalchemy.exc.ObjectNotExecutableError: Not an executable object: 'select version()'
During handling of the above exception, another exception occurred:
sqlalchemy.exc.MissingGreenlet: greenlet_spawn has not been called (Background on this error at: https://x)
TimeoutError
"""


def test_exception_lines_finds_every_exception_and_no_log_line() -> None:
    assert checking.exception_lines(UVICORN_LOG) == [
        "sqlalchemy.exc.ObjectNotExecutableError: Not an executable object: 'select version()'",
        "sqlalchemy.exc.MissingGreenlet: greenlet_spawn has not been called (Background on this error at: https://x)",
        "TimeoutError",
    ]


def test_shows_secret_finds_a_piece_or_the_url_encoded_form() -> None:
    secret = "s3cr/et@pass:word"
    assert checking.shows_secret("url: user:s3cr%2Fet%40pass%3Aword@host", secret)
    assert checking.shows_secret("repr: ...t@pass:w", secret)  # a tail cut by a truncated repr
    assert not checking.shows_secret("password='**********'", secret)


def test_passwords_in_urls_skips_placeholders_and_ignored_files(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "config.py").write_text(
        'URL = "postgresql://app:hunter2@db/app"\nOK = "postgresql://app:${PASSWORD}@db/app"\n'
    )
    (tmp_path / ".env").write_text("DATABASE_URL=postgresql://app:hunter2@db/app\n")
    (tmp_path / ".env.example").write_text("DATABASE_URL=postgresql://app:<password>@db/app\n")
    assert checking.passwords_in_urls(tmp_path) == [".env:1", "app/config.py:1"]
    (tmp_path / ".gitignore").write_text("# local files\n.env\n")
    assert checking.passwords_in_urls(tmp_path) == ["app/config.py:1"]


def test_import_graph_counts_only_imports_that_run_at_import(tmp_path: Path) -> None:
    package = tmp_path / "app"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "config.py").write_text("from app.logger import log\nfrom . import util\n")
    (package / "logger.py").write_text("import app.config\nlog = print\n")
    (package / "util.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import app.config\n"
        "def later():\n    import app.logger\n"
    )
    graph = checking.import_graph(tmp_path)
    assert graph == {
        "app": set(),
        "app.config": {"app.logger", "app.util"},
        "app.logger": {"app.config"},
        "app.util": set(),
    }
    assert checking.find_cycle(graph) == ["app.config", "app.logger", "app.config"]
    (package / "logger.py").write_text("log = print\ndef broken(:\n")  # a learner's typo: no graph to read
    assert checking.import_graph(tmp_path)["app.logger"] == set()
    assert checking.find_cycle(checking.import_graph(tmp_path)) == []
