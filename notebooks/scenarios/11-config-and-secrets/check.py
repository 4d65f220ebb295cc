"""11: the notes API judged by how it starts and what it prints, not by how its settings are written.

Each start runs a real uvicorn with settings in its environment (DB_HOST, DB_PORT, DB_NAME, DB_USER,
DB_PASSWORD, SECRET_KEY; no DATABASE_URL), as a role of its own on the lab's server; the three starts
run side by side, once per check run.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

from sqlalchemy.engine import make_url

from labkit import free_port
from labkit.checking import Context, Start, requirement, run_json, scratch_role, shows_secret, start_once

ROLE = "notes_lab_check"
SETTINGS_PROBE = Path(__file__).with_name("settings_probe.py")


class Secrets(NamedTuple):
    plain: str  # letters, digits, - and _: the DB_PASSWORD of the starts that must be refused
    password: str  # the role's real password, with / @ and :
    key: str  # SECRET_KEY

    def leaked(self, text: str) -> str | None:
        """Which secret shows in ``text`` (a run of a few of its characters, or its URL-encoded form)."""
        for name, value in (
            ("the database password", self.plain),
            ("the database password", self.password),
            ("the secret key", self.key),
        ):
            if shows_secret(text, value):
                return name
        return None

    def mask(self, text: str) -> str:
        """``text`` with each secret, or a run of 6 or more of its characters, shown as ``<secret>``.

        The check's messages quote the app's output; a check about secrets prints none of its own.
        """
        for value in (self.plain, self.password, self.key):
            for size in range(len(value), 5, -1):
                for start in range(len(value) - size + 1):
                    text = text.replace(value[start : start + size], "<secret>")
        return text


def _secrets(ctx: Context) -> Secrets:
    def make() -> Secrets:
        head, middle, near, tail = (secrets.token_urlsafe(6) for _ in range(4))
        return Secrets(secrets.token_urlsafe(18), f"{head}/{middle}@{near}:{tail}", secrets.token_urlsafe(32))

    return ctx.shared("secrets", make)


def _token(user: str, key: str) -> str:
    """A token as app/security.py makes it: base64url JSON payload, a dot, base64url HMAC-SHA256 under the key."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    payload = b64(json.dumps({"user": user, "exp": int(time.time()) + 600}).encode())
    return f"{payload}.{b64(hmac.new(key.encode(), payload.encode(), hashlib.sha256).digest())}"


def _env(ctx: Context, password: str, **changes: str | None) -> dict[str, str | None]:
    where = make_url(ctx.pg.url("asyncpg"))
    return {
        "DATABASE_URL": None,
        "DB_HOST": where.host,
        "DB_PORT": str(where.port),
        "DB_NAME": where.database,
        "DB_USER": ROLE,
        "DB_PASSWORD": password,
        "SECRET_KEY": _secrets(ctx).key,
        **changes,
    }


def _starts(ctx: Context) -> dict[str, Start | BaseException]:
    """The three starts the requirements judge, once per check run, side by side on ports of their own.

    Each one: how it ended and what it printed, or what went wrong starting it (an app that neither
    answers nor exits), which only the requirement that judges that start reports.
    """

    def make() -> dict[str, Start | BaseException]:
        plain, password = _secrets(ctx).plain, _secrets(ctx).password
        wrong = (make_url(ctx.pg.url("asyncpg")).port or 5432) + 65536
        starts = {
            "without-key": (_env(ctx, plain, SECRET_KEY=None), "/health"),
            "wrong-port": (_env(ctx, plain, DB_PORT=str(wrong)), "/health"),
            "with-symbols": (_env(ctx, password), "/notes"),
        }
        ports: set[int] = set()
        while len(ports) < len(starts):
            ports.add(free_port())
        headers = {"Authorization": f"Bearer {_token('check', _secrets(ctx).key)}"}
        with scratch_role(ctx.pg, ROLE, password), ThreadPoolExecutor(len(starts)) as pool:
            futures = {
                name: pool.submit(
                    start_once, ctx.lab, path, headers=headers, ready_path="/health", env=env, port=port, timeout=60
                )
                for (name, (env, path)), port in zip(starts.items(), sorted(ports), strict=True)
            }
            return {name: future.exception() or future.result() for name, future in futures.items()}

    return ctx.shared("starts", make)


