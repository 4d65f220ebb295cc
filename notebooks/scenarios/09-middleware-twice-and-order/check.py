"""Judge the catalog API's middleware by its responses and by what it writes to PostgreSQL.

Checked in this order, on a real uvicorn with real HTTP, each with a fresh API key:

1. One request with an API key costs exactly one usage write (UsageMiddleware runs once).
2. Requests the rate limiter turns away (429) cost no usage write.
3. The 429s and the frontend's CORS preflight carry the security headers, as a 200 does.
4. Served with ``REQUEST_IDS=1`` the app starts, and its responses carry ``X-Request-ID``.
5. CORS: a credentialed request from an unknown site is not granted its origin; the frontend's is.
6. A 500 carries the security headers and the frontend's CORS header, and the error still
   reaches the log.

Only behaviour is judged: any stack, written any way, that produces it passes.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

import httpx

from labkit import AppExited

if TYPE_CHECKING:
    from labkit import AppServer, Lab

SECURITY_HEADERS = ("x-content-type-options", "x-frame-options", "referrer-policy")
FRONTEND = "http://localhost:5173"
OTHER_SITE = "https://attacker.example"
LIMIT = 3
BURST = 8
TOO_BIG = "/api/products/99999999999"  # int32 overflow in the query: an unhandled error, a 500


def _uses(lab: Lab, key: str) -> int:
    assert lab.pg is not None, "This check needs a server: labkit.Lab(name, pg=labkit.postgres())."
    rows = lab.pg.query("select uses from api_key_usage where key = %s", key)
    return int(rows[0][0]) if rows else 0


def _missing(response: httpx.Response) -> list[str]:
    return [name for name in SECURITY_HEADERS if name not in response.headers]


def _request(srv: AppServer, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    """On a new connection: uvicorn closes a kept-alive one after an unhandled error."""
    return httpx.request(method, srv.url + path, headers=headers, timeout=10)


def _runs_once(lab: Lab, srv: AppServer, key: str) -> None:
    status = _request(srv, "GET", "/api/products", {"X-API-Key": key}).status_code
    assert status == 200, f"GET /api/products with an API key answered {status}; expected 200."
    writes = _uses(lab, key)
    assert writes == 1, (
        f"One request with an API key made {writes} usage writes in PostgreSQL; expected 1. "
        "Look at app.user_middleware: a class added twice runs twice on every request."
    )


def _limit_before_work(lab: Lab, srv: AppServer, key: str) -> list[httpx.Response]:
    responses = [_request(srv, "GET", "/api/products", {"X-API-Key": key}) for _ in range(BURST)]
    statuses = [r.status_code for r in responses]
    served, rejected = statuses.count(200), statuses.count(429)
    assert (served, rejected) == (LIMIT, BURST - LIMIT), (
        f"With RATE_LIMIT={LIMIT}, {BURST} requests with one key gave {served} x 200 and {rejected} x 429; "
        f"expected {LIMIT} and {BURST - LIMIT}."
    )
    writes = _uses(lab, key)
    assert writes == served, (
        f"{rejected} requests were rejected with 429, yet the key has {writes} usage writes for {served} "
        "served requests: the database work ran before the rate limiter said no. The limiter must sit "
        "outside (be met before) UsageMiddleware; remember that the last middleware added is the outermost."
    )
    return [r for r in responses if r.status_code == 429]


def _headers_on_own_answers(srv: AppServer, rejected: list[httpx.Response]) -> None:
    missing = _missing(rejected[0])
    assert not missing, (
        f"A 429 from the rate limiter lacks {', '.join(missing)}: the security headers are added only to "
        "responses that pass through SecurityHeadersMiddleware, so it must be outside the rate limiter."
    )
    preflight = _request(srv, "OPTIONS", "/api/products", {
        "Origin": FRONTEND, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "x-api-key"})
    assert preflight.status_code == 200, (
        f"The frontend's preflight (origin {FRONTEND}, GET with X-API-Key) answered {preflight.status_code}; "
        "expected 200."
    )
    missing = _missing(preflight)
    assert not missing, (
        f"The CORS preflight that CORSMiddleware answers itself lacks {', '.join(missing)}: "
        "SecurityHeadersMiddleware must be outside CORSMiddleware."
    )


def _serve_flagged(lab: Lab) -> AppServer | AppExited:
    """The app served with REQUEST_IDS=1, or how it died trying."""
    try:
        return lab.serve("app.main:app", ready_path="/health", env={"REQUEST_IDS": "1", "RATE_LIMIT": str(LIMIT)})
    except AppExited as exc:
        return exc


def _request_ids_at_startup(flagged: AppServer | AppExited) -> None:
    if isinstance(flagged, AppExited):
        errors = [line for line in flagged.logs.splitlines() if "Error" in line]
        raise AssertionError(
            "Served with REQUEST_IDS=1 the app did not start: "
            + (errors[-1].strip() if errors else f"exit code {flagged.exit_code}")
            + ". Decide optional middleware when the stack is built, before the app starts."
        )
    response = _request(flagged, "GET", "/api/products", {})
    assert "x-request-id" in response.headers, "Served with REQUEST_IDS=1, GET /api/products has no X-Request-ID header."


def _cors_for_named_origins(srv: AppServer, key: str) -> None:
    stranger = _request(srv, "GET", "/api/products", {"Origin": OTHER_SITE, "Cookie": "session=abc", "X-API-Key": key})
    granted = stranger.headers.get("access-control-allow-origin")
    assert granted != OTHER_SITE, (
        f"A credentialed request from {OTHER_SITE} got Access-Control-Allow-Origin: {granted} and "
        f"Access-Control-Allow-Credentials: {stranger.headers.get('access-control-allow-credentials')}: any "
        "site may read the API's answers with the user's credentials. Name the allowed origins instead of '*'."
    )
    frontend = _request(srv, "GET", "/api/products", {"Origin": FRONTEND, "X-API-Key": key})
    assert frontend.headers.get("access-control-allow-origin") == FRONTEND, (
        f"A request from the frontend ({FRONTEND}) got Access-Control-Allow-Origin: "
        f"{frontend.headers.get('access-control-allow-origin')}; the frontend must stay allowed."
    )


def _headers_on_errors(srv: AppServer, key: str) -> None:
    response = _request(srv, "GET", TOO_BIG, {"Origin": FRONTEND, "X-API-Key": key})
    missing = _missing(response)
    assert not missing, (
        f"GET {TOO_BIG} answered {response.status_code} without {', '.join(missing)}. An unhandled error's 500 "
        "comes from ServerErrorMiddleware, outside every middleware of the app: send the 500 from inside "
        "the stack so that it passes through it."
    )
    assert response.headers.get("access-control-allow-origin") == FRONTEND, (
        f"GET {TOO_BIG} answered {response.status_code} without Access-Control-Allow-Origin for the frontend: "
        "its script cannot read that status."
    )
    if response.status_code == 500:
        try:
            srv.wait_for_log("int32", timeout=5)
        except Exception:
            raise AssertionError(f"GET {TOO_BIG} answered 500 but the error never reached the app's log.") from None


def check(lab: Lab) -> None:
    key = "check-" + secrets.token_hex(4)  # fresh keys: each has its own rate limit and usage row
    started: list[AppServer] = []
    try:
        srv = lab.serve("app.main:app", ready_path="/health", env={"RATE_LIMIT": str(LIMIT)})
        started.append(srv)
        _runs_once(lab, srv, key + "-once")
        rejected = _limit_before_work(lab, srv, key + "-burst")
        _headers_on_own_answers(srv, rejected)
        flagged = _serve_flagged(lab)
        if not isinstance(flagged, AppExited):
            started.append(flagged)
        _request_ids_at_startup(flagged)
        _cors_for_named_origins(srv, key + "-cors")
        _headers_on_errors(srv, key + "-error")
    finally:
        for server in started:
            server.kill()  # judged already: no need to wait for a graceful stop
