"""Judge the shelf API by what it does over real HTTP with a small pool, not by how it is written.

The app is served with a pool of 2 connections, no overflow and a 2 s pool timeout. In order:

1. Requests give their connections back: 8 GET /authors one after another, then 20 more
   (5 at a time) all answer 200, and afterwards no connection of the app is left
   'idle in transaction' on the server.
2. GET /health/db answers 200.
3. POST /authors answers 201 with the new author's id and name.
4. POST /authors/{id}/books answers 201, and GET /authors/{id} lists that book.
5. After all of that, still no connection of the app is 'idle in transaction'.
"""

from __future__ import annotations

import re
import time
import uuid

import httpx

import labkit

APP = "shelf-api"  # the application_name the app sets on its connections
POOL = {"POOL_SIZE": "2", "MAX_OVERFLOW": "0", "POOL_TIMEOUT": "2"}
ERROR_LINE = re.compile(r"^(?!INFO|ERROR|WARNING|DEBUG)[A-Za-z_][\w.]*: \S")


def _error_lines(srv) -> list[str]:
    return [line for line in srv.logs().splitlines() if ERROR_LINE.match(line)]


def _why(srv, before: int) -> str:
    """The exception line the app logged for a failed request (its traceback follows the 500)."""
    deadline = time.monotonic() + 3
    while len(_error_lines(srv)) <= before and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = _error_lines(srv)[before:]
    return lines[-1].strip()[:300] if lines else "(no exception in the app's log)"


def _call(srv, client: httpx.Client, method: str, path: str, expected: int, body: dict | None = None,
          hint: str = "") -> httpx.Response:
    before = len(_error_lines(srv))
    response = client.request(method, path, json=body)
    assert response.status_code == expected, (
        f"{method} {path} answered {response.status_code}, not {expected}. The app logged: {_why(srv, before)}"
        + (f"\n{hint}" if hint else "")
    )
    return response


def _no_transaction_left_open(lab, when: str) -> None:
    left = lab.pg.connections(APP, state="idle in transaction", wait_for=0, timeout=3)
    assert left == 0, (
        f"{when}, {left} connection(s) of the app are still 'idle in transaction' on the server: "
        "a session was not closed (or its transaction not ended) when its request finished. "
        "Close the session in the dependency: async with sessions() as session: yield session."
    )


LEAK_HINT = (
    "With a pool of 2, requests that keep their session's connection exhaust it after 2 requests; "
    "the next one waits pool_timeout and fails. Close each request's session when the request ends "
    "(an async with block around the yield in get_db)."
)


def check(lab) -> None:
    srv = lab.serve("app.main:app", ready_path="/health", env=POOL)
    # a fresh connection per request: uvicorn closes a kept-alive connection after a 500
    client = httpx.Client(base_url=srv.url, timeout=15, limits=httpx.Limits(max_keepalive_connections=0))
    try:
        for number in range(1, 9):
            _call(srv, client, "GET", "/authors", 200,
                  hint=f"(request {number} of 8, one after another) " + LEAK_HINT)
        burst = labkit.load(srv.url + "/authors", requests=20, concurrency=5, timeout=15, deadline=30)
        assert burst.outcomes == {"200": 20}, (
            f"20 GET /authors, 5 at a time, gave {dict(sorted(burst.outcomes.items()))}; "
            f"the app logged: {_why(srv, 0)}\n" + LEAK_HINT
        )
        _no_transaction_left_open(lab, "After 28 GET /authors")

        _call(srv, client, "GET", "/health/db", 200,
              hint="SQLAlchemy 2 executes statements, not strings: wrap raw SQL in text().")

        name = f"check-{uuid.uuid4().hex[:8]}"
        created = _call(srv, client, "POST", "/authors", 201, {"name": name},
                        hint="After commit the author's attributes must still be readable without a new query "
                             "(expire_on_commit=False on the session factory, or refresh before reading).").json()
        assert isinstance(created, dict) and created.get("name") == name and isinstance(created.get("id"), int), (
            f"POST /authors answered {created!r}; expected the new author's id and name."
        )
        author_id = created["id"]

        title = f"book-{uuid.uuid4().hex[:8]}"
        _call(srv, client, "POST", f"/authors/{author_id}/books", 201, {"title": title})
        shown = _call(srv, client, "GET", f"/authors/{author_id}", 200,
                      hint="Reading author.books must not trigger a lazy load under asyncio: load the books in the "
                           "query (options(selectinload(Author.books))).").json()
        assert title in shown.get("books", []), f"GET /authors/{author_id} answered {shown!r}; the new book is missing."

        _no_transaction_left_open(lab, "After every route was called")
    finally:
        client.close()
