"""Judge the notes API by how it starts and what it prints, not by how its settings are written.

Each behaviour runs a real uvicorn with settings in its environment (DB_HOST, DB_PORT, DB_NAME,
DB_USER, DB_PASSWORD, SECRET_KEY; no DATABASE_URL), as a role of its own on the lab's server, in
this order (the first that fails is the verdict):

1. Without SECRET_KEY the app does not start: uvicorn exits non-zero and the output names the setting.
2. With a database password that contains '/', '@' and ':', the app connects: GET /notes with a
   valid token answers 200.
3. With DB_PORT outside 1-65535 the app does not start, and the output names DB_PORT.
4. Nothing the app prints (its log while it serves, the output of every refused start) and no
   repr() or str() of its settings object holds the database password or the secret key.

Tokens are made in the format of the scenario's app/security.py: a base64url JSON payload, a dot,
and the base64url HMAC-SHA256 of the payload under SECRET_KEY.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import TYPE_CHECKING
from urllib.parse import quote

from sqlalchemy.engine import make_url

from labkit import AppExited, LabkitError

if TYPE_CHECKING:
    from labkit import Lab, Postgres

ROLE = "notes_lab_check"
WINDOW = 6  # this many consecutive characters of a secret count as a leak (a truncated repr shows a tail)

# Runs in a child process from the work dir: every settings object the app's modules hold (or can
# build), as repr() and str() show it.
SETTINGS_PROBE = r"""
import json, sys
from pydantic_settings import BaseSettings
import app.main  # builds the settings the way the app does
shown = []
for name, module in list(sys.modules.items()):
    if name != "app" and not name.startswith("app."):
        continue
    for value in list(vars(module).values()):
        if isinstance(value, type) and issubclass(value, BaseSettings) and value.__module__.startswith("app"):
            try:
                value = value()
            except Exception as exc:
                shown.append(f"{type(exc).__name__}: {exc}")
                continue
        if isinstance(value, BaseSettings):
            shown.append(repr(value) + "\n" + str(value))
