"""The container backend against a real Docker engine (.ci/run's container tier provides one).

These tests run when a Docker engine answers and labkit's image is on the machine or can be
pulled. Elsewhere they skip and say why: no engine (most laptops in a workshop), or an engine
without the image and no registry (a laptop offline, or a CI machine with dockerd and no
registry access). With LABKIT_BACKEND=container, as .ci/run's container tier sets after
building an image from Debian packages (ci/pg-image/), they never skip: a missing engine or
image is then a failure.

Only labkit's public API is used (labkit.postgres, pg.url, pg.stop/start/...); the container is
found through the Docker engine by the port labkit published.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import psycopg2
import pytest

import labkit

FORCED = os.environ.get("LABKIT_BACKEND") == "container"
# labkit's default image, as the README documents it ("Where PostgreSQL comes from")
IMAGE = os.environ.get("LABKIT_PG_IMAGE", "postgres:16-alpine")


def _first_line(exc: BaseException) -> str:
    """The error's type and first line, without addresses (a registry's URL says nothing here)."""
    text = re.split(r"\S+://|\blookup\b", (str(exc).splitlines() or [""])[0])[0].strip().removesuffix(" for").strip()
    return f"{type(exc).__name__}: {text[:120]}"


def why_not_here() -> str | None:
    """None when the container backend can run here, else why not."""
    import docker

    try:
        client = docker.from_env(timeout=5)
        client.ping()
    except Exception as exc:
        return f"no Docker engine answers ({_first_line(exc)}); .ci/run's container tier runs these tests with one"
    try:
        client.images.get(IMAGE)
        return None
    except docker.errors.ImageNotFound:
        pass
    except Exception as exc:
        return f"the Docker engine cannot list images ({_first_line(exc)})"
    finally:
        client.close()
    try:  # a laptop online pulls it once; a pull that cannot reach a registry fails in seconds
        puller = docker.from_env(timeout=300)
        puller.images.pull(IMAGE)
        puller.close()
        return None
    except Exception as exc:
        return (
            f"a Docker engine answers but the image {IMAGE} is not here and cannot be pulled ({_first_line(exc)}); "
            "set LABKIT_PG_IMAGE to an image you have, or run .ci/run, which builds one from Debian packages "
            "(ci/pg-image/) and forces these tests with LABKIT_BACKEND=container"
        )


WHY_NOT = None if FORCED else why_not_here()
pytestmark = [pytest.mark.integration, pytest.mark.skipif(WHY_NOT is not None, reason=WHY_NOT or "")]


def port_of(pg: labkit.Postgres) -> int:
    port = urlsplit(pg.url("psycopg2")).port
    assert port is not None
    return port


def containers_publishing(port: int) -> dict[str, list[str]]:
    """Running containers that publish this host port: id -> host addresses it is bound to."""
    listed = subprocess.run(
        ["docker", "ps", "--no-trunc", "--format", "{{.ID}}\t{{.Ports}}"], capture_output=True, text=True, check=True
    ).stdout
    found: dict[str, list[str]] = {}
    for line in listed.splitlines():
        container_id, _, ports = line.partition("\t")
        for binding in ports.split(", "):
            host, _, rest = binding.rpartition(":")
            if rest.startswith(f"{port}->5432/"):
                found.setdefault(container_id, []).append(host)
    return found


def all_container_ids() -> str:
    return subprocess.run(["docker", "ps", "-aq", "--no-trunc"], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def container_pg() -> Iterator[labkit.Postgres]:
    try:
        pg = labkit.postgres("container")
    except labkit.LabkitError as exc:
        # labkit keeps one server per process, and another test file in this worker may have
        # started one (test_scenarios uses the auto choice): close it, the next caller gets a new one
        if "already has" not in str(exc):
            raise
        labkit.postgres().close()
        pg = labkit.postgres("container")
    yield pg
    pg.close()


def test_port_published_on_loopback_only(container_pg: labkit.Postgres) -> None:
    assert container_pg.backend == "container"
    found = containers_publishing(port_of(container_pg))
    assert len(found) == 1, f"expected one container on port {port_of(container_pg)}: {found}"
    assert next(iter(found.values())) == ["127.0.0.1"]
    assert container_pg.query("select 1") == [(1,)]


def test_stop_start_and_configure(container_pg: labkit.Postgres) -> None:
    container_pg.query("create table if not exists kept (x int)")
    container_pg.stop()
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(container_pg.url("psycopg2").replace("+psycopg2", ""), connect_timeout=2)
    container_pg.start()
    assert container_pg.query("select count(*) from kept") == [(0,)]
    assert container_pg.configure(max_connections=20) == {"max_connections": "20"}
    container_pg.restart()
    assert container_pg.query("show max_connections") == [("20",)]


def test_close_removes_the_container(container_pg: labkit.Postgres) -> None:
    """Last in this module: it closes the module's server."""
    (container_id,) = containers_publishing(port_of(container_pg))
    container_pg.close()
    assert container_id not in all_container_ids()


def test_sigkilled_owner_leaves_no_container() -> None:
    code = textwrap.dedent("""
        import json, sys
        from urllib.parse import urlsplit
        import labkit
        pg = labkit.postgres("container")
        print(json.dumps(urlsplit(pg.url("psycopg2")).port), flush=True)
        sys.stdin.read()
    """)
    owner = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert owner.stdout is not None
    port = json.loads(owner.stdout.readline())
    (container_id,) = containers_publishing(port)
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    deadline = time.monotonic() + 10
    while container_id in all_container_ids():
        assert time.monotonic() < deadline, "the container outlived its SIGKILLed owner by 10 s"
        time.sleep(0.2)
