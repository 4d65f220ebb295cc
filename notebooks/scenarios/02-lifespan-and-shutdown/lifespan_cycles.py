"""Enter and leave the app's lifespan several times in one process, counting connections after each exit.

Run by check.py in the work dir (labkit.checking.run_json): ``lifespan_cycles.py CYCLES``; prints
one RESULT line: the connections before the app started, then [status of GET /items, connections]
per cycle.
"""

import gc
import json
import logging
import os
import sys
import warnings

import psycopg2
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

warnings.simplefilter("ignore")  # on_event's DeprecationWarning, and the like
url = make_url(os.environ["DATABASE_URL"])
counter = psycopg2.connect(
    host=url.host,
    port=url.port,
    user=url.username,
    password=url.password,
    dbname=url.database,
    application_name="lab-check-counter",
)
counter.autocommit = True


def open_connections() -> int:
    with counter.cursor() as cur:
        cur.execute(
            "select count(*) from pg_stat_activity where backend_type = 'client backend' "
            "and pid <> pg_backend_pid() and datname = current_database() "
            "and application_name <> 'labkit-admin'"
        )
        return int(cur.fetchone()[0])


baseline = open_connections()
from app.main import app  # noqa: E402  imported after the baseline: importing is part of what is measured

logging.disable(logging.CRITICAL)
gc.disable()  # as lifespan_probe.py: no collection at a moment nobody chose closes a dropped engine's connections
cycles = []
for _ in range(int(sys.argv[1])):
    with TestClient(app) as client:
        status = client.get("/items").status_code
    cycles.append([status, open_connections()])
print("RESULT " + json.dumps({"baseline": baseline, "cycles": cycles}))
