"""Notebook 03's measurements: one call each, loaded in the notebook as ``ref.harness``.

- :func:`run_dev_server`: ``python -m app.main`` when it ends or crashes: exit code, uvicorn's message, the
  traceback's frames, and the start-up runs it recorded;
- :func:`reloads`: a dev server that serves (``python -m app.main``, or uvicorn's own CLI with
  ``cli=True``), saved N times; per reload: the start-up runs so far, the connections PostgreSQL sees,
  and which process holds them (the reloader or the worker);
- :func:`doctor`: what ``labkit doctor`` reports on a project;
- :func:`reload_reconnects`: report 003's own app (``on_event`` handlers) under ``--reload``, saved once.

The app records each run of its start-up work as one ``app_starts`` row (pid, process name, the name the
module ran under); every measurement starts from an empty table. Every function takes a ``labkit.Lab``
whose ``pg`` is set and returns a small result object that prints as text or a table and keeps the
numbers for the text's checks.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import psutil
from sqlalchemy.engine import make_url

from labkit import Lab, Postgres, Table, WaitTimeout, free_port, wait_until

APP_NAME = "reload-lab"  # the application_name app/db.py sets on its connections
WORKER_STARTED = re.compile(r"Started server process \[(\d+)\]")
HERE = Path(__file__).parent
STORY = ("spawn.py", "main.py", "basereload.py", "process.py")  # the traceback frames that tell what happened


def _clear_starts(pg: Postgres) -> None:
    pg.query("drop table if exists app_starts")


def _start_rows(pg: Postgres) -> list[tuple[int, str, str]]:
    """(pid, process, module) of every recorded run of the start-up work, oldest first."""
    if pg.query("select to_regclass('app_starts')")[0][0] is None:
        return []
    return [
        (int(pid), str(process), str(module))
        for pid, process, module in pg.query("select pid, process, module from app_starts order by id")
    ]


def starts_table(rows: list[tuple[int, str, str]]) -> Table:
    """Start-up runs per process and per name the module ran under; the workers (SpawnProcess-n) together."""
    workers = sorted(
        {process for _, process, _ in rows if process.startswith("SpawnProcess-")},
        key=lambda name: int(name.rsplit("-", 1)[1]),
    )
    together = (
        workers[0] if len(workers) == 1 else f"{len(workers)} workers: {workers[0]} to {workers[-1]}" if workers else ""
    )
    counts = Counter((together if process in workers else process, module) for _, process, module in rows)
    return Table(
        ("process", "module ran as", "start-up runs"),
        tuple((process, module, str(n)) for (process, module), n in counts.items()),
    )


class _Shown:
    def text(self) -> str:
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.text()


# -- python -m app.main, when it does not serve ------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Ended(_Shown):
    exit_code: int  # -9: labkit stopped it once the output showed the crash (the reloader lives on)
    message: list[str]  # uvicorn's refusal, or the RuntimeError's lines
    frames: list[str]  # the traceback's frames that tell the story, "folder/file: function"
    reloaders_started: int
    workers_started: int
    starts: list[tuple[int, str, str]]

    def text(self) -> str:
        lines = [
            f"exit code {self.exit_code}"
            + (" (stopped by labkit once the crash was printed)" if self.exit_code == -9 else ""),
            "",
            *self.message,
        ]
        if self.frames:
            lines += ["", "traceback frames, outermost first:", *(f"  {frame}" for frame in self.frames)]
        lines += [
            "",
            f"reloaders started: {self.reloaders_started}, workers that served: {self.workers_started}",
            "",
            str(starts_table(self.starts)),
        ]
        return "\n".join(lines)


def run_dev_server(lab: Lab, timeout: float = 30.0) -> Ended:
    """Run ``python -m app.main`` from the work dir until it exits, or until it prints multiprocessing's
    bootstrapping ``RuntimeError`` (then stop it: a reloader without a worker would watch files forever)."""
    assert lab.pg is not None
    _clear_starts(lab.pg)
    ran = lab.run(["python", "-m", "app.main"], until="bootstrapping phase", timeout=timeout)
    lines = [line.strip() for line in ran.output.splitlines()]
    error = next((i for i, line in enumerate(lines) if line.startswith("RuntimeError")), None)
    if error is not None:
        message = lines[error : error + 3]
    else:
        message = [line for line in lines if line.startswith(("WARNING", "ERROR"))][:3]
    frames = [
        f"{Path(path).parent.name}/{Path(path).name}: {function}"
        for path, _, function in re.findall(r'File "([^"]+)", line (\d+), in (\S+)', ran.output)
        if Path(path).name in STORY
    ]
    return Ended(
        ran.returncode,
        message,
        frames,
        ran.output.count("Started reloader process"),
        ran.output.count("Started server process"),
        _start_rows(lab.pg),
    )


# -- a dev server that serves, saved again and again -------------------------------------------------


@dataclass(frozen=True, repr=False)
class Reloads(_Shown):
    command: str
    rows: list[tuple[int, int, int, int, int]]  # reload, start-up runs so far, PostgreSQL sees, reloader, worker
    reloader: int  # the pid of the process launched
    workers: list[int]  # the worker pids uvicorn logged, in order
    starts: list[tuple[int, str, str]]  # (pid, process, module) of every start-up run
    bare_import_runs: int  # start-up runs added by `python -c "import app.main"`
    disposed: int  # "Engine disposed" lines logged by the workers the reloads replaced (before the final Ctrl+C)
    left_after_stop: int  # the app's connections once the dev server has ended

    @property
    def runs_per_worker(self) -> list[int]:
        runs = Counter(pid for pid, _, _ in self.starts)
        return [runs[pid] for pid in self.workers]

    @property
    def runs_in_reloader(self) -> int:
        return sum(1 for pid, _, _ in self.starts if pid == self.reloader)

    def table(self) -> Table:
        return Table(
            (
                "reload",
                "start-up runs so far",
                "connections PostgreSQL sees",
                "held by the reloader",
                "held by the worker",
            ),
            tuple(tuple(map(str, row)) for row in self.rows),
        )

    def text(self) -> str:
        return "\n".join(
            [
                f"$ {self.command}",
                "",
                str(self.table()),
                "",
                str(starts_table(self.starts)),
                "",
                f"start-up runs added by a bare `import app.main`: {self.bare_import_runs}",
            ]
        )

    def _repr_html_(self) -> str:
        import html

        return (
            f"<p><code>$ {html.escape(self.command)}</code></p>"
            + self.table()._repr_html_()
            + starts_table(self.starts)._repr_html_()
            + f"<p>start-up runs added by a bare <code>import app.main</code>: {self.bare_import_runs}</p>"
        )


def _held(reloader: int, pg_port: int) -> dict[str, int]:
    """Open connections to PostgreSQL held by the reloader and by its worker, counted from their side."""
    counts = {"reloader": 0, "worker": 0}
    root = psutil.Process(reloader)
    for proc in [root, *root.children(recursive=True)]:
        try:
            role = (
                "reloader" if proc.pid == reloader else "worker" if "spawn_main" in " ".join(proc.cmdline()) else None
            )
            if role:
                counts[role] += sum(
                    1
                    for c in proc.net_connections(kind="tcp")
                    if c.raddr and c.raddr.port == pg_port and c.status == psutil.CONN_ESTABLISHED
                )
        except psutil.NoSuchProcess:  # a worker that has just ended
            pass
    return counts


def reloads(lab: Lab, count: int, *, cli: bool = False) -> Reloads:
    """Start the dev server (``python -m app.main``, or ``uvicorn app.main:app --reload`` with ``cli=True``),
    then save ``app/main.py`` ``count`` times as an editor does, waiting each time for the new worker.

    At the start and after each reload: one ``GET /starts`` (so the worker has used its pool), the
    start-up runs so far, and the connections each process holds (psutil); then it waits until
    PostgreSQL's count of the app's connections agrees with what the living processes hold (a replaced
    worker's sessions end a moment after it exits) and records that count. Then a bare
    ``import app.main`` in another process, and Ctrl+C, after which the app's connections must be gone.
    """
    assert lab.pg is not None
    pg = lab.pg
    pg_port = make_url(pg.url("psycopg2")).port
    assert pg_port is not None
    _clear_starts(pg)
    if cli:
        command = "uvicorn app.main:app --reload"
        srv = lab.serve("app.main:app", reload=True, ready_path="/health")
    else:
        command = "python -m app.main"
        srv = lab.launch(["python", "-m", "app.main"], port=free_port(), ready_path="/health")
    rows = []
    try:
        for n in range(count + 1):
            if n:
                srv.touch("app/main.py")
            srv.get("/starts")
            where = _held(srv.pid, pg_port)
            seen = _agreed(pg, sum(where.values()))
            rows.append((n, len(_start_rows(pg)), seen, where["reloader"], where["worker"]))
        logs = srv.logs()
        workers = [int(pid) for pid in WORKER_STARTED.findall(logs)]
        before = len(_start_rows(pg))
        ran = lab.run(["python", "-c", "import app.main"])
        if ran.returncode != 0:
            raise RuntimeError(f"import app.main failed:\n{ran.output}")
        bare = len(_start_rows(pg)) - before
        starts = _start_rows(pg)[:before]
    finally:
        srv.stop()  # Ctrl+C reaches the worker and the reloader at once: its shutdown may be cut short
        srv.close()
    left = pg.connections(APP_NAME, wait_for=0)
    return Reloads(command, rows, srv.pid, workers, starts, bare, logs.count("Engine disposed"), left)


def _agreed(pg: Postgres, held: int) -> int:
    """PostgreSQL's count of the app's connections, once it equals ``held`` (or after 5 s, whatever it is)."""
    try:
        wait_until(
            lambda: pg.connections(APP_NAME) == held,
            timeout=5,
            what="PostgreSQL's count to agree with what the processes hold",
        )
    except WaitTimeout:
        pass  # the count below says what PostgreSQL sees
    return pg.connections(APP_NAME)


# -- labkit doctor -------------------------------------------------------------------------------------


def doctor(*labs_or_paths: Lab | Path) -> Table:
    """``labkit doctor`` on each project: one row per finding (file:line and rule)."""
    from labkit.doctor import scan

    rows = []
    for item in labs_or_paths:
        root = item.workdir if isinstance(item, Lab) else Path(item)
        name = "broken project" if not isinstance(item, Lab) else f"{item.workdir.name}"
        report = scan(root)
        found = [f"{f.path}:{f.line} {f.rule}" for f in report.findings] or ["(no finding)"]
        rows += [(name, line) for line in found]
    return Table(("project", "labkit doctor finds"), tuple(rows))


def plot(**series: Reloads) -> None:
    """Start-up runs and PostgreSQL's connections against reloads, one line per labelled series."""
    import matplotlib.pyplot as plt

    fig, (runs, seen) = plt.subplots(1, 2, figsize=(10, 3.2))
    for label, s in series.items():
        reloads = [row[0] for row in s.rows]
        runs.plot(reloads, [row[1] for row in s.rows], marker="o", label=label)
        seen.plot(reloads, [row[2] for row in s.rows], marker="o", label=label)
    runs.set(title="start-up runs so far", xlabel="reloads (saves of app/main.py)")
    seen.set(title="connections PostgreSQL sees", xlabel="reloads (saves of app/main.py)", ylim=(0, 3))
    runs.legend()
    fig.tight_layout()
    plt.show()


# -- do the reload's processes ever overlap? -----------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Overlap(_Shown):
    saves: int
    samples: int  # psutil readings of the reloader's children, taken back to back during the saves
    most_workers_at_once: int  # the most live (not yet reaped) workers one reading saw
    overlapping_saves: int  # saves where one reading saw the old worker and the new one alive together
    new_workers: int  # the workers the saves started

    def text(self) -> str:
        return "\n".join(
            [
                "$ uvicorn app.main:app --reload",
                f"saves of app/main.py: {self.saves}, new workers: {self.new_workers}",
                f"readings of the reloader's children: {self.samples}",
                f"most workers alive at once: {self.most_workers_at_once}",
                f"saves where the old and the new worker were alive together: {self.overlapping_saves}",
            ]
        )


def _live_workers(reloader: int) -> frozenset[int]:
    """The reloader's spawned workers that are running (a worker that has exited but is not reaped yet is
    not counted: it runs no code)."""
    live = set()
    try:
        children = psutil.Process(reloader).children(recursive=True)
    except psutil.NoSuchProcess:
        return frozenset()
    for proc in children:
        try:
            if proc.status() != psutil.STATUS_ZOMBIE and "spawn_main" in " ".join(proc.cmdline()):
                live.add(proc.pid)
        except psutil.NoSuchProcess:
            pass
    return frozenset(live)


def reload_overlap(lab: Lab, saves: int) -> Overlap:
    """Serve with ``uvicorn app.main:app --reload`` and save ``app/main.py`` ``saves`` times; during each save a
    thread reads the reloader's live workers back to back, until the new worker answers. A save overlaps when
    one reading holds both the worker it replaced and the new one."""
    import threading

    srv = lab.serve("app.main:app", reload=True, ready_path="/health")
    readings: list[frozenset[int]] = []
    overlapping = 0
    started: set[int] = set()
    try:
        for _ in range(saves):
            old = _live_workers(srv.pid)
            done = threading.Event()
            seen: list[frozenset[int]] = []

            def watch(seen: list[frozenset[int]] = seen, done: threading.Event = done) -> None:
                while not done.is_set():
                    seen.append(_live_workers(srv.pid))

            watcher = threading.Thread(target=watch)
            watcher.start()
            try:
                srv.touch("app/main.py")
            finally:
                done.set()
                watcher.join()
            readings += seen
            new = {pid for reading in seen for pid in reading} - old
            started |= new
            overlapping += any(reading & old and reading & new for reading in seen)
    finally:
        srv.stop()
        srv.close()
    return Overlap(saves, len(readings), max(map(len, readings), default=0), overlapping, len(started))


# -- report 003's app: on_event handlers under --reload ------------------------------------------------

STORY_APP = "story-003"  # the application_name story_on_event.py sets on its connections
CONNECTED, CLOSED = "Database connected successfully", "Database connections closed"  # what its handlers log


@dataclass(frozen=True, repr=False)
class Reconnects(_Shown):
    rows: list[tuple[str, int | str, int | str, int | str, int | str]]
    # moment, workers started, "connected" lines, "closed" lines, GET /db ("-" in the row after Ctrl+C)
    seen: list[int]  # the story app's connections PostgreSQL sees: started, after the save, after Ctrl+C

    def table(self) -> Table:
        return Table(
            (
                "uvicorn story_on_event:app --reload",
                "workers started",
                "'connected' logged",
                "'connections closed' logged",
                "GET /db",
                "connections PostgreSQL sees",
            ),
            tuple((*map(str, row), str(n)) for row, n in zip(self.rows, self.seen, strict=True)),
        )

    def text(self) -> str:
        return str(self.table())


def reload_reconnects(lab: Lab) -> Reconnects:
    """Serve report 003's app (``story_on_event.py``: engine at import, ``init_db()`` in an
    ``on_event("startup")`` handler, ``await engine.dispose()`` in an ``on_event("shutdown")`` one) with
    ``uvicorn --reload``, ``GET /db``, save ``app/main.py`` once, ``GET /db`` again, then Ctrl+C. After each:
    the workers started, the lines its handlers logged, and PostgreSQL's count of its connections (waiting
    up to 5 s for the count the living worker's pool explains: 1 while served, 0 once stopped)."""
    assert lab.pg is not None
    pg = lab.pg
    srv = lab.serve("story_on_event:app", reload=True, ready_path="/health", args=("--app-dir", str(HERE)))
    rows: list[tuple[str, int | str, int | str, int | str, int | str]] = []
    seen = []
    try:
        for moment in ("started", "after a save"):
            if moment != "started":
                srv.touch("app/main.py")
            status = srv.get("/db").status_code
            logs = srv.logs()
            rows.append((moment, len(WORKER_STARTED.findall(logs)), logs.count(CONNECTED), logs.count(CLOSED), status))
            seen.append(pg.connections(STORY_APP, wait_for=1))
    finally:
        srv.stop()
        srv.close()
    rows.append(("after Ctrl+C", "-", "-", "-", "-"))  # Ctrl+C reaches reloader and worker at once: a log cut short
    seen.append(pg.connections(STORY_APP, wait_for=0))
    return Reconnects(rows, seen)
