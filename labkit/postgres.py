"""``labkit.postgres()``: one real PostgreSQL per kernel, whichever way it comes.

Auto order (guide, section 2): an explicit ``LABKIT_DATABASE_URL``, then a
container when a Docker engine answers, then a local throwaway cluster.
``LABKIT_BACKEND=external|container|local`` forces one.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from typing import Any, Literal

import psycopg2
import psycopg2.extensions

from labkit.errors import LabkitError
from labkit.status_line import StatusLine
from labkit.pg_endpoint import Server
from labkit.pg_url import driver_url

Backend = Literal["external", "container", "local"]
BACKENDS: tuple[Backend, ...] = ("external", "container", "local")
ADMIN_APP = "labkit-admin"


def choose_backend() -> tuple[Backend, str]:
    """Which backend :func:`postgres` would use, and why (also shown by ``labkit env``)."""
    forced = os.environ.get("LABKIT_BACKEND", "").strip().lower()
    if forced and forced != "auto":
        if forced not in BACKENDS:
            raise LabkitError(
                f"LABKIT_BACKEND={forced!r} is not a backend labkit knows.",
                f"Set it to one of {', '.join(BACKENDS)} (or auto), or unset it.",
            )
        if forced == "external" and not os.environ.get("LABKIT_DATABASE_URL"):
            raise LabkitError(
                "LABKIT_BACKEND=external, but LABKIT_DATABASE_URL is not set.",
                "Set LABKIT_DATABASE_URL=postgresql://user:password@host:5432/dbname, or unset LABKIT_BACKEND.",
            )
        return forced, f"LABKIT_BACKEND={forced}"  # type: ignore[return-value]
    if os.environ.get("LABKIT_DATABASE_URL"):
        return "external", "LABKIT_DATABASE_URL is set"
    from labkit.pg_container import docker_client

    try:
        docker_client().close()
        return "container", "a Docker engine answers"
    except LabkitError:
        return "local", "no Docker engine answers, so a local throwaway cluster"


def _make_server(backend: Backend, port: int | None) -> Server:
    if backend == "external":
        from labkit.pg_external import ExternalServer

        return ExternalServer(os.environ["LABKIT_DATABASE_URL"])
    if backend == "container":
        from labkit.pg_container import ContainerServer

        return ContainerServer(port)
    from labkit.pg_local import LocalServer

    return LocalServer(port)


class Postgres:
    """A running PostgreSQL with an admin connection for evidence and control."""

    def __init__(self, server: Server, reason: str) -> None:
        self._server = server
        self.reason = reason
        self._admin: psycopg2.extensions.connection | None = None
        self._lock = threading.Lock()
        self.closed = False
        try:
            self.version = self.query("show server_version")[0][0]
        except psycopg2.Error as exc:
            server.close()
            raise LabkitError(
                f"Cannot reach the {server.backend} PostgreSQL at {server.endpoint.host}:"
                f"{server.endpoint.port}: {str(exc).strip().splitlines()[0]}",
                "Check that the server runs and the URL, user and password are right; "
                "or unset LABKIT_DATABASE_URL to let labkit start a server of its own.",
            ) from None

    @property
    def backend(self) -> Backend:
        return self._server.backend  # type: ignore[return-value]

    def url(self, driver: str = "asyncpg", *, database: str | None = None) -> str:
        """A SQLAlchemy URL, password included, for ``postgresql+<driver>``."""
        return driver_url(self._server.endpoint, driver, database=database).render_as_string(hide_password=False)

    def __repr__(self) -> str:
        shown = driver_url(self._server.endpoint, "asyncpg").render_as_string(hide_password=True)
        state = "closed" if self.closed else f"PostgreSQL {self.version}"
        return f"<Postgres {self.backend} {state} {shown}>"

    # -- evidence -----------------------------------------------------------

    def _connection(self) -> psycopg2.extensions.connection:
        if self.closed:
            raise LabkitError("This Postgres was closed.", "Call labkit.postgres() again for a new one.")
        if self._admin is None or self._admin.closed:
            endpoint = self._server.endpoint
            self._admin = psycopg2.connect(
                host=endpoint.host, port=endpoint.port, user=endpoint.user, password=endpoint.password,
                dbname=endpoint.database, sslmode=endpoint.ssl or "prefer", connect_timeout=5,
                application_name=ADMIN_APP,
            )
            self._admin.autocommit = True
        return self._admin

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Run one statement on the admin connection; rows for a SELECT, [] otherwise.

        A connection broken by a restart or a terminate is replaced once.
        """
        with self._lock:
            for attempt in (1, 2):
                conn = self._connection()
                try:
                    with conn.cursor() as cur:
                        cur.execute(sql, params or None)
                        return cur.fetchall() if cur.description else []
                except (psycopg2.OperationalError, psycopg2.InterfaceError):
                    conn.close()
                    self._admin = None
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    def connections(self, application_name: str | None = None, *, state: str | None = None,
                    wait_for: int | None = None, timeout: float = 5.0) -> int:
        """Client connections in ``pg_stat_activity`` (labkit's own admin one excluded).

        ``state="idle in transaction"`` counts only connections in that state (both its
        plain and its "(aborted)" form): sessions a request forgot to close.
        A backend leaves ``pg_stat_activity`` a few milliseconds after its client closes the
        socket; ``wait_for=n`` polls until the count is ``n`` (or ``timeout`` passes) and
        returns the count then, so "back to baseline" is measured, not raced.
        """
        sql, params = self._client_backends(application_name)
        if state is not None:
            sql += " and state in (%s, %s)"
            params = (*params, state, f"{state} (aborted)")
        return self._poll_count(sql, params, wait_for, timeout)

    def wait_for_idle(self, application_name: str | None = None, *, timeout: float = 3.0) -> int:
        """Wait until every client connection is ``idle``: no statement running, no transaction open.

        That is a pool at rest, each connection handed back. Returns how many were still busy
        when it stopped waiting (0, unless ``timeout`` passed first).
        """
        sql, params = self._client_backends(application_name)
        return self._poll_count(sql + " and state <> 'idle'", params, 0, timeout)

    def wait_for_query(self, application_name: str | None = None, *, timeout: float = 10.0) -> float:
        """Wait until a client connection runs a statement (``state = 'active'``); seconds waited.

        A load started in the background is "on its way" once the app it targets is querying:
        measure from here, not after a guessed sleep, which a slow machine outruns.
        """
        began = time.monotonic()
        while self.connections(application_name, state="active") == 0:
            if time.monotonic() - began > timeout:
                who = f"with application_name {application_name!r} " if application_name else ""
                raise LabkitError(f"No client connection {who}ran a statement within {timeout:g} s.",
                                  "Check that the load reaches the app and the app reaches this database "
                                  "(srv.logs() shows its errors).")
            time.sleep(0.01)
        return time.monotonic() - began

    def _client_backends(self, application_name: str | None) -> tuple[str, tuple[str, ...]]:
        sql = (
            "select count(*) from pg_stat_activity where backend_type = 'client backend' "
            "and pid <> pg_backend_pid()"
        )
        if application_name is None:
            return sql, ()
        return sql + " and application_name = %s", (application_name,)

    def _poll_count(self, sql: str, params: tuple[str, ...], wait_for: int | None, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while True:
            count = int(self.query(sql, *params)[0][0])
            if wait_for is None or count == wait_for or time.monotonic() > deadline:
                return count
            time.sleep(0.02)

    def terminate(self, application_name: str | None = None) -> int:
        """``pg_terminate_backend`` on client connections (not labkit's own); returns how many."""
        sql = (
            "select count(*) filter (where pg_terminate_backend(pid)) from pg_stat_activity "
            "where backend_type = 'client backend' and pid <> pg_backend_pid() "
            "and application_name <> %s"
        )
        if application_name is None:
            return int(self.query(sql, ADMIN_APP)[0][0])
        return int(self.query(sql + " and application_name = %s", ADMIN_APP, application_name)[0][0])

    # -- control --------------------------------------------------------------

    def _drop_admin(self) -> None:
        with self._lock:
            if self._admin is not None:
                self._admin.close()
                self._admin = None

    def stop(self) -> None:
        """Stop the server (fast shutdown); clients see their connections drop."""
        self._drop_admin()
        with StatusLine(f"stopping the {self.backend} PostgreSQL"):
            self._server.stop()

    def start(self) -> None:
        """Start it again on the same port, data kept; returns when it answers."""
        with StatusLine(f"starting the {self.backend} PostgreSQL"):
            self._server.start()

    def restart(self) -> None:
        self.stop()
        self.start()

    def configure(self, **settings: Any) -> dict[str, str]:
        """``ALTER SYSTEM SET`` each setting, then reload or restart as each needs.

        Returns the values now in force, e.g. ``pg.configure(max_connections=20)``.
        """
        if not self._server.controllable:
            self._server.stop()  # raises the external backend's explanation
        needs_restart = False
        before: dict[str, str] = {}
        for name, value in settings.items():
            row = self.query("select context, current_setting(name) from pg_settings where name = %s", name)
            if not row:
                raise LabkitError(f"PostgreSQL has no setting named {name!r}.", "Check the spelling (pg_settings lists them).")
            self.query(f"alter system set {name} = %s", str(value))
            needs_restart |= row[0][0] == "postmaster"
            before[name] = row[0][1]
        if needs_restart:
            self.restart()
        else:
            self.query("select pg_reload_conf()")
            # the reload reaches each session asynchronously: wait until ours sees it
            changed = [n for n, v in settings.items() if str(v) != before[n]]
            deadline = time.monotonic() + 2.0
            while changed and time.monotonic() < deadline:
                changed = [n for n in changed if self.query(f"show {n}")[0][0] == before[n]]
                time.sleep(0.01)
        return {name: self.query(f"show {name}")[0][0] for name in settings}

    def close(self) -> None:
        """Stop the server labkit started and remove its data; an external one is left alone."""
        if self.closed:
            return
        self._drop_admin()
        self._server.close()
        self.closed = True


_current: Postgres | None = None
_current_lock = threading.Lock()


def postgres(backend: Backend | None = None, *, port: int | None = None) -> Postgres:
    """The kernel's PostgreSQL: started on first call, the same object afterwards."""
    global _current
    with _current_lock:
        if _current is not None and not _current.closed:
            if backend is not None and backend != _current.backend:
                raise LabkitError(
                    f"This kernel already has a {_current.backend} PostgreSQL; labkit keeps one per kernel.",
                    f"Call pg.close() first, then labkit.postgres({backend!r}).",
                )
            return _current
        if backend is None:
            chosen, reason = choose_backend()
        else:
            chosen, reason = backend, f"asked for {backend!r}"
        if chosen not in BACKENDS:
            raise LabkitError(f"Unknown backend {chosen!r}.", f"Use one of {', '.join(BACKENDS)}.")
        try:
            with StatusLine(f"starting a {chosen} PostgreSQL"):
                server = _make_server(chosen, port)
        except LabkitError as exc:
            if chosen != "container" or not reason.startswith("a Docker engine"):
                raise
            # auto mode only: a Docker without the image is no reason to stop a learner
            with StatusLine("starting a local PostgreSQL instead"):
                server = _make_server("local", port)
            reason = f"a Docker engine answers but the container failed ({exc.problem}); a local cluster instead"
        _current = Postgres(server, reason)
        return _current


@atexit.register
def _close_at_exit() -> None:
    if _current is not None:
        _current.close()
