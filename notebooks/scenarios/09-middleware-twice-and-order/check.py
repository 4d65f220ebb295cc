"""09: the catalog API's middleware judged by its responses and by what it writes to PostgreSQL.

On a real uvicorn with real HTTP, each requirement with a fresh API key (its own rate limit and
usage row). Only behaviour is judged: any stack, written any way, that produces it passes.
"""

from __future__ import annotations

import secrets

import httpx

from labkit import AppServer, WaitTimeout
from labkit.checking import Context, last_error, requirement, start_once

SECURITY_HEADERS = ("x-content-type-options", "x-frame-options", "referrer-policy")
FRONTEND = "http://localhost:5173"
OTHER_SITE = "https://attacker.example"
LIMIT = 3
BURST = 8
TOO_BIG = "/api/products/99999999999"  # int32 overflow in the query: an unhandled error, a 500


def _served(ctx: Context) -> AppServer:
    return ctx.shared("app", lambda: ctx.lab.serve(ready_path="/health", env={"RATE_LIMIT": str(LIMIT)}))


def _key() -> str:
    return "check-" + secrets.token_hex(4)


def _uses(ctx: Context, key: str) -> int:
    rows = ctx.pg.query("select uses from api_key_usage where key = %s", key)
    return int(rows[0][0]) if rows else 0


def _missing(response: httpx.Response) -> list[str]:
    return [name for name in SECURITY_HEADERS if name not in response.headers]


def _burst(ctx: Context) -> tuple[str, list[httpx.Response]]:
    """BURST requests with one new key: the key and the responses."""
    key, srv = _key(), _served(ctx)
    return key, [srv.get("/api/products", headers={"X-API-Key": key}) for _ in range(BURST)]


@requirement(
    core=True,
    edit="app/main.py",
    step=1,
    hints=(
        "Print app.user_middleware: how many times is UsageMiddleware listed?",
        "A class added twice (app.add_middleware) runs twice on every request: add UsageMiddleware once.",
    ),
)
def usage_written_once(ctx: Context) -> None:
    """One request with an API key costs exactly one usage write."""
    key = _key()
    status = _served(ctx).get("/api/products", headers={"X-API-Key": key}).status_code
    assert status == 200, f"GET /api/products with an API key answered {status}; expected 200."
    writes = _uses(ctx, key)
    assert writes == 1, f"One request with an API key made {writes} usage writes in PostgreSQL; expected 1."


@requirement(
    core=True,
    edit="app/main.py",
    step=2,
    hints=(
        "Which middleware meets a request first: the one added first or the one added last?",
        "The last add_middleware is the outermost. Build the stack in one list, outermost first: "
        "FastAPI(..., middleware=[Middleware(SecurityHeadersMiddleware), Middleware(CORSMiddleware, ...), "
        "Middleware(RateLimitMiddleware, ...), Middleware(UsageMiddleware)]) "
        "(from starlette.middleware import Middleware).",
    ),
)
def limiter_before_database_work(ctx: Context) -> None:
    """Requests the rate limiter turns away (429) cost no usage write."""
    key, responses = ctx.shared("burst", lambda: _burst(ctx))
    statuses = [r.status_code for r in responses]
    served, rejected = statuses.count(200), statuses.count(429)
    assert (served, rejected) == (LIMIT, BURST - LIMIT), (
        f"With RATE_LIMIT={LIMIT}, {BURST} requests with one key gave {served} x 200 and {rejected} x 429; "
        f"expected {LIMIT} and {BURST - LIMIT}."
    )
    writes = _uses(ctx, key)
    assert writes == served, (
        f"{rejected} requests were rejected with 429, yet the key has {writes} usage writes for "
        f"{served} served: the database work ran before the limiter said no."
    )


