"""Judge the bookmarks suite by running it, not by reading it.

The suite (``tests/``, with its own ``pytest.ini``) runs three times in a row against a
fresh, empty database, each run in a fresh process (``runner.py`` beside this file).
Every run must:

1. pass, with at least the 7 tests of the original suite passing (skipping or deleting a
   test is not a fix), and without hanging;
2. send every HTTP request to an app whose lifespan has started, so that a test can not
   pass while the app's startup code never ran.

Three runs in a row catch a suite that passes once and then trips over the rows it left
behind. Any fix that behaves that way passes, whatever it looks like.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from labkit import Lab

RUNNER = Path(__file__).with_name("runner.py")
DATABASE = "lab06_check"
RUNS = 3
TESTS = 7  # the original suite's tests
PYTEST_ARGS = ["-p", "no:cacheprovider", "--rootdir", ".", "-q", "--tb=no", "-rfE", "--color=no"]

_FINAL = re.compile(r"^=*\s*((?:\d+ \w+)(?:, \d+ \w+)*) in [\d.]+s")
_RUN = re.compile(r"^RUN (\d+): (.*)$")
_COUNTS = re.compile(r"exit (-?\d+), http requests (\d+), without a started app (\d+), lifespan startups (\d+)")

LOOP_HINT = (
    "A pooled connection was opened on one event loop and used on another. Run every test and "
    "fixture on one loop (pytest.ini: asyncio_default_test_loop_scope = session and "
    "asyncio_default_fixture_loop_scope = session, or loop_scope=\"session\"), or give the engine no "
    "pool to carry across loops (NullPool), or build it where the loop runs (the app's lifespan) and "
    "dispose of it there. TestClient runs the app on a loop of its own: in an async suite talk to the "
    "app with httpx.AsyncClient."
)
LEFTOVER_HINT = (
    "Tests leave rows behind, so the next run trips over them. Run each test in a transaction that "
    "is rolled back when it ends: one connection per test, begin(), a session bound to it with "
    "join_transaction_mode=\"create_savepoint\", and the app's get_session dependency overridden to "
    "yield that session."
)
LIFESPAN_HINT = (
    "AsyncClient(transport=ASGITransport(app)) never runs the app's lifespan. Start the app first: "
    "async with LifespanManager(app) as started (from asgi_lifespan), then "
    "ASGITransport(app=started.app)."
)


def _tidy(line: str) -> str:
    """One failure line, short enough to read: no memory addresses, long reprs cut."""
    line = re.sub(r" at 0x[0-9a-f]+", "", line)
    line = re.sub(r"coro=<.*?> cb=\[.*?\]>", "...>", line)
    return line if len(line) <= 260 else line[:257] + "..."


def _runs(output: str) -> list[str]:
    """The output of each run (the runner prints ``--- run N of M`` before each)."""
    return re.split(r"^--- run \d+ of \d+$", output, flags=re.MULTILINE)[1:]


def _counts(summary: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for number, word in re.findall(r"(\d+) (\w+)", summary):
        key = {"error": "errors", "warning": "warnings"}.get(word, word)
        found[key] = found.get(key, 0) + int(number)
    return found


def _judge_run(number: int, text: str) -> None:
    lines = text.strip().splitlines()
    failures = [_tidy(line) for line in lines if line.startswith(("FAILED ", "ERROR "))]
    finals = [m.group(1) for line in lines if (m := _FINAL.match(line))]
    summary = finals[-1] if finals else "no summary line"
    stopped = [line for line in lines if line.startswith("RUN ") and "stopped" in line]
    assert not stopped, (
        f"Run {number} of the suite hung and was stopped: {stopped[0]}. Often that is a connection "
        "waiting on an event loop that no longer runs; if so: " + LOOP_HINT
    )
    counts = _counts(summary)
    if failures or counts.get("failed") or counts.get("errors") or not finals:
        shown = "\n".join(failures[:3])
        if not failures:
            shown = "\n".join([line for line in lines if not line.startswith("RUN ")][-8:])
            hint = "The suite did not run to its end: read pytest's own words above."
        elif number > 1:
            hint = LEFTOVER_HINT
        elif re.search(r"different loop|another operation is in progress|Event loop is closed", shown):
            hint = LOOP_HINT
        elif "lifespan" in shown:
            hint = LIFESPAN_HINT
        else:
            hint = "Read the failures above; the notebook's sections on loops, lifespan and isolation explain each kind."
        before = {1: "", 2: "it passed once, then "}.get(number, f"it passed {number - 1} times in a row, then ")
        raise AssertionError(f"Run {number} of the suite failed ({before}{summary}):\n{shown}\n{hint}")
    assert counts.get("passed", 0) >= TESTS, (
        f"Run {number}: only {counts.get('passed', 0)} test(s) passed ({summary}); the suite has {TESTS}. "
        "Keep every test running: skipping or deleting one is not a fix."
    )
    report = [m.group(2) for line in lines if (m := _RUN.match(line))]
    numbers = _COUNTS.search(report[-1]) if report else None
    assert numbers is not None, (
        f"Run {number}: the runner printed no report line; its output ends with:\n" + "\n".join(lines[-8:])
    )
    requests, unstarted = int(numbers.group(2)), int(numbers.group(3))
    assert requests > 0, f"Run {number}: the suite passed without sending a single HTTP request to the app."
    assert unstarted == 0, (
        f"Run {number}: every test passed, but {unstarted} of {requests} HTTP requests went to an app "
        "whose lifespan had not started: those tests passed without the app's startup code ever "
        "running. " + LIFESPAN_HINT
    )


def check(lab: Lab) -> None:
    assert lab.pg is not None, "This check needs a database: labkit.Lab(name, pg=labkit.postgres())."
    pg = lab.pg
    pg.query(f"drop database if exists {DATABASE} with (force)")
    pg.query(f"create database {DATABASE}")
    try:
        ran = lab.run(["python", str(RUNNER), str(RUNS), "--stop-at-failure", *PYTEST_ARGS],
                      env={"DATABASE_URL": pg.url("asyncpg", database=DATABASE)}, timeout=90)
        runs = _runs(ran.output)
        assert runs, "The suite did not run; the runner printed:\n" + "\n".join(ran.output.strip().splitlines()[-10:])
        for number, text in enumerate(runs, start=1):
            _judge_run(number, text)
        assert len(runs) == RUNS and ran.returncode == 0, (
            f"The suite ran {len(runs)} of {RUNS} times (exit code {ran.returncode}); the runner printed:\n"
            + "\n".join(ran.output.strip().splitlines()[-10:])
        )
    finally:
        pg.query(f"drop database if exists {DATABASE} with (force)")