print("RESULT " + json.dumps(shown))
"""


class Secrets:
    """The role's password and the app's key for one check (a plain class: check.py is not in sys.modules)."""

    def __init__(self, plain: str, password: str, key: str) -> None:
        self.plain = plain  # letters, digits, - and _: given to the starts that must be refused
        self.password = password  # the role's real password, with / @ and :
        self.key = key

    def leaked(self, text: str) -> str | None:
        """Which secret (a run of WINDOW characters of it, or its URL-encoded form) shows in ``text``."""
        for name, value in (("the database password", self.plain), ("the database password", self.password),
                            ("the secret key", self.key)):
            if quote(value, safe="") in text:
                return name
            if any(value[i:i + WINDOW] in text for i in range(len(value) - WINDOW + 1)):
                return name
        return None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _token(user: str, key: str) -> str:
    payload = _b64(json.dumps({"user": user, "exp": int(time.time()) + 600}).encode())
    mac = _b64(hmac.new(key.encode(), payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{mac}"


def _server(lab: Lab) -> Postgres:
    assert lab.pg is not None, "This check needs a server: labkit.Lab(name, pg=labkit.postgres())."
    return lab.pg


def _env(lab: Lab, found: Secrets, password: str, **changes: str | None) -> dict[str, str | None]:
    where = make_url(_server(lab).url("asyncpg"))
    env: dict[str, str | None] = {
        "DATABASE_URL": None, "DB_HOST": where.host, "DB_PORT": str(where.port), "DB_NAME": where.database,
        "DB_USER": ROLE, "DB_PASSWORD": password, "SECRET_KEY": found.key,
    }
    env.update(changes)
    return env


def _no_leak(found: Secrets, text: str, where: str) -> None:
    which = found.leaked(text)
    assert which is None, (
        f"{where} contains {which}. Keep secrets as SecretStr, log URLs with "
        "render_as_string(hide_password=True), and set hide_input_in_errors=True so that a "
        "ValidationError does not echo the values it was given."
    )


def _refused(lab: Lab, found: Secrets, setting: str, env: dict[str, str | None], condition: str, hint: str) -> None:
    """The app must exit at start, name ``setting`` in its output and print no secret."""
    try:
        srv = lab.serve("app.main:app", ready_path="/health", env=env, timeout=30)
    except AppExited as exc:
        assert exc.exit_code != 0, f"With {condition}, the app exited with code 0; a refused start must exit non-zero."
        assert setting.lower() in exc.logs.lower(), (
            f"With {condition}, the app refused to start, but its output never names {setting}. Say which "
            "setting is wrong (pydantic's ValidationError names the field)."
        )
        _no_leak(found, exc.logs, f"The error output of the refused start ({condition})")
        return
    except LabkitError:
        raise AssertionError(f"With {condition}, the app neither answered HTTP nor exited within 30 s.") from None
    status = srv.get("/health").status_code
    srv.stop()
    raise AssertionError(f"With {condition}, the app started and answered GET /health with {status}. {hint}")


def _missing_secret_key(lab: Lab, found: Secrets) -> None:
    _refused(lab, found, "SECRET_KEY", _env(lab, found, found.plain, SECRET_KEY=None), "SECRET_KEY unset",
             "A default key is public (it is in the repository, anyone can sign tokens with it): give "
             "secret_key no default, so that a missing SECRET_KEY stops the app at start.")


def _port_out_of_range(lab: Lab, found: Secrets) -> None:
    wrong = (make_url(_server(lab).url("asyncpg")).port or 5432) + 65536
    _refused(lab, found, "DB_PORT", _env(lab, found, found.plain, DB_PORT=str(wrong)), f"DB_PORT={wrong}",
             "No port is above 65535: constrain db_port to 1-65535 so that a wrong value stops the app at "
             "start instead of failing (or reaching another port) at the first query.")


def _serves_with_symbols_and_prints_no_secret(lab: Lab, found: Secrets) -> None:
    env = _env(lab, found, found.password)
    try:
        srv = lab.serve("app.main:app", ready_path="/health", env=env, timeout=30)
    except AppExited as exc:
        _no_leak(found, exc.logs, "The error output of the failed start")
        raise AssertionError(
            "With a database password containing '/', '@' and ':' the app did not start. Its output ends:\n"
            + "\n".join(exc.logs.strip().splitlines()[-3:])
            + "\nBuild the URL with sqlalchemy.URL.create(...), which escapes each part."
        ) from None
    response = srv.get("/notes", headers={"Authorization": f"Bearer {_token('check', found.key)}"})
    logs = srv.logs() + srv.stop().logs
    assert response.status_code == 200, (
        f"With a database password containing '/', '@' and ':', GET /notes with a valid token answered "
        f"{response.status_code}. Build the URL with sqlalchemy.URL.create(...), which escapes each part."
    )
    _no_leak(found, logs, "The app's log")
    ran = lab.run(["python", "-c", SETTINGS_PROBE], env=env, timeout=30)
    lines = [line for line in ran.output.splitlines() if line.startswith("RESULT ")]
    assert ran.returncode == 0 and lines, (
        "Importing app.main in a fresh process failed; its output ends with:\n"
        + "\n".join(ran.output.strip().splitlines()[-5:])
    )
    for shown in json.loads(lines[-1][len("RESULT "):]):
        _no_leak(found, shown, "repr() or str() of the app's settings")


def check(lab: Lab) -> None:
    pg = _server(lab)
    head, middle, near, tail = (secrets.token_urlsafe(6) for _ in range(4))
    found = Secrets(plain=secrets.token_urlsafe(18), password=f"{head}/{middle}@{near}:{tail}",
                    key=secrets.token_urlsafe(32))
    pg.query(f'drop role if exists "{ROLE}"')
    pg.query(f'create role "{ROLE}" login password %s', found.password)
    try:
        _missing_secret_key(lab, found)
        _serves_with_symbols_and_prints_no_secret(lab, found)
        _port_out_of_range(lab, found)
    finally:
        deadline = time.monotonic() + 5
        while pg.query("select count(*) from pg_stat_activity where usename = %s", ROLE)[0][0]:
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        pg.query(f'drop role if exists "{ROLE}"')
