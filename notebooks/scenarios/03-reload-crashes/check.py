"""03: ``python -m app.main`` serves with auto-reload; start-up work runs once per worker, never in the reloader.

The dev server is started as the project starts it and reloaded twice by saving app/main.py; the
``app_starts`` rows (one per run of the start-up work, with its pid) and the connections each
process holds are compared with the worker pids uvicorn logged.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import NamedTuple

from labkit import AppExited, AppNotAnswering, free_port
from labkit.checking import Context, last_error, process_connections, requirement, settle

RELOADS = 2
WORKER_STARTED = re.compile(r"Started server process \[(\d+)\]")
BOOTSTRAP = ("bootstrapping phase", "Safe importing of main module", "freeze_support")

STARTUP = 30  # seconds for the reloader and its worker to answer; a busy 2-core machine needs more than 10


class Reloads(NamedTuple):  # a NamedTuple: check.py is loaded outside sys.modules, where dataclasses fail
    reloader: int  # the pid of the process launched
    workers: list[int]  # the worker pids uvicorn logged, in order
    runs: Counter[int]  # pid -> runs of the start-up work recorded by that process
    in_reloader: int  # database connections the reloader holds
    after_start: int  # client connections once the first worker served
    after_reloads: list[int]  # client connections after each reload


def _starts(ctx: Context, after_id: int | None = None) -> list[tuple[int, int]]:
    """(id, pid) of the start-up runs recorded in app_starts (none while the table does not exist)."""
    if ctx.pg.query("select to_regclass('app_starts')")[0][0] is None:
        return []
    return [
        (int(i), int(p))
        for i, p in ctx.pg.query("select id, pid from app_starts where id > %s order by id", after_id or 0)
    ]


def _reload_twice(ctx: Context) -> Reloads:
    last_id = max((i for i, _ in _starts(ctx)), default=0)
    baseline = ctx.pg.connections()
    try:
        srv = ctx.lab.launch(["python", "-m", "app.main"], port=free_port(), ready_path="/health", timeout=STARTUP)
    except AppExited as exc:
        why = (
            ' With reload, the worker imports the app by name: uvicorn.run needs "app.main:app", not the app object.'
            if "import string" in exc.logs
            else ""
        )
        raise AssertionError(
            f"`python -m app.main` exited with code {exc.exit_code} instead of serving: "
            f"{last_error(exc.logs, ctx.workdir).rstrip('.')}.{why}"
        ) from None
    except AppNotAnswering as exc:
        if any(marker in exc.logs for marker in BOOTSTRAP):
            raise AssertionError(
                'The reload worker died at birth ("...before the current process has finished its bootstrapping '
                'phase"): it re-runs app/main.py as __mp_main__, and the module-level uvicorn.run() starts yet '
                'another process. Only start the server when __name__ == "__main__".'
            ) from None
        raise AssertionError(
            f"`python -m app.main` did not answer HTTP within {STARTUP} s: {last_error(exc.logs)}"
        ) from None
    with srv:
        response = srv.get("/starts")
        assert response.status_code == 200, f"GET /starts answered {response.status_code}: {response.text[:200]}"
        after_start = ctx.pg.connections() - baseline
        counts = []
        for _ in range(RELOADS):
            srv.touch("app/main.py")
            srv.get("/starts")
            counts.append(
                settle(
                    lambda: ctx.pg.connections() - baseline,
                    lambda n: n <= after_start,
                    2.0,
                    "the connections of the old worker to close",
                )
            )
        in_reloader = process_connections(ctx.pg, srv.pid)
        workers = [int(pid) for pid in WORKER_STARTED.findall(srv.logs())]
        runs = Counter(pid for _, pid in _starts(ctx, last_id))
    return Reloads(srv.pid, workers, runs, in_reloader, after_start, counts)


@requirement(
    core=True,
    edit="app/main.py",
    step=(1, 2),
    timeout=90,
    hints=(
        "Run `python -m app.main` in a terminal: read what uvicorn says, fix it, and run it again.",
        'With reload, the worker is a new process that imports the app by name: uvicorn.run("app.main:app", ...), '
        'called only under if __name__ == "__main__":.',
    ),
)
def serves_with_reload(ctx: Context) -> None:
    """`python -m app.main` serves, and keeps serving across two reloads."""
    reloads = ctx.shared("reloads", lambda: _reload_twice(ctx))
    assert len(reloads.workers) == RELOADS + 1, (
        f"Expected {RELOADS + 1} worker starts in the log (one per reload), found {len(reloads.workers)}."
    )


@requirement(
    core=True,
    edit="app/main.py",
    step=3,
    timeout=90,
    hints=(
        "The reloader runs app/main.py as the program, and each worker runs it twice: "
        "where does module-level code run?",
        "Move the start-up work (create_all, the app_starts row) into the app's lifespan: "
        "only a serving process runs it, once per start.",
    ),
)
def startup_once_per_worker(ctx: Context) -> None:
    """The start-up work runs once in each worker and never in the reloader."""
    reloads = ctx.shared("reloads", lambda: _reload_twice(ctx))
    in_reloader = reloads.runs[reloads.reloader]
    assert in_reloader == 0, (
        f"The start-up work ran {in_reloader} time(s) in the reloader, which only watches files: "
        "move it where only a serving process runs it (the app's lifespan)."
    )
    per_worker = [reloads.runs[pid] for pid in reloads.workers]
    assert all(n == 1 for n in per_worker), (
        f"Start-up runs per worker: {per_worker}, expected 1 each. A spawned worker executes app/main.py twice "
        "(as __mp_main__, then as app.main), so module-level work runs twice."
    )
    strays = set(reloads.runs) - set(reloads.workers) - {reloads.reloader}
    assert not strays, f"{len(strays)} start-up run(s) came from processes that never served."


@requirement(
    core=True,
    edit="app/db.py",
    step=3,
    timeout=90,
    hints=(
        "Which process holds the engine's pooled connection while the dev server runs, and who closes it?",
        "Build the engine in the lifespan and await/call engine.dispose() after its yield: "
        "the reloader then never connects, and each old worker gives its connection back.",
    ),
)
def reloader_holds_no_connection(ctx: Context) -> None:
    """The reloader holds no database connection, and reloads do not add connections."""
    reloads = ctx.shared("reloads", lambda: _reload_twice(ctx))
    assert reloads.in_reloader == 0, (
        f"The reloader process holds {reloads.in_reloader} database connection(s): an engine used at import "
        "keeps its pooled connection there for as long as the dev server runs."
    )
    assert max(reloads.after_reloads) <= reloads.after_start, (
        f"Database connections grew across reloads: {reloads.after_start} after start, "
        f"then {reloads.after_reloads} after each reload."
    )
