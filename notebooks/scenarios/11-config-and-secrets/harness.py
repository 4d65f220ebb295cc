"""Measurements for notebook 11: the notes API deployed with secrets made in the kernel, one call each.

Loaded in a notebook as ``ref.harness`` (see ``labkit.Lab.harness``); tested by
``tests/test_harness_11.py``. A :class:`Notes` holds the secrets of one walk-through: the login
role's passwords and the signing key, made with :mod:`secrets` and never printed. Every text it
returns is masked (a secret, or a run of 6 or more of its characters, shows as its name in braces;
the server's port as ``PGPORT``), and every measurement creates the login role it needs and drops it
when it is done, so nothing is left to clean up.

- :meth:`Notes.start`: one deploy, served or refused, with the requests it answered and what it printed;
- :meth:`Notes.characters`: which password characters break an f-string URL, and what ``URL.create`` does;
- :meth:`Notes.wrong_port`: a ``DB_PORT`` above 65535, served, and the same connection on uvloop and asyncio;
- :meth:`Notes.settings_repr`: ``repr()`` and ``str()`` of the app's settings object, in a fresh process;
- :meth:`Notes.deploys`: four deploys side by side (the good one and three that must be refused);
- :func:`dotenv_from`: where ``.env`` is read from; :func:`settings_cache`: how often report 003's settings read it.
"""

from __future__ import annotations

import asyncio
import importlib.util
import re
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from sqlalchemy import URL, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

import labkit
from labkit.checking import scratch_role, shows_secret

ROLE = "notes_app"  # the app's login role (the check uses one of its own)
APP = "notes-api"  # the application_name the app sets
DEFAULT_KEY = re.compile(r'secret_key: str = "([^"]+)"')
# how a failed start ends: the exception's own line ("ValueError: ...", "pydantic_core...ValidationError: ...")
RAISED = re.compile(r"^[\w.]+(Error|Exception)\b")
CHARACTERS = (("/", "/"), (":", ":"), ("#", "#"), ("@", "@"), ("%2F", "%2F"), ("@ then :", "@x:"))
TOKEN = "GET /notes, SECRET_KEY token"
REPR_PROBE = "from app.config import settings; print(repr(settings)); print(settings)"


def _pieces(value: str) -> Iterator[tuple[int, str]]:
    """Every run of 6 or more characters of ``value``, longest first."""
    for size in range(len(value), 5, -1):
        for start in range(len(value) - size + 1):
            yield size, value[start : start + size]


