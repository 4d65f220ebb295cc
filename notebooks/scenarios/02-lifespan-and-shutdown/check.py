"""02: the items API judged by what it does when it starts and stops, not by how it is written."""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import make_url

from labkit.checking import Context, requirement, run_json, scratch_role, start_once, unreachable_url

LIFESPAN_CYCLES = Path(__file__).with_name("lifespan_cycles.py")
CYCLES = 3


@requirement(
    core=True,
    edit="app/main.py",
    step=1,
    hints=(
        "Start and stop the app three times in one process (as a test suite does): who closes the engine's pool?",
        "Own the engine in a lifespan (@asynccontextmanager, FastAPI(lifespan=...)): create it before yield, "
        "await engine.dispose() after it.",
    ),
)
def stops_without_leaking(ctx: Context) -> None:
    """Started and stopped 3 times in one process, the app leaves no connection open."""
    found = run_json(ctx.lab, LIFESPAN_CYCLES, str(CYCLES), timeout=45)
    for number, (status, count) in enumerate(found["cycles"], start=1):
        assert status == 200, f"GET /items answered {status} in start/stop cycle {number}."
        assert count <= found["baseline"], (
            f"After {number} start/stop cycle(s) in one process, {count - found['baseline']} more connection(s) "
            "were open than before: dispose the engine in the shutdown half of a lifespan."
        )


@requirement(
    core=True,
    edit="app/main.py",
    step=2,
    hints=(
        "With the database down, does the app keep serving? What does a deploy script see then?",
        "In the startup code, log one clear line and re-raise (raise) instead of swallowing the exception: "
        "uvicorn then exits with a non-zero code.",
    ),
)
def fails_fast_without_database(ctx: Context) -> None:
    """With the database unreachable, uvicorn exits non-zero instead of serving."""
    start = start_once(ctx.lab, ready_path="/health", timeout=20, env={"DATABASE_URL": unreachable_url(ctx.pg)})
    assert start.exit_code is not None, (
        f"With the database unreachable, the app still started and answered GET "
        f"/health with {start.status}: log one clear line and re-raise."
    )
    assert start.exit_code != 0, "The app exited with code 0 although its database was unreachable."


@requirement(
    core=False,
    edit="app/db.py",
    step=3,
    hints=(
        "Try a user name with an @ in it (Azure's user@server form): where does url.split('@') cut?",
        "Let SQLAlchemy's URL parser find the password: make_url(url).render_as_string(hide_password=True).",
    ),
)
def password_stays_out_of_logs(ctx: Context) -> None:
    """The log never shows the password, even for a user name with an @."""
    head, tail = secrets.token_hex(6), secrets.token_hex(6)
    password = f"{head}@{tail}"
    base = make_url(ctx.pg.url("asyncpg"))
    with scratch_role(ctx.pg, "svc@lab-check", password) as role:
        # the user@server form of the user name, written as is; the password percent-encoded
        url = f"postgresql+asyncpg://{role}:{quote(password, safe='')}@{base.host}:{base.port}/{base.database}"
        start = start_once(ctx.lab, "/items", ready_path="/health", env={"DATABASE_URL": url})
    assert start.status == 200, f"GET /items answered {start.status} for a user name and password containing @."
    leaked = [line for line in start.logs.splitlines() if head in line or tail in line]
    assert not leaked, (
        f"The app logged (part of) the password: {leaked[0].strip()[:200]}. "
        "Mask it with make_url(url).render_as_string(hide_password=True)."
    )