@requirement(
    core=True,
    edit="app/main.py",
    step=2,
    hints=(
        "Which responses pass through SecurityHeadersMiddleware? Which ones are answered before they reach it?",
        "Put SecurityHeadersMiddleware outermost, outside the rate limiter and CORSMiddleware, "
        "so the answers they give alone (429, preflight) get the headers too.",
    ),
)
def headers_on_early_answers(ctx: Context) -> None:
    """The limiter's 429s and the CORS preflight carry the security headers."""
    _, responses = ctx.shared("burst", lambda: _burst(ctx))
    rejected = [r for r in responses if r.status_code == 429]
    problems = []
    if not rejected:
        problems.append(f"{BURST} requests with one key got no 429 from the rate limiter (RATE_LIMIT={LIMIT}).")
    elif missing := _missing(rejected[0]):
        problems.append(f"A 429 from the rate limiter lacks {', '.join(missing)}.")
    preflight = _served(ctx).request(
        "OPTIONS",
        "/api/products",
        headers={
            "Origin": FRONTEND,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-api-key",
        },
    )
    if preflight.status_code != 200:
        problems.append(f"The frontend's CORS preflight answered {preflight.status_code}, not 200.")
    elif missing := _missing(preflight):
        problems.append(f"The CORS preflight that CORSMiddleware answers itself lacks {', '.join(missing)}.")
    assert not problems, " ".join(problems)


@requirement(
    core=False,
    edit="app/main.py",
    step=3,
    hints=(
        "Served with REQUEST_IDS=1, the app dies at startup: when may middleware still be added?",
        "Starlette builds the stack when the app starts; decide optional middleware while building the list "
        "(if settings.request_ids: add it to the list), not in a startup handler.",
    ),
)
def request_ids_when_enabled(ctx: Context) -> None:
    """Served with REQUEST_IDS=1, the app starts and its responses carry X-Request-ID."""
    start = start_once(
        ctx.lab, "/api/products", ready_path="/health", env={"REQUEST_IDS": "1", "RATE_LIMIT": str(LIMIT)}
    )
    assert start.response is not None, (
        f"With REQUEST_IDS=1 the app did not start: {last_error(start.logs, ctx.workdir)}"
    )
    assert "x-request-id" in start.response.headers, "Served with REQUEST_IDS=1, GET /api/products has no X-Request-ID."


@requirement(
    core=False,
    edit="app/main.py",
    step=4,
    hints=(
        "Send a request with a cookie from another site: which origin does the API allow to read the answer?",
        "With allow_credentials=True, name the origins (allow_origins=[FRONTEND]) instead of '*'.",
    ),
)
def cors_for_named_origins(ctx: Context) -> None:
    """CORS grants a credentialed request from an unknown site nothing; the frontend stays allowed."""
    srv, key = _served(ctx), _key()
    stranger = srv.get("/api/products", headers={"Origin": OTHER_SITE, "Cookie": "session=abc", "X-API-Key": key})
    granted = stranger.headers.get("access-control-allow-origin")
    frontend = srv.get("/api/products", headers={"Origin": FRONTEND, "X-API-Key": key})
    allowed = frontend.headers.get("access-control-allow-origin")
    problems = []
    if granted == OTHER_SITE:
        problems.append(
            f"A credentialed request from {OTHER_SITE} got Access-Control-Allow-Origin: "
            f"{granted}: any site may read the API's answers with the user's credentials."
        )
    if allowed != FRONTEND:
        problems.append(f"A request from the frontend ({FRONTEND}) got Access-Control-Allow-Origin: {allowed}.")
    assert not problems, " ".join(problems)


@requirement(
    core=False,
    edit="app/main.py",
    step=5,
    hints=(
        "Where does an unhandled error's 500 come from, and which middleware does it pass through?",
        "ServerErrorMiddleware sits outside every middleware of the app: add app/middleware.py's "
        "ErrorResponseMiddleware as the innermost entry of the stack, so its 500 passes through all the others.",
    ),
)
def headers_on_errors(ctx: Context) -> None:
    """A 500 carries the security headers and the frontend's CORS header, and the error is logged."""
    srv = _served(ctx)
    response = srv.get(TOO_BIG, headers={"Origin": FRONTEND, "X-API-Key": _key()})
    problems = []
    if missing := _missing(response):
        problems.append(f"GET {TOO_BIG} answered {response.status_code} without {', '.join(missing)}.")
    if response.headers.get("access-control-allow-origin") != FRONTEND:
        problems.append(
            f"GET {TOO_BIG} answered {response.status_code} without Access-Control-Allow-Origin for the "
            "frontend: its script cannot read that status."
        )
    if response.status_code == 500:
        try:
            srv.wait_for_log("int32", timeout=5)
        except WaitTimeout:
            problems.append(f"GET {TOO_BIG} answered 500 but the error never reached the app's log.")
    assert not problems, " ".join(problems)
