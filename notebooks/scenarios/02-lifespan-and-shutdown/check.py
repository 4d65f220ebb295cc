"""Judge the items API by what it does when it starts and stops, not by how it is written.

Three behaviours, checked in this order:

1. Started and stopped several times in one process (as a test suite does with
   ``with TestClient(app)``), the app leaves no database connection open.
2. With the database unreachable, the app does not start serving: uvicorn exits
   with a non-zero code.
3. Its logs never contain the database password, even for a URL whose user
   name and password contain ``@``.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import TYPE_CHECKING
from urllib.parse import quote

from sqlalchemy.engine import make_url

from labkit import AppExited, LabkitError
from labkit._ports import free_port

if TYPE_CHECKING:
    from labkit import Lab, Postgres

CYCLES = 3

# Runs in a child process from the work dir: enter and leave the app's lifespan
# CYCLES times, counting the database's client connections after each exit.
CHILD = r"""
import json, logging, os, sys, warnings
warnings.simplefilter("ignore")
import psycopg2
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

url = make_url(os.environ["DATABASE_URL"])
counter = psycopg2.connect(host=url.host, port=url.port, user=url.username, password=url.password,
                           dbname=url.database, application_name="lab-check-counter")
counter.autocommit = True

def open_connections():
    with counter.cursor() as cur:
        cur.execute("select count(*) from pg_stat_activity where backend_type = 'client backend' "
                    "and pid <> pg_backend_pid() and datname = current_database() "
                    "and application_name <> 'labkit-admin'")
        return cur.fetchone()[0]

baseline = open_connections()
from app.main import app
logging.disable(logging.CRITICAL)
cycles = []
for _ in range(int(sys.argv[1])):
    with TestClient(app) as client:
        status = client.get("/items").status_code
    cycles.append([status, open_connections()])
print("RESULT " + json.dumps({"baseline": baseline, "cycles": cycles}))
"""


def _no_leak_across_lifespans(lab: Lab) -> None:
    ran = lab.run(["python", "-c", CHILD, str(CYCLES)], timeout=60)
    lines = [line for line in ran.output.splitlines() if line.startswith("RESULT ")]
    assert ran.returncode == 0 and lines, (
        "Running the app's lifespan in one process failed; the output ends with:\n"
        + "\n".join(ran.output.strip().splitlines()[-8:])
    )
    result = json.loads(lines[-1][len("RESULT "):])
    baseline: int = result["baseline"]
    for number, (status, count) in enumerate(result["cycles"], start=1):
        assert status == 200, f"GET /items answered {status} in start/stop cycle {number}."
        assert count <= baseline, (
            f"After {number} start/stop cycle(s) of the app in one process, {count - baseline} more database "
            f"connection(s) were open than before it started. Whatever the app opens at startup must be "
            "closed when it stops: dispose the engine in the shutdown half of a lifespan."
        )


def _server(lab: Lab) -> Postgres:
    assert lab.pg is not None, "This check needs a server: labkit.Lab(name, pg=labkit.postgres())."
    return lab.pg


def _fails_fast_without_database(lab: Lab) -> None:
    dead = make_url(_server(lab).url("asyncpg")).set(port=free_port())  # nothing listens there
    try:
        srv = lab.serve("app.main:app", ready_path="/health", timeout=20,
                        env={"DATABASE_URL": dead.render_as_string(hide_password=False)})
    except AppExited as exc:
        assert exc.exit_code != 0, "The app exited with code 0 although its database was unreachable."
        return
    except LabkitError:
        raise AssertionError(
            "With the database unreachable, the app neither answered HTTP nor exited within 20 s. "
            "Let the startup error propagate so that uvicorn exits."
        ) from None
    status = srv.get("/health").status_code
    srv.stop()
    raise AssertionError(
        f"With the database unreachable, the app still started and answered GET /health with {status}. "
        "Startup must fail (log one clear line and re-raise) so that uvicorn exits non-zero."
    )


def _password_stays_out_of_logs(lab: Lab) -> None:
    role = "svc@lab-check"
    pg = _server(lab)
    head, tail = secrets.token_hex(6), secrets.token_hex(6)
    password = f"{head}@{tail}"
    pg.query(f'drop role if exists "{role}"')
    pg.query(f'create role "{role}" login password %s', password)
    try:
        base = make_url(pg.url("asyncpg"))
        # the user@server form of the user name, written as is; the password percent-encoded
        url = f"postgresql+asyncpg://{role}:{quote(password, safe='')}@{base.host}:{base.port}/{base.database}"
        srv = lab.serve("app.main:app", ready_path="/health", env={"DATABASE_URL": url})
        status = srv.get("/items").status_code
        logs = srv.logs() + srv.stop().logs
        assert status == 200, f"GET /items answered {status} for a user name and password containing @."
        leaked = [line for line in logs.splitlines() if head in line or tail in line]
        assert not leaked, (
            "The app logged (part of) the database password: " + leaked[0].strip()
            + "\nMask it with the URL parser: make_url(url).render_as_string(hide_password=True)."
        )
    finally:
        deadline = time.monotonic() + 5
        while pg.query("select count(*) from pg_stat_activity where usename = %s", role)[0][0]:
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        pg.query(f'drop role if exists "{role}"')


def check(lab: Lab) -> None:
    _no_leak_across_lifespans(lab)
    _fails_fast_without_database(lab)
    _password_stays_out_of_logs(lab)
