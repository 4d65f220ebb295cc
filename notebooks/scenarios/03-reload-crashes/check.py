"""`python -m app.main` serves with auto-reload, and the start-up work runs once per worker, never in the reloader.

Judged from the outside, so any correct fix passes: the dev server is started the way the
project starts it, reloaded twice by saving app/main.py, and then the audit rows in
``app_starts`` (one per run of the start-up work, with its pid) and the database connections
each process holds are compared with the worker pids uvicorn logged.
"""

from __future__ import annotations

import re
import sys
import time
from collections import Counter
from typing import Any

import psutil
from sqlalchemy import make_url

from labkit import AppExited, LabkitError
from labkit._ports import free_port

RELOADS = 2
WORKER_STARTED = re.compile(r"Started server process \[(\d+)\]")
BOOTSTRAP = ("bootstrapping phase", "Safe importing of main module", "freeze_support")


def _last_id(lab: Any) -> int:
    """The newest ``app_starts`` id so far (0 if the table does not exist yet)."""
    if lab.pg.query("select to_regclass('app_starts')")[0][0] is None:
        return 0
    return int(lab.pg.query("select coalesce(max(id), 0) from app_starts")[0][0])


def _starts_since(lab: Any, last_id: int) -> list[int]:
    """Pids of the start-up runs recorded after ``last_id``."""
    if lab.pg.query("select to_regclass('app_starts')")[0][0] is None:
        return []
    return [int(pid) for (pid,) in lab.pg.query("select pid from app_starts where id > %s order by id", last_id)]


def _held_by_reloader(lab: Any, reloader_pid: int) -> int:
    """Open TCP connections from the reloader process to the lab's PostgreSQL."""
    pg_port = make_url(lab.pg.url("psycopg2")).port
    sockets = psutil.Process(reloader_pid).net_connections(kind="tcp")
    return sum(1 for c in sockets if c.raddr and c.raddr.port == pg_port and c.status == psutil.CONN_ESTABLISHED)


def _settled_count(lab: Any, baseline: int, at_most: int) -> int:
    """Client connections above ``baseline``; waits up to 2 s for a just-ended process's ones to go."""
    deadline = time.monotonic() + 2.0
    while True:
        count = lab.pg.connections() - baseline
        if count <= at_most or time.monotonic() > deadline:
            return count
        time.sleep(0.1)


def _tail(text: str, lines: int = 3) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def check(lab: Any) -> None:
    last_id = _last_id(lab)
    baseline = lab.pg.connections()
    try:
        srv = lab.launch([sys.executable, "-m", "app.main"], port=free_port(), ready_path="/health", timeout=12)
    except AppExited as exc:
        hint = ""
        if "import string" in exc.logs:
            hint = (" With reload, the worker is a new process that imports the app by name:"
                    " uvicorn.run needs \"app.main:app\", not the app object.")
        raise AssertionError(
            f"`python -m app.main` exited with code {exc.exit_code} instead of serving. "
            f"Its log ends: {_tail(exc.logs)}{hint}"
        ) from None
    except LabkitError as exc:
        if any(marker in str(exc) for marker in BOOTSTRAP):
            raise AssertionError(
                "The reload worker died at birth with multiprocessing's RuntimeError (\"...before the current "
                "process has finished its bootstrapping phase\"). The worker is spawned: it re-runs app/main.py "
                "as __mp_main__, and the module-level uvicorn.run() inside it tries to start yet another process. "
                "Only start the server when __name__ == \"__main__\"."
            ) from None
        raise AssertionError(f"`python -m app.main` did not answer HTTP within 12 s: {exc.problem}") from None

    response = srv.get("/starts")
    assert response.status_code == 200, f"GET /starts answered {response.status_code}: {response.text[:200]}"
    after_start = _settled_count(lab, baseline, at_most=10**6)
    counts = []
    for _ in range(RELOADS):
        srv.touch("app/main.py")
        srv.get("/starts")
        counts.append(_settled_count(lab, baseline, at_most=after_start))
    in_reloader = _held_by_reloader(lab, srv.pid)
    workers = [int(pid) for pid in WORKER_STARTED.findall(srv.logs())]
    runs = Counter(_starts_since(lab, last_id))
    srv.stop()

    assert runs[srv.pid] == 0, (
        f"The start-up work ran {runs[srv.pid]} time(s) in the reloader, the process you launched. It only "
        "watches files and starts workers; it executes app/main.py as the program, so module-level work runs "
        "there too. Move the start-up work where only a serving process runs it (the app's lifespan)."
    )
    assert len(workers) == RELOADS + 1, f"expected {RELOADS + 1} worker starts in the log, found {len(workers)}"
    per_worker = [runs[pid] for pid in workers]
    assert all(n >= 1 for n in per_worker), (
        f"Start-up runs per worker: {per_worker}. Each worker must still create the tables and record its "
        "start (one app_starts row) before it serves."
    )
    assert all(n == 1 for n in per_worker), (
        f"Start-up runs per worker: {per_worker}, expected 1 each. A spawned worker executes app/main.py twice "
        "(as __mp_main__, then as app.main for the import string), so module-level work runs twice."
    )
    strays = sorted(set(runs) - set(workers) - {srv.pid})
    assert not strays, f"{len(strays)} start-up run(s) came from processes that never served"
    assert in_reloader == 0, (
        f"The reloader process holds {in_reloader} database connection(s). It should never touch the database; "
        "an engine used at import time keeps its pooled connection there for as long as the dev server runs."
    )
    assert max(counts) <= after_start, (
        f"Database connections grew across reloads: {after_start} after start, then {counts} after each reload."
    )
