"""What a scenario's ``check.py`` uses: the requirement declaration and the helpers checks share.

A check keeps only its scenario's judgement; how to serve, count, wait and read logs lives here,
once, with tests (``tests/test_checking.py``). Every wait goes through :func:`labkit.wait_until`.

- the server: :func:`controlled` (labkit may stop it), :func:`unreachable_url`,
  :func:`scratch_database`, :func:`scratch_role`, :func:`connection_share`,
  :func:`peak_connections`, :func:`own_connection`, :func:`process_connections`, :func:`settle`
- the app: :func:`start_once`, :func:`serve_on_scratch_database`, :func:`outcome`,
  :func:`poll_outcome`, :func:`app_error`
- children and their output: :func:`run_json` (a script beside check.py that prints
  ``RESULT <json>``), :func:`pytest_summary`, :func:`loop_trouble`, :func:`load_beside`
- evidence in text and files: :func:`exception_lines`, :func:`shows_secret`,
  :func:`passwords_in_urls`, :func:`import_graph`, :func:`find_cycle`

Set-up several requirements share goes through ``ctx.shared``; what must be undone when the check
ends (a scratch database, a relay) goes to ``ctx.on_end``, which ``lab.check`` runs after it has
stopped the apps it started, also after a time-out.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import httpx
import psutil
import psycopg2
import psycopg2.extensions
from sqlalchemy.engine import make_url

from labkit._appserver import AppExited, AppServer
from labkit._import_graph import find_cycle, import_graph, modules_of
from labkit._ports import free_port
from labkit._requirements import _BACKGROUND, _FRAME, Context, Requirement, exception_lines, last_error, requirement
from labkit._waiting import WaitTimeout, wait_until

if TYPE_CHECKING:
    from labkit._lab import Lab
    from labkit._postgres import Postgres

__all__ = [
    "RESULT",
    "ChildTimeout",
    "Context",
    "PytestRun",
    "Requirement",
    "Share",
    "Start",
    "app_error",
    "connection_share",
    "controlled",
    "exception_lines",
    "find_cycle",
    "import_graph",
    "last_error",
    "load_beside",
    "loop_trouble",
    "modules_of",
    "outcome",
    "own_connection",
    "passwords_in_urls",
    "peak_connections",
    "poll_outcome",
    "process_connections",
    "pytest_summary",
    "requirement",
    "run_json",
    "scratch_database",
    "scratch_role",
    "serve_on_scratch_database",
    "settle",
    "shows_secret",
    "start_once",
    "unreachable_url",
]

T = TypeVar("T")
RESULT = "RESULT "  # a child script's last word: this prefix, then one line of JSON

# -- the server ----------------------------------------------------------------------------------


def controlled(pg: Postgres) -> Postgres:
    """``pg``, once it is sure labkit may stop, start and restart it (a server it did not start is left alone)."""
    assert pg.server.controllable, (
        "This check stops and restarts PostgreSQL, which labkit never does to a server it did not start: "
        "unset LABKIT_DATABASE_URL so that labkit starts one of its own."
    )
    return pg


def unreachable_url(pg: Postgres, driver: str = "asyncpg", **parts: Any) -> str:
    """The lab's URL with the port of a loopback address where nothing listens (``parts`` change more)."""
    return make_url(pg.url(driver)).set(port=free_port(), **parts).render_as_string(hide_password=False)


@contextmanager
def scratch_database(pg: Postgres, name: str) -> Iterator[str]:
    """A fresh, empty database ``name`` for the block (one left by an interrupted run is replaced); its name."""
    pg.query(f'drop database if exists "{name}" with (force)')
    pg.query(f'create database "{name}"')
    try:
        yield name
    finally:
        pg.query(f'drop database if exists "{name}" with (force)')


@contextmanager
def scratch_role(pg: Postgres, name: str, password: str) -> Iterator[str]:
    """A login role for the block; dropped once its sessions are gone (an app's pool closes them late)."""
    pg.query(f'drop role if exists "{name}"')
    pg.query(f'create role "{name}" login password %s', password)
    try:
        yield name
    finally:

        def sessions() -> int:
            return int(pg.query("select count(*) from pg_stat_activity where usename = %s", name)[0][0])

        try:
            wait_until(lambda: sessions() == 0, timeout=5, what=f"the sessions of role {name} to end")
        except WaitTimeout:
            pg.query("select pg_terminate_backend(pid) from pg_stat_activity where usename = %s", name)
            wait_until(lambda: sessions() == 0, timeout=5, what=f"the sessions of role {name} to end")
        pg.query(f'drop role if exists "{name}"')


