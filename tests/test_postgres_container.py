"""The container backend against a real Docker engine (.ci/run's container tier provides one)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import psycopg2
import pytest

from labkit._errors import LabkitError
from labkit._postgres._container import ContainerServer, docker_client
from labkit._postgres import Postgres


def engine_answers() -> bool:
    try:
        docker_client().close()
        return True
    except LabkitError:
        return False


pytestmark = [pytest.mark.integration, pytest.mark.skipif(
    os.environ.get("LABKIT_BACKEND") != "container" and not engine_answers(),
    reason="no Docker engine answers here; .ci/run's container tier runs these tests with one",
)]


@pytest.fixture(scope="module")
def container_pg() -> Iterator[Postgres]:
    pg = Postgres(ContainerServer(), "tests")
    yield pg
    pg.close()


def test_port_published_on_loopback_only(container_pg: Postgres) -> None:
    server = container_pg.server
    assert isinstance(server, ContainerServer)
    bindings = server.container.get_wrapped_container().attrs["HostConfig"]["PortBindings"]["5432/tcp"]
    assert [b["HostIp"] for b in bindings] == ["127.0.0.1"]
    assert container_pg.query("select 1") == [(1,)]


def test_stop_start_and_configure(container_pg: Postgres) -> None:
    container_pg.query("create table if not exists kept (x int)")
    container_pg.stop()
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(container_pg.url("psycopg2").replace("+psycopg2", ""), connect_timeout=2)
    container_pg.start()
    assert container_pg.query("select count(*) from kept") == [(0,)]
    assert container_pg.configure(max_connections=20) == {"max_connections": "20"}
    container_pg.restart()
    assert container_pg.query("show max_connections") == [("20",)]


def test_close_removes_the_container() -> None:
    pg = Postgres(ContainerServer(), "tests")
    container_id = pg.server.container_id
    pg.close()
    listed = subprocess.run(["docker", "ps", "-aq", "--no-trunc"], capture_output=True, text=True).stdout
    assert container_id not in listed


def test_sigkilled_owner_leaves_no_container() -> None:
    code = textwrap.dedent("""
        import json, sys
        import labkit
        pg = labkit.postgres("container")
        print(json.dumps(pg.server.container_id), flush=True)
        sys.stdin.read()
    """)
    owner = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert owner.stdout is not None
    container_id = json.loads(owner.stdout.readline())
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    deadline = time.monotonic() + 10
    while container_id in subprocess.run(["docker", "ps", "-aq", "--no-trunc"], capture_output=True,
                                         text=True).stdout:
        assert time.monotonic() < deadline, "the container outlived its SIGKILLed owner by 10 s"
        time.sleep(0.2)