def _start(ctx: Context, name: str) -> Start:
    started = _starts(ctx)[name]
    if isinstance(started, BaseException):
        raise started
    return started


def _without_key(ctx: Context) -> Start:
    return _start(ctx, "without-key")


def _wrong_port(ctx: Context) -> Start:
    return _start(ctx, "wrong-port")


def _with_symbols(ctx: Context) -> Start:
    return _start(ctx, "with-symbols")


def _refused(started: Start, setting: str, condition: str) -> None:
    assert started.exit_code is not None, f"With {condition}, the app started: GET /health answered {started.status}."
    assert started.exit_code != 0, f"With {condition}, the app exited with code 0; a refused start must exit non-zero."
    assert setting.lower() in started.logs.lower(), (
        f"With {condition}, the app refused to start, but its output never names {setting}."
    )


@requirement(
    core=True,
    edit="app/config.py",
    step=1,
    timeout=120,  # the first requirement judged waits for the three starts, made side by side
    hints=(
        "Whoever reads the repository knows the default key: what can they sign with it?",
        "Give secret_key no default (secret_key: SecretStr): pydantic then refuses to build the settings without "
        "SECRET_KEY, and its ValidationError names the field.",
    ),
)
def secret_key_required(ctx: Context) -> None:
    """Without SECRET_KEY the app does not start, and says SECRET_KEY."""
    _refused(_without_key(ctx), "SECRET_KEY", "SECRET_KEY unset")


@requirement(
    core=True,
    edit="app/config.py",
    step=2,
    timeout=120,
    hints=(
        "Put a password with / @ and : into an f-string URL: where does the parser think the host starts?",
        "Build the URL with sqlalchemy.URL.create(drivername, username=..., password=..., host=..., port=..., "
        "database=...), which escapes each part.",
    ),
)
def password_with_symbols_connects(ctx: Context) -> None:
    """With a database password containing '/', '@' and ':', GET /notes answers 200."""
    started = _with_symbols(ctx)
    assert started.exit_code is None, (
        "With a database password containing '/', '@' and ':' the app did not start. Its output ends:\n"
        + _secrets(ctx).mask("\n".join(started.logs.strip().splitlines()[-3:]))
    )
    assert started.status == 200, (
        f"With a database password containing '/', '@' and ':', GET /notes with a valid "
        f"token answered {started.status}."
    )


@requirement(
    core=False,
    edit="app/config.py",
    step=3,
    timeout=120,
    hints=(
        "Set DB_PORT=70000: when does the app notice that no such port exists?",
        "Constrain the field when the settings load: db_port: int = Field(5432, ge=1, le=65535).",
    ),
)
def port_out_of_range_refused(ctx: Context) -> None:
    """With DB_PORT outside 1-65535 the app does not start, and says DB_PORT."""
    _refused(_wrong_port(ctx), "DB_PORT", "DB_PORT out of range")


@requirement(
    core=False,
    edit="app/config.py, app/main.py",
    step=4,
    timeout=150,
    hints=(
        "Read the output of a refused start, the app's log and repr(settings): is a secret in any of them?",
        "Keep secrets as SecretStr, log URLs with render_as_string(hide_password=True), and set "
        "hide_input_in_errors=True in model_config so a ValidationError does not echo the values it was given.",
    ),
)
def nothing_prints_a_secret(ctx: Context) -> None:
    """No log, refused start or repr() of the settings shows the password or the secret key."""
    shown = [
        ("The output of the start without SECRET_KEY", _without_key(ctx).logs),
        ("The output of the start with DB_PORT out of range", _wrong_port(ctx).logs),
        ("The app's log", _with_symbols(ctx).logs),
    ]
    shown += [
        ("repr() or str() of the app's settings", text)
        for text in run_json(ctx.lab, SETTINGS_PROBE, env=_env(ctx, _secrets(ctx).password), timeout=30)
    ]
    for where, text in shown:
        which = _secrets(ctx).leaked(text)
        assert which is None, f"{where} contains {which}."
