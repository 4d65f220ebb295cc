"""05: the shelf API judged over real HTTP with a small pool (2 connections, no overflow, 2 s pool timeout)."""

from __future__ import annotations

import uuid

import labkit
from labkit import AppServer
from labkit.checking import Context, app_error, requirement

APP = "shelf-api"  # the application_name the app sets on its connections
POOL = {"POOL_SIZE": "2", "MAX_OVERFLOW": "0", "POOL_TIMEOUT": "2"}


def _served(ctx: Context) -> AppServer:
    return ctx.shared("app", lambda: ctx.lab.serve(ready_path="/health", env=POOL))


def _call(srv: AppServer, method: str, path: str, expected: int, body: dict[str, object] | None = None) -> object:
    """The JSON of one request that must answer ``expected``; else what the app logged for it."""
    since = len(srv.logs())
    response = srv.request(method, path, json=body, timeout=15)
    assert response.status_code == expected, (
        f"{method} {path} answered {response.status_code}, not {expected}: {app_error(srv, since)}"
    )
    return response.json()


def _no_transaction_left_open(ctx: Context, when: str) -> None:
    left = ctx.pg.connections(APP, state="idle in transaction", wait_for=0, timeout=3)
    assert left == 0, (
        f"{when}, {left} connection(s) of the app are still 'idle in transaction': a session was not "
        "closed when its request finished."
    )


@requirement(
    core=True,
    edit="app/db.py",
    step=1,
    hints=(
        "With a pool of 2, the third request waits and fails: who gives a request's connection back?",
        "Close the session when the request ends: async with sessions() as session: yield session, in get_db.",
    ),
)
def requests_give_connections_back(ctx: Context) -> None:
    """28 GET /authors (8 in a row, then 20, 5 at a time) all answer, and leave no transaction open."""
    srv = _served(ctx)
    for number in range(1, 9):
        response = srv.get("/authors", timeout=15)
        assert response.status_code == 200, (
            f"GET /authors number {number} of 8, one after another, answered {response.status_code}: "
            f"{app_error(srv)}. With a pool of 2, requests that keep their connection exhaust it."
        )
    burst = labkit.load(srv.url + "/authors", requests=20, concurrency=5, timeout=15, deadline=30)
    assert burst.outcomes == {"200": 20}, (
        f"20 GET /authors, 5 at a time, gave {dict(sorted(burst.outcomes.items()))}: {app_error(srv)}"
    )
    _no_transaction_left_open(ctx, "After 28 GET /authors")


@requirement(
    core=True,
    edit="app/main.py",
    step=2,
    hints=(
        "Read the exception GET /health/db logs: what does SQLAlchemy 2 refuse to execute?",
        'SQLAlchemy 2 executes statements, not strings: wrap the raw SQL in text("select 1").',
    ),
)
def health_db_answers(ctx: Context) -> None:
    """GET /health/db answers 200."""
    _call(_served(ctx), "GET", "/health/db", 200)


@requirement(
    core=False,
    edit="app/db.py",
    step=3,
    hints=(
        "The row is committed, yet POST /authors fails building its answer: what does commit do to loaded attributes?",
        "commit expires every attribute by default, and reloading it would need an implicit query, which asyncio "
        "forbids: async_sessionmaker(..., expire_on_commit=False).",
    ),
)
def create_answers_author(ctx: Context) -> None:
    """POST /authors answers 201 with the new author's id and name."""
    name = f"check-{uuid.uuid4().hex[:8]}"
    created = _call(_served(ctx), "POST", "/authors", 201, {"name": name})
    assert isinstance(created, dict) and created.get("name") == name and isinstance(created.get("id"), int), (
        f"POST /authors answered {created!r}; expected the new author's id and name."
    )


@requirement(
    core=False,
    edit="app/main.py",
    step=(4, 5),
    hints=(
        "Reading author.books would need a query in the middle of attribute access: can asyncio run that?",
        "Load the books in the query itself: select(Author).options(selectinload(Author.books)); "
        'lazy="raise" on the relationship names any load you forgot.',
    ),
)
def author_lists_books(ctx: Context) -> None:
    """GET /authors/{id} lists a book just added, and no transaction is left open."""
    srv = _served(ctx)
    created = _call(srv, "POST", "/authors", 201, {"name": f"check-{uuid.uuid4().hex[:8]}"})
    assert isinstance(created, dict), f"POST /authors answered {created!r}."
    title = f"book-{uuid.uuid4().hex[:8]}"
    _call(srv, "POST", f"/authors/{created['id']}/books", 201, {"title": title})
    shown = _call(srv, "GET", f"/authors/{created['id']}", 200)
    assert isinstance(shown, dict) and title in shown.get("books", []), (
        f"GET /authors/{created['id']} answered {shown!r}; the new book is missing."
    )
    _no_transaction_left_open(ctx, "After every route was called")