@dataclass(frozen=True)
class Share:
    """How many app processes the check claims, and the connections each may then hold."""

    processes: int
    allowed: int  # (max_connections - reserved slots) // processes


def connection_share(pg: Postgres, per_process: int) -> Share:
    """APP_PROCESSES that leaves each process about ``per_process`` of the server's usable connections."""
    limit, reserved = pg.query(
        "select current_setting('max_connections')::int, current_setting('superuser_reserved_connections')::int"
        " + coalesce(current_setting('reserved_connections', true), '0')::int"
    )[0]
    usable = int(limit) - int(reserved)
    processes = max(usable // per_process, 1)
    return Share(processes, usable // processes)


def peak_connections(
    pg: Postgres, running: Future[Any], application_name: str | None = None, timeout: float = 60.0
) -> int:
    """The most client connections (named ``application_name``) seen at once until ``running`` is done."""
    peak = 0

    def sample() -> bool:
        nonlocal peak
        done = running.done()  # asked first: the last sample is taken after the work ended
        peak = max(peak, pg.connections(application_name))
        return done

    wait_until(sample, timeout=timeout, interval=0.01, what="the load to end")
    return peak


def settle(measure: Callable[[], T], good: Callable[[T], bool], timeout: float, what: str) -> T:
    """``measure()`` until ``good`` holds for its value or ``timeout`` passes; the last value, for the caller to judge.

    A count that needs a moment to settle: a backend leaves pg_stat_activity just after its client closed.
    """
    values: list[T] = []

    def settled() -> bool:
        values.append(measure())
        return good(values[-1])

    try:
        wait_until(settled, timeout=timeout, interval=0.05, what=what)
    except WaitTimeout:
        pass  # the caller judges the value it gets
    return values[-1]


def own_connection(pg: Postgres, application_name: str) -> psycopg2.extensions.connection:
    """A psycopg2 connection of the check's own to the lab's database (to hold a lock, count, or wait)."""
    url = make_url(pg.url("psycopg2"))
    return psycopg2.connect(
        host=url.host,
        port=url.port,
        user=url.username,
        password=url.password,
        dbname=url.database,
        application_name=application_name,
    )


def process_connections(pg: Postgres, pid: int) -> int:
    """Established TCP connections from process ``pid`` to the lab's PostgreSQL (which process holds a pool)."""
    port = make_url(pg.url("psycopg2")).port
    return sum(
        1
        for c in psutil.Process(pid).net_connections(kind="tcp")
        if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED
    )


# -- the app ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    """One start of the app: it exited (``exit_code``), or it served, answered one request and was stopped."""

    exit_code: int | None  # None: it served
    logs: str  # everything it printed, its shutdown included
    response: httpx.Response | None  # the answer to the request, when it served

    @property
    def status(self) -> int | None:
        return self.response.status_code if self.response is not None else None


def start_once(
    lab: Lab,
    path: str = "/health",
    *,
    headers: dict[str, str] | None = None,
    target: str = "app.main:app",
    **serve: Any,
) -> Start:
    """Serve the app, ask ``path`` once and stop it; or say how it exited trying (refusing to start can be right).

    An app that neither answers nor exits is an :class:`AppNotAnswering`, as for ``lab.serve``.
    """
    try:
        srv = lab.serve(target, **serve)
    except AppExited as exc:
        return Start(exc.exit_code, exc.logs, None)
    with srv:
        response = srv.get(path, headers=headers)
        return Start(None, srv.logs() + srv.stop().logs, response)


def outcome(srv: AppServer, path: str, method: str = "GET", timeout: float = 5.0, **request: Any) -> str:
    """One request on a fresh connection: its status code, or the exception's name (``ReadTimeout``)."""
    try:
        return str(httpx.request(method, srv.url + path, timeout=timeout, **request).status_code)
    except httpx.HTTPError as exc:
        return type(exc).__name__


def poll_outcome(srv: AppServer, path: str, wanted: str, within: float) -> list[str]:
    """Ask ``path`` until it answers ``wanted`` or ``within`` seconds pass; every outcome seen, in order."""
    seen: list[str] = []
    deadline = time.monotonic() + within

    def answered() -> bool:
        seen.append(outcome(srv, path, timeout=max(min(3.0, deadline - time.monotonic()), 0.5)))
        return seen[-1] == wanted

    try:
        wait_until(answered, timeout=within, interval=0.2, what=f"GET {path} to answer {wanted}")
    except WaitTimeout:
        pass  # the caller judges what was seen
    return seen


def app_error(srv: AppServer, since: int = 0, timeout: float = 3.0) -> str:
    """The last exception the app logged after offset ``since`` of its log, with its ``file:line`` in the work dir.

    An error's traceback is logged just after its 500 goes out: this waits up to ``timeout`` for it.
    """

    def logged() -> str:
        return srv.logs()[since:] if exception_lines(srv.logs()[since:]) else ""

    try:
        text = wait_until(logged, timeout=timeout, interval=0.05, what="an exception in the app's log")
    except WaitTimeout:
        return "(no exception in the app's log)"
    root = str(srv.cwd.resolve()) + "/"
    where = [f"{m['path'][len(root) :]}:{m['line']}" for m in _FRAME.finditer(text) if m["path"].startswith(root)]
    line = _BACKGROUND.sub("", exception_lines(text)[-1])[:300]
    return f"{where[-1]}: {line}" if where else line


def serve_on_scratch_database(
    ctx: Context, name: str, *, driver: str = "asyncpg", env: dict[str, str | None] | None = None, **serve: Any
) -> AppServer:
    """The app served with DATABASE_URL on a fresh database ``name``, which is dropped once the app is closed."""
    owned = ExitStack()
    database = owned.enter_context(scratch_database(ctx.pg, name))
    try:
        srv = ctx.lab.serve(env={"DATABASE_URL": ctx.pg.url(driver, database=database), **(env or {})}, **serve)
    except BaseException:
        owned.close()
        raise
    ctx.on_end(owned.close)
    return srv


# -- children and their output ---------------------------------------------------------------------

# ``python -c`` puts the work dir first on sys.path, as ``python -m`` would; a script path would put its own folder.
_RUN_SCRIPT = "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"


class ChildTimeout(AssertionError):
    """A child script of a check did not finish in time (a hang is often the very thing judged)."""


def run_json(
    lab: Lab, script: Path, *args: str, env: dict[str, str | None] | None = None, timeout: float = 60.0
) -> Any:
    """Run ``script`` (a file beside check.py) in the work dir, importing the learner's ``app``; its ``RESULT`` JSON.

    Without a ``RESULT`` line the child failed: an AssertionError names its last error, or is a
    :class:`ChildTimeout` when the child was stopped after ``timeout`` seconds.
    """
    ran = lab.run(["python", "-c", _RUN_SCRIPT, str(script), *args], env=env, timeout=timeout)
    if ran.output.rstrip().endswith("the timeout]"):  # lab.run's own note: it stopped the child
        raise ChildTimeout(f"{script.stem} did not finish within {timeout:g} s")
    results = [line[len(RESULT) :] for line in ran.output.splitlines() if line.startswith(RESULT)]
    assert results, f"{script.stem} failed in the work dir: {last_error(ran.output, lab.workdir)}"
    return json.loads(results[-1])


@dataclass(frozen=True)
class PytestRun:
    """What pytest's output says: its summary line, the counts in it, the FAILED/ERROR lines."""

    summary: str  # "3 passed, 1 failed in 0.52s", or the last line when pytest printed no summary
    counts: dict[str, int] = field(default_factory=dict)  # passed, failed, errors, skipped, ...
    failures: tuple[str, ...] = ()
    finished: bool = False  # a summary line was found

    @property
    def passed(self) -> int:
        return self.counts.get("passed", 0)

    @property
    def ok(self) -> bool:
        return self.finished and not self.failures and not self.counts.get("failed") and not self.counts.get("errors")


_SUMMARY = re.compile(r"^=*\s*(?P<counts>(?:\d+ \w+)(?:, \d+ \w+)*|no tests ran) in [\d.]+s")


def _tidy(line: str) -> str:
    """A failure line short enough to read: no memory addresses, long reprs cut."""
    line = re.sub(r" at 0x[0-9a-f]+", "", line)
    line = re.sub(r"coro=<.*?> cb=\[.*?\]>", "...>", line)
    return line if len(line) <= 200 else line[:197] + "..."


def pytest_summary(output: str) -> PytestRun:
    """Read a pytest run (``-q -rfE`` output): its own last summary line, not what printed after it."""
    lines = [line.rstrip() for line in output.strip().splitlines() if line.strip()]
    found = [match for line in lines if (match := _SUMMARY.match(line.strip()))]
    counts: dict[str, int] = {}
    if found:
        for number, word in re.findall(r"(\d+) (\w+)", found[-1]["counts"]):
            key = {"error": "errors", "warning": "warnings"}.get(word, word)
            counts[key] = counts.get(key, 0) + int(number)
    summary = found[-1].group(0).strip(" =") if found else (lines[-1] if lines else "no output")
    failures = tuple(_tidy(line) for line in lines if line.startswith(("FAILED ", "ERROR ")))
    return PytestRun(summary, counts, failures, bool(found))


_LOOP_TROUBLE = re.compile(r"different loop|another operation is in progress|Event loop is closed|loop is closed")


def loop_trouble(text: str) -> bool:
    """Does ``text`` show a connection used on an event loop other than its own?"""
    return bool(_LOOP_TROUBLE.search(text))


def load_beside(check_file: str, filename: str) -> ModuleType:
    """Import a module that sits beside a scenario's check.py (``relay.py``), under a private name."""
    path = Path(check_file).with_name(filename)
    spec = importlib.util.spec_from_file_location(
        f"labkit_beside_{path.parent.name}_{path.stem}".replace("-", "_"), path
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and the like look their module up
    spec.loader.exec_module(module)
    return module


# -- evidence in text and files ------------------------------------------------------------------------------

# scheme://user:password@ ; the password is group 1
_PASSWORD_IN_URL = re.compile(r"\b[a-z][a-z0-9+.\-]*://[^\s:/@'\"]+:([^\s@/'\"]+)@", re.IGNORECASE)
_PLACEHOLDER = ("$", "{", "%", "<", "*")  # ${VAR}, {password}, %(pw)s, <password>, ***


def passwords_in_urls(root: Path, *, show_line: bool = False) -> list[str]:
    """``file:line`` of every URL literal with a password in the project under ``root``.

    ``show_line=True`` adds the line itself, the password masked (``file:line: url = "...:***@..."``).

    Placeholders do not count, nor do files the project's .gitignore names (a developer's own .env
    is never committed), nor labkit's own bookkeeping.
    """
    gitignore = root / ".gitignore"
    ignored = (
        {
            line.strip().strip("/")
            for line in gitignore.read_text().splitlines()
            if line.strip() and not line.startswith("#")
        }
        if gitignore.is_file()
        else set()
    )
    found: list[str] = []
    for path in sorted(root.rglob("*")):
        relative = str(path.relative_to(root))
        if (
            not path.is_file()
            or "__pycache__" in path.parts
            or path.name.startswith(".labkit")
            or path.name in ignored
            or relative in ignored
        ):
            continue
        try:
            lines = path.read_text().splitlines()
        except (UnicodeDecodeError, OSError):
            continue  # a binary file holds no URL literal
        for number, line in enumerate(lines, start=1):
            for match in _PASSWORD_IN_URL.finditer(line):
                if match.group(1).startswith(_PLACEHOLDER):
                    continue
                masked = line[: match.start(1)] + "***" + line[match.end(1) :]
                found.append(f"{relative}:{number}: {masked.strip()}" if show_line else f"{relative}:{number}")
    return found


SECRET_WINDOW = 6  # this many consecutive characters of a secret count as a leak (a truncated repr shows a tail)


def shows_secret(text: str, secret: str, window: int = SECRET_WINDOW) -> bool:
    """Does ``text`` hold ``secret``, URL-encoded, or any ``window`` consecutive characters of it?"""
    if quote(secret, safe="") in text:
        return True
    return any(secret[i : i + window] in text for i in range(max(len(secret) - window + 1, 1)))
