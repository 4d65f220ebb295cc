"""Judge the reports API by what it does, not by which driver or keyword it uses.

Four behaviours, checked in this order:

1. Given a provider-style libpq URL (``postgresql://...?sslmode=...&channel_binding=...``),
   pointed at the lab's server, the app starts and ``GET /report`` answers 200.
2. While 20 reports of 0.2 s each run at once, ``GET /health`` still answers at once and
   the 20 reports finish in far less than the 4 s they take one after another: nothing
   blocks the event loop. (A plain ``def`` route on psycopg2 passes, as does asyncpg.)
3. With ``sslmode=require`` against this server, which has no TLS, the app does not fall
   back to plaintext: it refuses to serve reports (a translation that silently drops
   ``sslmode`` fails here).
4. No file of the project holds a password inside a URL.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import labkit
from labkit import AppExited
from sqlalchemy.engine import make_url

REPORTS = 20
SECONDS = 0.2
SERIAL = REPORTS * SECONDS  # what the reports take when they run one after another
HEALTH_LIMIT = 1.0  # s: a free event loop answers /health in milliseconds
# scheme://user:password@ ; the password is group 1
PASSWORD_IN_URL = re.compile(r"\b[a-z][a-z0-9+.\-]*://[^\s:/@'\"]+:([^\s@/'\"]+)@", re.IGNORECASE)
PLACEHOLDER = ("$", "{", "%", "<", "*")  # ${VAR}, {password}, %(pw)s, <password>, ***
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception)\b.*: ")  # TypeError: ..., asyncpg.x.Error: ...


def provider_url(lab: Any, **query: str) -> str:
    """The lab's server as a provider's dashboard writes it: postgresql:// and libpq parameters."""
    url = make_url(lab.pg.url("psycopg2")).set(drivername="postgresql").update_query_dict(query)
    return url.render_as_string(hide_password=False)


def _error_line(srv: Any) -> str:
    """The exception line of the app's last traceback (logged just after the 500 is sent)."""
    deadline = time.monotonic() + 3
    while True:
        raised = [line.strip() for line in srv.logs().splitlines() if EXCEPTION_LINE.match(line)]
        if raised or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return raised[-1] if raised else "(no exception in the app's log)"


def _serve(lab: Any, url: str) -> Any:
    try:
        return lab.serve("app.main:app", ready_path="/health", env={"DATABASE_URL": url}, timeout=20)
    except AppExited as exc:
        tail = "\n".join(exc.logs.strip().splitlines()[-3:])
        raise AssertionError(
            f"The app did not start with a provider-style DATABASE_URL. Its log ends with:\n{tail}"
        ) from None


def _works_with_provider_url(lab: Any) -> Any:
    srv = _serve(lab, provider_url(lab, sslmode="prefer", channel_binding="prefer"))
    response = srv.get("/report", params={"seconds": 0})
    assert response.status_code == 200, (
        f"With DATABASE_URL=postgresql://...?sslmode=prefer&channel_binding=prefer, GET /report answered "
        f"{response.status_code}. The app log says: {_error_line(srv)}\n"
        "asyncpg takes no libpq parameters: translate the URL (sslmode -> ssl, drop channel_binding) "
        "with make_url / URL.set / URL.update_query_dict."
    )
    return srv


def _loop_stays_free(srv: Any, pg: Any) -> None:
    running = labkit.start_load(f"{srv.url}/report?seconds={SECONDS}", requests=REPORTS, concurrency=REPORTS,
                                timeout=15, deadline=20)
    try:
        pg.wait_for_query()  # the reports reach the database: measure /health from here
    except labkit.LabkitError:
        failed = running.result()
        raise AssertionError(
            f"{REPORTS} concurrent GET /report never got as far as a query in PostgreSQL "
            f"(answers: {dict(failed.outcomes)}). The app log says: {_error_line(srv)}") from None
    time.sleep(0.05)  # the rest of the burst, sent in the same instant, reaches the app
    health = labkit.load(f"{srv.url}/health", requests=5, concurrency=5, timeout=15, deadline=20)
    burst = running.result()
    slowest = max(health.latencies)
    assert burst.errors == 0 and health.errors == 0, (
        f"Some requests failed under load: reports {dict(burst.outcomes)}, /health {dict(health.outcomes)}."
    )
    assert slowest < HEALTH_LIMIT, (
        f"While {REPORTS} reports of {SECONDS} s ran, GET /health took up to {slowest:.1f} s, and the "
        f"reports took {burst.wall_seconds:.1f} s in all (one after another: {SERIAL:.1f} s). The event "
        "loop is blocked: a blocking driver call (psycopg2) runs inside an async def route. Make the route "
        "a plain def (FastAPI runs it in a thread), or use an async driver (asyncpg) and await the query."
    )
    assert burst.wall_seconds < SERIAL / 2, (
        f"/health stays fast now, but {REPORTS} reports of {SECONDS} s took {burst.wall_seconds:.1f} s in "
        f"all; they should run side by side (well under {SERIAL / 2:.1f} s). Is the pool (pool_size + "
        f"max_overflow) smaller than {REPORTS}?"
    )


def _refuses_plaintext(lab: Any) -> None:
    try:
        srv = lab.serve("app.main:app", ready_path="/health", timeout=20,
                        env={"DATABASE_URL": provider_url(lab, sslmode="require")})
    except AppExited as exc:  # refusing at startup is fine, unless it is the keyword error
        assert "unexpected keyword argument" not in exc.logs, (
            "With sslmode=require the app crashed with: TypeError ... unexpected keyword argument. "
            "Translate sslmode to asyncpg's ssl."
        )
        return
    status = srv.get("/report", params={"seconds": 0}).status_code
    error = _error_line(srv) if status != 200 else ""
    srv.stop()
    assert status != 200, (
        "With sslmode=require, against a server that has no TLS, GET /report answered 200: the app "
        "talked plaintext although the URL demands TLS. Translate sslmode to ssl; never drop it."
    )
    assert "unexpected keyword argument" not in error, (
        f"With sslmode=require the app failed with: {error}. Translate sslmode to asyncpg's ssl."
    )


def passwords_in_urls(root: Path) -> list[str]:
    """file:line of every URL literal with a password in the project's files (placeholders excepted).

    A file the project's .gitignore names (such as a developer's own .env) is not committed, so it is skipped.
    """
    gitignore = root / ".gitignore"
    ignored = {line.strip().strip("/") for line in gitignore.read_text().splitlines()
               if line.strip() and not line.startswith("#")} if gitignore.is_file() else set()
    found: list[str] = []
    for path in sorted(root.rglob("*")):
        relative = str(path.relative_to(root))
        if (not path.is_file() or "__pycache__" in path.parts or path.name.startswith(".labkit")
                or path.name in ignored or relative in ignored):
            continue
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            for match in PASSWORD_IN_URL.finditer(line):
                if not match.group(1).startswith(PLACEHOLDER):
                    found.append(f"{relative}:{number}")
    return found


def _no_password_in_files(lab: Any) -> None:
    found = passwords_in_urls(Path(lab.workdir))
    assert not found, (
        f"A password is written in a URL in {', '.join(found)}. Anyone who can read the repository "
        "can read it, and git keeps it after you delete it. Read DATABASE_URL from the environment "
        "(no default), keep .env out of git, and rotate a password that was ever committed."
    )


def check(lab: Any) -> None:
    srv = _works_with_provider_url(lab)
    try:
        _loop_stays_free(srv, lab.pg)
    finally:
        srv.stop()
    _refuses_plaintext(lab)
    _no_password_in_files(lab)
