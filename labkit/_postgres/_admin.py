"""``Postgres``: a running server with an admin connection for evidence and control.

Evidence (``query``, ``connections``, ``wait_for_idle``, ``wait_for_query``) reads
``pg_stat_activity`` on a connection of labkit's own, named ``labkit-admin`` and never counted.
Control (``stop``, ``start``, ``restart``, ``configure``) works on servers labkit started.
"""

from __future__ import annotations

import threading
import time
import warnings
from types import TracebackType
from typing import Any

import psycopg2
import psycopg2.extensions

from labkit._errors import LabkitError
from labkit._postgres._endpoint import Server
from labkit._postgres._external import refusal
from labkit._postgres._url import driver_url
from labkit._postgres._versions import outside_supported
from labkit._status_line import StatusLine
from labkit._waiting import WaitTimeout, wait_until

ADMIN_APP = "labkit-admin"


class UnsupportedVersion(UserWarning):
    """The server's major version is outside the range the notebooks are verified on."""


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
        self.version_note = outside_supported(self.version)
        if self.version_note:
            warnings.warn(self.version_note, UnsupportedVersion, stacklevel=3)

    @property
    def backend(self) -> str:
        """``"local"``, ``"container"`` or ``"external"``."""
        return self._server.backend

    @property
    def server(self) -> Server:
        """The backend's server object: its endpoint, and for a local one its process and data dir."""
        return self._server

    def __enter__(self) -> Postgres:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

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
                host=endpoint.host,
                port=endpoint.port,
                user=endpoint.user,
                password=endpoint.password,
                dbname=endpoint.database,
                sslmode=endpoint.ssl or "prefer",
                connect_timeout=5,
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

    def connections(
        self,
        application_name: str | None = None,
        *,
        state: str | None = None,
        wait_for: int | None = None,
        timeout: float = 5.0,
    ) -> int:
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
        who = f"with application_name {application_name!r} " if application_name else ""
        wait_until(
            lambda: self.connections(application_name, state="active") > 0,
            timeout=timeout,
            what=f"a client connection {who}to run a statement",
            interval=0.01,
            fix="Check that the load reaches the app and the app reaches this database (srv.logs() shows its errors).",
        )
        return time.monotonic() - began

    def _client_backends(self, application_name: str | None) -> tuple[str, tuple[str, ...]]:
        sql = "select count(*) from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()"
        if application_name is None:
            return sql, ()
        return sql + " and application_name = %s", (application_name,)

    def _poll_count(self, sql: str, params: tuple[str, ...], wait_for: int | None, timeout: float) -> int:
        counts: list[int] = []

        def settled() -> bool:
            counts.append(int(self.query(sql, *params)[0][0]))
            return wait_for is None or counts[-1] == wait_for

        try:
            wait_until(settled, timeout=timeout, what=f"{wait_for} connections")
        except WaitTimeout:
            pass  # the caller judges the count it gets
        return counts[-1]

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
            raise refusal("reconfigure")
        needs_restart = False
        before: dict[str, str] = {}
        for name, value in settings.items():
            row = self.query("select context, current_setting(name) from pg_settings where name = %s", name)
            if not row:
                raise LabkitError(
                    f"PostgreSQL has no setting named {name!r}.", "Check the spelling (pg_settings lists them)."
                )
            self.query(f"alter system set {name} = %s", str(value))
            needs_restart |= row[0][0] == "postmaster"
            before[name] = row[0][1]
        if needs_restart:
            self.restart()
        else:
            self.query("select pg_reload_conf()")

            # the reload reaches each session asynchronously: wait until ours sees it
            def seen() -> bool:
                return all(
                    self.query(f"show {n}")[0][0] != before[n] for n in settings if str(settings[n]) != before[n]
                )

            try:
                wait_until(seen, timeout=2.0, what="the admin session to see the new settings", interval=0.01)
            except WaitTimeout:
                pass  # the values shown below say what is in force
        return {name: self.query(f"show {name}")[0][0] for name in settings}

    def close(self) -> None:
        """Stop the server labkit started and remove its data; an external one is left alone."""
        if self.closed:
            return
        self._drop_admin()
        self._server.close()
        self.closed = True