def _security(lab: labkit.Lab) -> ModuleType:
    """The project's own ``app/security.py`` (sign, verify), loaded by path."""
    spec = importlib.util.spec_from_file_location("notes_security", lab.workdir / "app" / "security.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Deploy:
    """One start of the app: refused (``exit_code``) or served, and then asked each request once."""

    name: str
    exit_code: int | None  # None: it served (and was stopped afterwards)
    answers: tuple[tuple[str, int, str], ...]  # (request, status, answer), when it served
    output: str  # everything it printed, masked, without the readiness probes
    leaked: tuple[str, ...]  # the names of the secrets its unmasked output showed

    def status(self, request: str) -> int:
        return next(status for asked, status, _ in self.answers if asked == request)

    def line(self, marker: str) -> str:
        """The first line of its output that contains ``marker``."""
        return next(line for line in self.output.splitlines() if marker in line)

    @property
    def error(self) -> str:
        """How a refused start ends: from the exception's own line on, without pydantic's help links."""
        lines = self.output.strip().splitlines()
        first = max((i for i, line in enumerate(lines) if RAISED.match(line)), default=len(lines))
        return "\n".join(line for line in lines[first:] if line.strip() and "errors.pydantic.dev" not in line)

    @property
    def outcome(self) -> str:
        if self.exit_code is None:
            return ", ".join(f"{asked} -> {status}" for asked, status, _ in self.answers)
        return " / ".join(line.strip() for line in self.error.splitlines()[1:3]) or self.error

    def __repr__(self) -> str:
        if self.exit_code is not None:
            return f"refused to start, exit code {self.exit_code}\n{self.error}"
        return str(labkit.Table(("request", "status", "answer"), tuple((a, str(s), t) for a, s, t in self.answers)))


@dataclass(frozen=True)
class Characters:
    """Per password character: the host the parser read from the f-string URL, and both connection attempts."""

    rows: tuple[tuple[str, str, str, str], ...]  # (character, host parsed, f-string URL, URL.create)

    def outcome(self, character: str) -> tuple[str, str]:
        return next((typed, built) for c, _, typed, built in self.rows if c == character)

    def __repr__(self) -> str:
        return str(labkit.Table(("character", "f-string URL: host parsed", "f-string URL", "URL.create"), self.rows))


@dataclass(frozen=True)
class WrongPort:
    """A ``DB_PORT`` above 65535: what the served app answered, and one connection on each event loop."""

    served: Deploy
    on_uvloop: str  # "uvloop is not installed" where it is not (Windows)
    on_asyncio: str

    def __repr__(self) -> str:
        return str(
            labkit.Table(
                ("what", "outcome"),
                (
                    (f"the app started; {TOKEN}", str(self.served.status(TOKEN))),
                    ("one connection on uvloop (uvicorn's loop)", self.on_uvloop),
                    ("one connection on asyncio's own loop", self.on_asyncio),
                ),
            )
        )


@dataclass(frozen=True)
class Printed:
    """What a command printed, masked, and which secrets it showed."""

    returncode: int
    output: str
    leaked: tuple[str, ...]

    def __repr__(self) -> str:
        return self.output.rstrip()


@dataclass(frozen=True)
class Deploys:
    """Several deploys at once, each on its own port."""

    runs: dict[str, Deploy]

    def __getitem__(self, name: str) -> Deploy:
        return self.runs[name]

    def __repr__(self) -> str:
        rows = tuple(
            (name, "-" if d.exit_code is None else str(d.exit_code), d.outcome, ", ".join(d.leaked) or "none")
            for name, d in self.runs.items()
        )
        return str(labkit.Table(("deploy", "exit code", "what happened", "secrets in its output"), rows))


class Notes:
    """The notes API of ``lab`` deployed with secrets made here; its measurements, each one call.

    ``secrets`` maps a name (``DB_PASSWORD``, ``SECRET_KEY``, ...) to its value; ``mask`` hides all of
    them. The passwords: ``DB_PASSWORD`` (letters, digits, ``-`` and ``_``) and ``DB_PASSWORD (rotated)``,
    with ``/``, ``@`` and ``:`` as a password manager makes them.
    """

    def __init__(self, lab: labkit.Lab) -> None:
        self.lab = lab
        self.where = make_url(lab.pg.url("asyncpg"))  # host, port, database: the URL itself is never shown
        self.bad_port = (self.where.port or 5432) + 65536  # no such port: TCP ports end at 65535
        rotated = "/".join(secrets.token_urlsafe(6) for _ in range(2)) + "@"
        rotated += ":".join(secrets.token_urlsafe(6) for _ in range(2))
        self.secrets = {
            "DB_PASSWORD": secrets.token_urlsafe(18),
            "DB_PASSWORD (rotated)": rotated,
            "SECRET_KEY": secrets.token_urlsafe(32),
            "short key": secrets.token_urlsafe(9),  # 12 characters
        }

    # -- text ---------------------------------------------------------------------------------------

    def leaks(self, text_: str) -> tuple[str, ...]:
        """The names of the secrets ``text_`` shows: whole, URL-encoded, or a run of 6 of their characters."""
        return tuple(sorted(name for name, value in self.secrets.items() if shows_secret(text_, value)))

    def mask(self, text_: str) -> str:
        """``text_`` with every secret (or a run of 6+ of its characters) replaced by its name in braces."""
        for name, value in self.secrets.items():
            for size, piece in _pieces(value):
                if piece in text_:
                    shown = f"{{{name}}}" if size == len(value) else f"{{{size} chars of {name}}}"
                    text_ = text_.replace(piece, shown)
        text_ = re.sub(rf"\b{self.bad_port}\b", "PGPORT+65536", text_)
        return re.sub(rf"\b{self.where.port}\b", "PGPORT", text_)

    # -- deploys ------------------------------------------------------------------------------------

    def env(self, password: str = "DB_PASSWORD", key: str | None = "SECRET_KEY", **changes: str) -> dict:
        """The app's settings, one environment variable each (no DATABASE_URL: labkit sets one by default)."""
        return {
            "DATABASE_URL": None,
            "DB_HOST": self.where.host,
            "DB_PORT": str(self.where.port),
            "DB_NAME": self.where.database,
            "DB_USER": ROLE,
            "DB_PASSWORD": self.secrets[password],
            "SECRET_KEY": self.secrets[key] if key else None,
            **changes,
        }

    def default_key(self) -> str:
        """The default secret key of the broken project's ``app/config.py``, as an attacker reads it."""
        found = DEFAULT_KEY.search((self.lab.scenario.broken / "app" / "config.py").read_text())
        assert found, "the broken project's app/config.py has no default secret_key"
        return found.group(1)

    def _requests(self) -> dict[str, str | None]:
        """The requests a served deploy is asked: no token, the forged one, one signed with SECRET_KEY."""
        sign = _security(self.lab).sign
        return {
            "GET /notes, no token": None,
            "GET /notes, forged token": sign("admin", self.default_key()),
            "GET /notes, SECRET_KEY token": sign("alice", self.secrets["SECRET_KEY"]),
        }

    def _deploy(self, name: str, env: dict, requests: dict[str, str | None], port: int | None = None) -> Deploy:
        try:
            srv = self.lab.serve("app.main:app", ready_path="/health", env=env, port=port, timeout=60)
        except labkit.AppExited as exc:
            return Deploy(name, exc.exit_code, (), self.mask(exc.logs), self.leaks(exc.logs))
        answers = []
        for asked, token in requests.items():
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            response = srv.get("/notes", headers=headers, timeout=30)
            body = response.json()
            answer = ", ".join(body["notes"]) if response.status_code == 200 else str(body.get("detail", body))
            answers.append((asked, response.status_code, answer))
        logs = srv.logs() + srv.stop().logs
        kept = "\n".join(line for line in logs.splitlines() if '"GET /health' not in line)
        return Deploy(name, None, tuple(answers), self.mask(kept), self.leaks(logs))

    def start(self, name: str = "deploy", *, requests: tuple[str, ...] | None = None, **env: Any) -> Deploy:
        """Serve the app once with :meth:`env` ``(**env)`` as a role of its own, ask ``requests``, stop it.

        ``requests`` picks among: ``GET /notes, no token``, ``GET /notes, forged token`` (a token for
        ``admin`` signed with :meth:`default_key` by the project's own ``app/security.py``) and ``GET
        /notes, SECRET_KEY token`` (for ``alice``, signed with the deploy's key); all three by default. A
        start that exits is a refused start, with its exit code and output.
        """
        environment = self.env(**env)
        chosen = {k: v for k, v in self._requests().items() if requests is None or k in requests}
        with scratch_role(self.lab.pg, ROLE, str(environment["DB_PASSWORD"])):
            return self._deploy(name, environment, chosen)

    def deploys(self, named: dict[str, dict[str, Any]]) -> Deploys:
        """Several :meth:`start` s side by side, each on a port of its own; all share the rotated password.

        ``named`` maps a deploy's name to its :meth:`env` changes (``key=None`` for no SECRET_KEY).
        """
        ports: set[int] = set()
        while len(ports) < len(named):  # distinct, as the deploys listen at the same time
            ports.add(labkit.free_port())
        with scratch_role(self.lab.pg, ROLE, self.secrets["DB_PASSWORD (rotated)"]):
            requests = self._requests()
            with ThreadPoolExecutor(len(named)) as pool:
                futures = {
                    name: pool.submit(
                        self._deploy, name, self.env(password="DB_PASSWORD (rotated)", **env), requests, port
                    )
                    for (name, env), port in zip(named.items(), sorted(ports), strict=True)
                }
                return Deploys({name: future.result() for name, future in futures.items()})

    # -- measurements in this process ---------------------------------------------------------------

    async def _connect(self, url: str | URL) -> str:
        """One connection attempt: ``connected as <user>``, or the exception's type and first line."""
        try:
            engine = create_async_engine(url)
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        try:
            async with engine.connect() as conn:
                return f"connected as {await conn.scalar(text('select current_user'))}"
        except Exception as exc:
            first = str(exc).splitlines()[0].replace("(sqlalchemy.dialects.postgresql.asyncpg.Error) ", "")
            return f"{type(exc).__name__}: {first}"
        finally:
            await engine.dispose()

    def _on_loop(self, url: str | URL, run: Any = asyncio.run) -> str:
        """:meth:`_connect` on a fresh event loop in a thread (the kernel's own loop is busy running cells)."""
        with ThreadPoolExecutor(1) as thread:
            return str(thread.submit(run, self._connect(url)).result())

    def _parsed_host(self, url: str) -> str:
        try:
            return make_url(url).host or "(none)"
        except ValueError:
            return "(no URL)"

    def characters(self) -> Characters:
        """For each character of :data:`CHARACTERS`: a password with it in the middle, connected two ways.

        The role gets a fresh password per character; the URL is built with ``app/config.py``'s f-string
        and with ``URL.create``, and each is a real connection (``select current_user``). A failed host
        lookup shows as ``gaierror`` only: its errno text differs between resolvers.
        """
        rows = []
        with scratch_role(self.lab.pg, ROLE, self.secrets["DB_PASSWORD"]):
            for label, middle in CHARACTERS:
                password = secrets.token_urlsafe(6) + middle + secrets.token_urlsafe(6)
                self.secrets[f"password with {label}"] = password
                self.lab.pg.query(f"alter role {ROLE} password %s", password)
                w = self.where
                typed = f"postgresql+asyncpg://{ROLE}:{password}@{w.host}:{w.port}/{w.database}"
                built = URL.create(
                    "postgresql+asyncpg",
                    username=ROLE,
                    password=password,
                    host=w.host,
                    port=w.port,
                    database=w.database,
                )
                said = re.sub(r"^gaierror: .*", "gaierror (the host name does not resolve)", self._on_loop(typed))
                rows.append((label, self.mask(self._parsed_host(typed)), self.mask(said), self._on_loop(built)))
        return Characters(tuple(rows))

    def wrong_port(self) -> WrongPort:
        """``DB_PORT`` = the server's port + 65536: the app served and asked once; then one connection per loop.

        uvicorn runs the app on uvloop where it is installed (its default ``loop="auto"``; not on
        Windows); the same URL is tried on a uvloop loop and on asyncio's own, each in a thread.
        """
        served = self.start("DB_PORT above 65535", requests=(TOKEN,), DB_PORT=str(self.bad_port))
        w = self.where
        url = URL.create("postgresql+asyncpg", username=ROLE, password=self.secrets["DB_PASSWORD"], host=w.host,
                         port=self.bad_port, database=w.database)  # fmt: skip
        try:
            import uvloop
        except ImportError:  # Windows: uvicorn runs the app on asyncio's loop
            uvloop = None
        with scratch_role(self.lab.pg, ROLE, self.secrets["DB_PASSWORD"]):
            on_uvloop = self._on_loop(url, uvloop.run) if uvloop else "uvloop is not installed"
            on_asyncio = self._on_loop(url)
        return WrongPort(served, self.mask(on_uvloop), self.mask(on_asyncio))

    def settings_repr(self) -> Printed:
        """``repr()`` and ``str()`` of the app's ``settings`` object, in a fresh process with the rotated password."""
        shown = self.lab.run(["python", "-c", REPR_PROBE], env=self.env(password="DB_PASSWORD (rotated)"))
        return Printed(shown.returncode, self.mask(shown.output), self.leaks(shown.output))


# -- where `.env` is read from (report 000 line 43, report 003 line 199) -----------------------------------


DOTENV_PROBE = (
    "from app.config import settings; print('read .env' if settings.db_password == 'from-dotenv' else 'other value')"
)


@dataclass(frozen=True)
class DotEnv:
    """``from app.config import settings`` with a ``.env`` in the project folder and no DB_PASSWORD in the
    environment, started from the project folder and from its parent: what each process got."""

    from_project: str  # "read .env", "other value", or the error's last line
    from_parent: str


def dotenv_from(lab: labkit.Lab) -> DotEnv:
    """Import the settings twice, in new processes: once started in the project folder (where ``.env`` is),
    once in its parent, the project still importable. The project's ``.env`` is put back as it was."""
    import os
    import subprocess
    import sys

    dotenv = lab.workdir / ".env"
    before = dotenv.read_text() if dotenv.exists() else None
    env = {k: v for k, v in os.environ.items() if not k.startswith("DB_")}
    env["PYTHONPATH"] = str(lab.workdir)
    outcomes = []
    try:
        dotenv.write_text("DB_PASSWORD=from-dotenv\n")
        for cwd in (lab.workdir, lab.workdir.parent):
            ran = subprocess.run(
                [sys.executable, "-c", DOTENV_PROBE], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
            )
            said = (ran.stdout + ran.stderr).strip().splitlines()
            outcomes.append(said[-1] if ran.returncode == 0 and said else _error_kind(ran.stderr))
    finally:
        if before is None:
            dotenv.unlink(missing_ok=True)
        else:
            dotenv.write_text(before)
    return DotEnv(*outcomes)


def _error_kind(stderr: str) -> str:
    """The exception and the field it names, from a traceback: 'ValidationError: db_password missing'."""
    if "ValidationError" in stderr and "db_password" in stderr and "Field required" in stderr:
        return "ValidationError: db_password missing"
    lines = stderr.strip().splitlines()
    return lines[-1] if lines else "(no output)"


# -- report 003's @lru_cache on get_settings() (line 202) ---------------------------------------------------


@dataclass(frozen=True, repr=False)
class SettingsCache(labkit.Tabular):
    """Report 003's settings module with and without ``@lru_cache()``: ``.env`` reads, and what a test sees.

    ``runs``: "with @lru_cache()" / "without it" -> the probe's counts (``report_settings.py``).
    """

    runs: dict[str, dict[str, Any]]

    def reads(self, variant: str) -> tuple[int, int]:
        """``.env`` reads once the module was imported, and after three more ``get_settings()`` calls."""
        return self.runs[variant]["at_import"], self.runs[variant]["after_three_calls"]

    def table(self) -> labkit.Table:
        return labkit.Table(
            (
                "get_settings()",
                ".env reads at import",
                "after 3 more get_settings()",
                "DB_PASSWORD changed, then get_settings() says",
                "and settings says",
            ),
            tuple(
                (name, str(r["at_import"]), str(r["after_three_calls"]), r["get_settings_sees"], r["settings_sees"])
                for name, r in self.runs.items()
            ),
        )


def settings_cache() -> SettingsCache:
    """Import report 003's settings (``settings = get_settings()``) in a new process, with and without the cache.

    Each run is started in a temporary folder holding a ``.env`` with ``DB_PASSWORD=from-dotenv``, and
    no ``DB_`` variable in its environment; an audit hook counts the opens of ``.env``. After the import
    it calls ``get_settings()`` three more times, then sets ``DB_PASSWORD`` as a test would and asks again.
    """
    import json
    import os
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    probe = Path(__file__).parent / "report_settings.py"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DB_")}
    runs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / ".env").write_text("DB_PASSWORD=from-dotenv\n")
        for name, variant in (("with @lru_cache()", "cached"), ("without it", "uncached")):
            ran = subprocess.run(
                [sys.executable, str(probe), variant], cwd=folder, env=env, capture_output=True, text=True, timeout=60
            )
            found = re.search(r"^RESULT (.+)$", ran.stdout, re.MULTILINE)
            if found is None:
                raise labkit.LabkitError("The settings probe did not report.", (ran.stdout + ran.stderr)[-1500:])
            runs[name] = json.loads(found.group(1))
    return SettingsCache(runs)
