"""The local backend against a real server: evidence, control, and what it leaves behind."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import psutil
import psycopg2
import pytest
import sqlalchemy as sa

from labkit import LabkitError, Postgres
from labkit._postgres._local import LocalServer
from support import alive

pytestmark = pytest.mark.integration


def postmaster(pg: Postgres) -> psutil.Process:
    server = pg.server
    assert isinstance(server, LocalServer) and server.process is not None
    return psutil.Process(server.process.pid)


def test_both_drivers_connect(local_pg: Postgres) -> None:
    engine = sa.create_engine(local_pg.url("psycopg2"))
    with engine.connect() as conn:
        assert conn.execute(sa.text("select 1")).scalar() == 1
    engine.dispose()
    assert local_pg.url("asyncpg").startswith("postgresql+asyncpg://postgres:")


def test_connections_and_terminate_count_client_backends(local_pg: Postgres) -> None:
    base = local_pg.connections(wait_for=0)  # earlier tests' backends may still be leaving
    conns = [
        psycopg2.connect(local_pg.url("psycopg2").replace("+psycopg2", ""), application_name="probe") for _ in range(3)
    ]
    assert local_pg.connections() == base + 3
    assert local_pg.connections(application_name="probe") == 3
    assert local_pg.terminate(application_name="probe") == 3
    assert local_pg.connections(application_name="probe", wait_for=0) == 0
    for conn in conns:
        conn.close()


def test_connections_by_state_finds_forgotten_transactions(local_pg: Postgres) -> None:
    url = local_pg.url("psycopg2").replace("+psycopg2", "")
    forgotten, failed, idle = (psycopg2.connect(url, application_name="states") for _ in range(3))
    forgotten.cursor().execute("select 1")  # psycopg2 opens a transaction and leaves it open
    with pytest.raises(psycopg2.errors.DivisionByZero):
        failed.cursor().execute("select 1/0")  # the open transaction is now aborted
    assert local_pg.connections("states", state="idle in transaction", wait_for=2) == 2
    assert local_pg.connections("states", state="idle") == 1
    for conn in (forgotten, failed, idle):
        conn.close()
    assert local_pg.connections("states", wait_for=0) == 0


def test_wait_for_idle_waits_out_open_transactions(local_pg: Postgres) -> None:
    url = local_pg.url("psycopg2").replace("+psycopg2", "")
    busy = psycopg2.connect(url, application_name="resting")
    try:
        busy.cursor().execute("select 1")  # psycopg2 leaves the transaction open: not idle
        assert local_pg.wait_for_idle("resting", timeout=0.2) == 1
        threading.Timer(0.3, busy.rollback).start()
        started = time.monotonic()
        assert local_pg.wait_for_idle("resting") == 0
        assert time.monotonic() - started > 0.25  # it waited for the rollback, not returned at once
    finally:
        busy.close()


def test_wait_for_query_returns_once_a_statement_runs_and_says_so_when_none_does(local_pg: Postgres) -> None:
    url = local_pg.url("psycopg2").replace("+psycopg2", "")
    with pytest.raises(LabkitError, match="a client connection with application_name .sleeper. to run a statement"):
        local_pg.wait_for_query("sleeper", timeout=0.2)
    sleeper = psycopg2.connect(url, application_name="sleeper")
    ended: list[str] = []

    def sleep() -> None:
        try:
            sleeper.cursor().execute("select pg_sleep(30)")
        except psycopg2.Error as exc:  # ended by the terminate below
            ended.append(type(exc).__name__)

    worker = threading.Thread(target=sleep)
    worker.start()
    try:
        local_pg.wait_for_query("sleeper")
        assert local_pg.connections("sleeper", state="active") == 1  # it returned while the statement runs
    finally:
        local_pg.terminate("sleeper")
        worker.join()
        sleeper.close()
    assert ended  # the statement was still running when the test ended it


def test_listens_on_loopback_only_with_a_random_password(local_pg: Postgres, fresh_pg: Postgres) -> None:
    ports = {
        c.laddr.ip
        for c in psutil.net_connections("inet")
        if c.pid == postmaster(local_pg).pid and c.status == psutil.CONN_LISTEN
    }
    assert ports == {"127.0.0.1"}
    assert local_pg.server.endpoint.password != fresh_pg.server.endpoint.password
    assert local_pg.server.endpoint.password not in repr(local_pg)


@pytest.mark.skipif(os.geteuid() != 0, reason="only as root does labkit switch the server's user")
def test_runs_as_an_unprivileged_user_under_root(local_pg: Postgres) -> None:
    assert postmaster(local_pg).uids().effective != 0


def test_stop_start_restart_keep_data_and_port(fresh_pg: Postgres) -> None:
    fresh_pg.query("create table kept (x int)")
    port = fresh_pg.server.endpoint.port
    fresh_pg.stop()
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(fresh_pg.url("psycopg2").replace("+psycopg2", ""), connect_timeout=2)
    fresh_pg.start()
    fresh_pg.restart()
    assert fresh_pg.query("select count(*) from kept") == [(0,)]
    assert fresh_pg.server.endpoint.port == port


def test_configure_restarts_for_postmaster_settings(fresh_pg: Postgres) -> None:
    pid_before = postmaster(fresh_pg).pid
    assert fresh_pg.configure(max_connections=20) == {"max_connections": "20"}
    assert postmaster(fresh_pg).pid != pid_before
    pid_before = postmaster(fresh_pg).pid
    assert fresh_pg.configure(work_mem="8MB") == {"work_mem": "8MB"}
    assert postmaster(fresh_pg).pid == pid_before  # a reload was enough


def test_configure_rejects_unknown_settings(local_pg: Postgres) -> None:
    with pytest.raises(LabkitError, match="no setting named"):
        local_pg.configure(max_conections=20)


def test_too_many_clients_is_the_real_error(fresh_pg: Postgres) -> None:
    fresh_pg.configure(max_connections=5, superuser_reserved_connections=0, reserved_connections=0)
    dsn = fresh_pg.url("psycopg2").replace("+psycopg2", "")
    held = []
    with pytest.raises(psycopg2.OperationalError, match="too many clients already"):
        for _ in range(10):
            held.append(psycopg2.connect(dsn))
    assert len(held) == 4  # five slots, one is labkit's admin connection
    for conn in held:
        conn.close()


def test_close_removes_everything() -> None:
    pg = Postgres(LocalServer(), "tests")
    server = pg.server
    assert isinstance(server, LocalServer)
    root, pid = Path(server.root), postmaster(pg).pid
    pg.close()
    assert not root.exists()
    assert not alive(pid)


def test_port_in_use_is_a_clear_error(local_pg: Postgres) -> None:
    taken = local_pg.server.endpoint.port
    with pytest.raises(LabkitError, match=f"Port {taken} on 127.0.0.1 is already in use"):
        LocalServer(port=taken)
