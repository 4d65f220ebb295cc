"""06: the bookmarks suite judged by running it three times in a row on a fresh database.

Each run is a fresh process (``runner.py``, which also counts requests to an app whose lifespan never started)."""

from __future__ import annotations

import re
from pathlib import Path

from labkit import Ran
from labkit.checking import Context, loop_trouble, pytest_summary, requirement, scratch_database

RUNNER = Path(__file__).with_name("runner.py")
RUNS = 3
TESTS = 7  # the original suite's tests
PYTEST_ARGS = ["-p", "no:cacheprovider", "--rootdir", ".", "-q", "--tb=no", "-rfE", "--color=no"]
REPORT = re.compile(r"^RUN \d+: exit (-?\d+), http requests (\d+), without a started app (\d+)", re.MULTILINE)


def _runs(ctx: Context) -> list[str]:
    """Each run's output (the runner prints ``--- run N of M`` before each); it stops at the first failing run."""

    def run() -> Ran:
        with scratch_database(ctx.pg, "lab06_check") as database:
            return ctx.lab.run(
                ["python", str(RUNNER), str(RUNS), "--stop-at-failure", *PYTEST_ARGS],
                env={"DATABASE_URL": ctx.pg.url("asyncpg", database=database)},
                timeout=90,
            )

    ran = ctx.shared("suite", run)
    runs = re.split(r"^--- run \d+ of \d+$", ran.output, flags=re.MULTILINE)[1:]
    assert runs, "The suite did not run; the runner printed:\n" + "\n".join(ran.output.strip().splitlines()[-10:])
    return runs


def _passes(number: int, text: str) -> None:
    """Run ``number`` of the suite ran to its end, every test passed, and none was skipped away."""
    stopped = [line for line in text.splitlines() if line.startswith("RUN ") and "stopped" in line]
    assert not stopped, (
        f"Run {number} of the suite hung and was stopped ({stopped[0][4:]}): often a connection "
        "waiting on an event loop that no longer runs."
    )
    run = pytest_summary("\n".join(line for line in text.splitlines() if not line.startswith("RUN ")))
    if not run.ok:
        shown = "\n".join(run.failures[:3]) or "\n".join(text.strip().splitlines()[-6:])
        why = (
            "a pooled connection was used on another event loop"
            if loop_trouble(shown)
            else "tests left rows behind"
            if number > 1
            else "read pytest's own words"
        )
        raise AssertionError(f"Run {number} of the suite failed ({run.summary}): {why}.\n{shown}")
    assert run.passed >= TESTS, (
        f"Run {number}: only {run.passed} test(s) passed ({run.summary}); the suite has "
        f"{TESTS}. Skipping or deleting a test is not a fix."
    )


@requirement(
    core=True,
    edit="pytest.ini, tests/suite_bookmarks.py",
    step=(1, 2),
    timeout=120,
    hints=(
        "Read the first failure: a connection made on one event loop, used on another. "
        "How many loops does the suite run?",
        "Run every test and fixture on one loop (pytest.ini: asyncio_default_test_loop_scope = session and "
        "asyncio_default_fixture_loop_scope = session), and talk to the app with httpx.AsyncClient, not TestClient "
        "(which runs the app on a loop of its own).",
    ),
)
def suite_passes(ctx: Context) -> None:
    """The suite passes: all 7 tests, on one event loop, without hanging."""
    _passes(1, _runs(ctx)[0])


@requirement(
    core=True,
    edit="tests/fixtures.py, app/main.py",
    step=(3, 4),
    timeout=120,
    hints=(
        "AsyncClient(transport=ASGITransport(app)) sends requests to an app that never started: "
        "whose startup code runs?",
        "Build the engine in the app's lifespan, and start the app in the tests: async with LifespanManager(app) "
        "as started (asgi_lifespan), then ASGITransport(app=started.app).",
    ),
)
def tests_start_the_app(ctx: Context) -> None:
    """Every HTTP request of the suite goes to an app whose lifespan has started."""
    first = _runs(ctx)[0]
    _passes(1, first)
    report = REPORT.search(first)
    assert report is not None, "The runner printed no report line for run 1:\n" + "\n".join(first.splitlines()[-8:])
    requests, unstarted = int(report.group(2)), int(report.group(3))
    assert requests > 0, "The suite passed without sending a single HTTP request to the app."
    assert unstarted == 0, (
        f"{unstarted} of {requests} HTTP requests went to an app whose lifespan had not started: "
        "those tests passed without the app's startup code ever running."
    )


@requirement(
    core=False,
    edit="tests/fixtures.py",
    step=5,
    timeout=120,
    hints=(
        "The suite passes once, then trips over what it left in the database: which rows survive a test?",
        "Run each test in a transaction that is rolled back: one connection per test, begin(), a session bound to it "
        'with join_transaction_mode="create_savepoint", and get_session overridden to yield it.',
    ),
)
def suite_passes_again(ctx: Context) -> None:
    """The suite passes three runs in a row on the same database."""
    runs = _runs(ctx)
    for number, text in enumerate(runs, start=1):
        _passes(number, text)
    assert len(runs) == RUNS, f"The suite ran {len(runs)} of {RUNS} times."
