"""One of the processes harness.start_together runs side by side: round after round, start the app.

``python race_worker.py GATE ROUNDS``, in the project folder. Python and the libraries are loaded
once; then, for each round n, the worker says it is ready (a file ``ready-n-<pid>`` in GATE),
waits for the file ``go-n`` (it holds the DATABASE_URL of that round's new, empty database),
imports the app afresh and runs its startup and shutdown, as a new process would. Prints one
line per round: ``n started`` or ``n <exception type>: <first line of its message>``.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import sys
import time

sys.path.insert(0, os.getcwd())  # the project folder, where uvicorn would import `app` from

import fastapi  # noqa: F401  (start-up cost paid once, before the rounds)
import psycopg2  # noqa: F401
import pydantic_settings  # noqa: F401
import sqlalchemy.orm  # noqa: F401
from asgi_lifespan import LifespanManager

gate, rounds = pathlib.Path(sys.argv[1]), int(sys.argv[2])


async def start_and_stop(app: object) -> None:
    async with LifespanManager(app):
        pass


for n in range(rounds):
    (gate / f"ready-{n}-{os.getpid()}").touch()
    go = gate / f"go-{n}"
    while not go.exists():  # every worker leaves the gate at the same moment
        time.sleep(0.001)
    os.environ["DATABASE_URL"] = go.read_text()
    for loaded in [m for m in sys.modules if m == "app" or m.startswith("app.")]:
        del sys.modules[loaded]  # import afresh, as a new process would
    try:
        import app.main  # what uvicorn does first, then the startup step

        asyncio.run(start_and_stop(app.main.app))
        print(n, "started", flush=True)
    except Exception as exc:
        print(n, f"{type(exc).__name__}: {str(exc).splitlines()[0]}", flush=True)
