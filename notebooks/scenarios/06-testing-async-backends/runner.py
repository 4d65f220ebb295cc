"""Run a pytest suite several times in a row, each run in a fresh process, and watch the app.

    python runner.py RUNS [--stop-at-failure] [pytest arguments...]
    python runner.py --one NUMBER [pytest arguments...]     (one run, no fork)

Run it from the project folder (the work dir). The slow imports (FastAPI, SQLAlchemy,
httpx, pytest) happen once, here; each run is then a forked child that imports the
project's own modules afresh, as ``python -m pytest`` would, without paying for those
imports again. Where ``os.fork`` does not exist (Windows), each run is a new Python
process running this file with ``--one``.

Besides pytest's own output, every run ends with one line::

    RUN 2: exit 0, http requests 9, without a started app 0, lifespan startups 7

*http requests* counts the requests any Starlette or FastAPI app received during the
run; *without a started app* counts those sent to an app whose lifespan had not
completed its startup (``AsyncClient(transport=ASGITransport(app))`` does that);
*lifespan startups* counts completed startups (``with TestClient(app)``,
``asgi_lifespan.LifespanManager``, a real server).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from typing import Any

# Imported once here, before the runs fork: the libraries and the pytest plugins they bring.
import anyio.pytest_plugin  # noqa: F401
import asgi_lifespan  # noqa: F401
import asyncpg  # noqa: F401
import fastapi  # noqa: F401
import httpx  # noqa: F401
import pytest
import pytest_asyncio.plugin  # noqa: F401
import sqlalchemy.ext.asyncio  # noqa: F401
from starlette.applications import Starlette

RUN_TIMEOUT = 20  # seconds; a run that hangs (a connection waiting on a loop that is gone) is stopped

_counts = {"requests": 0, "unstarted": 0, "startups": 0}
_started: dict[int, int] = {}  # id(app) -> lifespans of that app that completed startup and are not over
_lock = threading.Lock()
_original_call = Starlette.__call__


async def _watching_call(self: Starlette, scope: Any, receive: Any, send: Any) -> None:
    """Starlette.__call__, counting HTTP requests and lifespan startups (TestClient runs apps in a thread)."""
    key = id(self)
    if scope["type"] == "http":
        with _lock:
            _counts["requests"] += 1
            if not _started.get(key):
                _counts["unstarted"] += 1
        await _original_call(self, scope, receive, send)
        return
    if scope["type"] != "lifespan":
        await _original_call(self, scope, receive, send)
        return
    started = False

    async def watch(message: Any) -> None:
        nonlocal started
        if message["type"] == "lifespan.startup.complete":
            with _lock:
                _counts["startups"] += 1
                _started[key] = _started.get(key, 0) + 1
            started = True
        await send(message)

    try:
        await _original_call(self, scope, receive, watch)
    finally:
        if started:
            with _lock:
                _started[key] -= 1


def _report(number: int, code: int | str) -> None:
    print(
        f"RUN {number}: exit {code}, http requests {_counts['requests']}, "
        f"without a started app {_counts['unstarted']}, lifespan startups {_counts['startups']}",
        flush=True,
    )


def _run_here(number: int, args: list[str]) -> int:
    """One pytest run in this process, watched, then its report line."""
    Starlette.__call__ = _watching_call  # type: ignore[method-assign]
    code = int(pytest.main(args))
    _report(number, code)
    sys.stderr.flush()
    return code


def _run_forked(number: int, args: list[str]) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: one run, then leave without running the parent's cleanup
        signal.alarm(RUN_TIMEOUT)
        os._exit(_run_here(number, args))
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        print(
            f"\nRUN {number}: stopped by signal {os.WTERMSIG(status)} after at most {RUN_TIMEOUT} s (a hang?)",
            flush=True,
        )
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def _run_subprocess(number: int, args: list[str]) -> int:
    try:
        ran = subprocess.run([sys.executable, __file__, "--one", str(number), *args], timeout=RUN_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        print(f"\nRUN {number}: stopped after {RUN_TIMEOUT} s (a hang?)", flush=True)
        return -1
    return ran.returncode


def main(argv: list[str]) -> int:
    sys.path[0] = os.getcwd()  # import the project from the work dir, as `python -m pytest` does
    os.environ.setdefault("COLUMNS", "2000")  # pytest's short summary: whole messages, not cut at the terminal width
    if argv[:1] == ["--one"]:  # a single run in this process (the fallback without os.fork)
        return _run_here(int(argv[1]), argv[2:])
    runs, rest = int(argv[0]), argv[1:]
    stop_at_failure = rest[:1] == ["--stop-at-failure"]
    # the plugins were imported above, before pytest could mark them for assertion rewriting: say nothing about it
    args = ["-W", "ignore::pytest.PytestAssertRewriteWarning", *(rest[1:] if stop_at_failure else rest)]
    codes = []
    for number in range(1, runs + 1):
        print(f"--- run {number} of {runs}", flush=True)
        codes.append(_run_forked(number, args) if hasattr(os, "fork") else _run_subprocess(number, args))
        if stop_at_failure and codes[-1] != 0:
            break
    return max(codes, key=abs)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
