"""The container backend: PostgreSQL in Docker, through testcontainers.

The port is published on 127.0.0.1 only and the URL is built with that host
(testcontainers may report a bridge gateway instead). Ryuk, testcontainers'
reaper, needs an image from a registry; it is disabled and the watchdog in
:mod:`labkit._cleanup` removes the container instead.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import psycopg2

from labkit import _cleanup
from labkit._errors import LabkitError
from labkit._ports import LOOPBACK, ensure_free, free_port
from labkit._postgres._endpoint import DATABASE, SUPERUSER, Endpoint, new_password
from labkit._waiting import wait_until

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

DEFAULT_IMAGE = "postgres:16-alpine"
READY_TIMEOUT = 60.0


def image() -> str:
    return os.environ.get("LABKIT_PG_IMAGE", DEFAULT_IMAGE)


def docker_client() -> DockerClient:
    """A client for an engine that answers, or a LabkitError that says how to get one."""
    import docker

    try:
        client = docker.from_env(timeout=5)
        client.ping()
        return client
    except Exception as exc:
        raise LabkitError(
            f"No Docker engine answers ({type(exc).__name__}: {str(exc).splitlines()[0][:160]}).",
            "Start Docker (Docker Desktop, or `sudo systemctl start docker`), or unset LABKIT_BACKEND "
            "(or set LABKIT_BACKEND=local) to use a local throwaway server instead.",
        ) from None


class ContainerServer:
    backend = "container"
    controllable = True

    def __init__(self, port: int | None = None) -> None:
        os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
        from testcontainers.community.postgres import PostgresContainer

        self.client = docker_client()
        if port is not None:
            ensure_free(port, "the PostgreSQL container")
        self.endpoint = Endpoint(LOOPBACK, port or free_port(), SUPERUSER, new_password(), DATABASE)
        self.image = image()
        self._ensure_image()
        self.container = PostgresContainer(
            self.image, username=SUPERUSER, password=self.endpoint.password, dbname=DATABASE, driver=None
        )
        # docker-py's (host_ip, port) form; with_bind_ports() takes no host address in 4.15
        self.container.ports["5432"] = (LOOPBACK, self.endpoint.port)  # type: ignore[assignment]
        self.container_id: str | None = None
        try:
            self.container.start()
            self.container_id = str(self.container.get_wrapped_container().id)
            _cleanup.register("container", self.container_id)
            self._wait_ready()
        except BaseException:
            self.close()
            raise

    def _ensure_image(self) -> None:
        import docker

        try:
            self.client.images.get(self.image)
            return
        except docker.errors.ImageNotFound:
            pass
        try:
            self.client.images.pull(self.image)
        except Exception as exc:
            raise LabkitError(
                f"The image {self.image} is not on this machine and could not be pulled "
                f"({type(exc).__name__}: {str(exc).splitlines()[0][:160]}).",
                f"Pull it once with `docker pull {self.image}`, set LABKIT_PG_IMAGE to an image you have, "
                "or set LABKIT_BACKEND=local.",
            ) from None

    def _answers(self) -> bool:
        try:
            psycopg2.connect(
                host=LOOPBACK,
                port=self.endpoint.port,
                user=SUPERUSER,
                password=self.endpoint.password,
                dbname=DATABASE,
                connect_timeout=2,
            ).close()
            return True
        except psycopg2.OperationalError:
            return False

    def _wait_ready(self) -> None:
        wait_until(
            self._answers,
            timeout=READY_TIMEOUT,
            what="the PostgreSQL container to answer",
            fix="Check `docker logs` of the container, or set LABKIT_BACKEND=local.",
            interval=0.1,
        )

    def stop(self) -> None:
        self.container.get_wrapped_container().stop(timeout=10)

    def start(self) -> None:
        wrapped = self.container.get_wrapped_container()
        wrapped.reload()
        if wrapped.status != "running":
            wrapped.start()
        self._wait_ready()

    def close(self) -> None:
        import docker

        wrapped: Container | None = self.container.get_wrapped_container()  # None: start failed before docker run
        if wrapped is None:
            return
        try:
            wrapped.remove(force=True, v=True)
        except docker.errors.NotFound:
            pass
        finally:
            if self.container_id is not None:
                _cleanup.release("container", self.container_id)
            self.container_id = None
