"""The app's own middleware, written as plain ASGI classes.

Each one wraps the next: it sees the request on the way in and, through the
``send`` it passes on, the response on the way out.
"""

import time
import uuid

from sqlalchemy import text
from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.db import get_engine

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}

RECORD_USE = text(
    "insert into api_key_usage (key, uses, last_used) values (:key, 1, now()) "
    "on conflict (key) do update set uses = api_key_usage.uses + 1, last_used = now()"
)


class SecurityHeadersMiddleware:
    """Adds the browser hardening headers to every response that passes through it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RateLimitMiddleware:
    """At most ``limit`` requests per API key (or per client address) in ``window`` seconds.

    Over the limit it answers 429 itself. The window opens at a caller's first request and is
    kept in this process's memory: enough for one process, and for this lab.
    """

    def __init__(self, app: ASGIApp, limit: int = 20, window: float = 60.0,
                 exempt: tuple[str, ...] = ("/health",)) -> None:
        self.app = app
        self.limit = limit
        self.window = window
        self.exempt = exempt
        self.windows: dict[str, tuple[float, int]] = {}  # caller -> (window start, requests in it)

    def _caller(self, scope: Scope) -> str:
        key = dict(scope["headers"]).get(b"x-api-key")
        if key is not None:
            return "key:" + key.decode("latin-1")
        return "addr:" + (scope["client"][0] if scope.get("client") else "unknown")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        caller, now = self._caller(scope), time.monotonic()
        start, count = self.windows.get(caller, (now, 0))
        if now - start >= self.window:
            start, count = now, 0
        self.windows[caller] = (start, count + 1)
        if count + 1 > self.limit:
            response = JSONResponse({"detail": "too many requests"}, status_code=429,
                                    headers={"Retry-After": str(int(self.window - (now - start)) + 1)})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class UsageMiddleware:
    """Records every call made with an API key in PostgreSQL (one write per call), for billing.

    It also reports how long the write took in a ``Server-Timing`` entry named ``usage``.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = dict(scope.get("headers", [])).get(b"x-api-key") if scope["type"] == "http" else None
        if key is None:
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        async with get_engine().begin() as conn:
            await conn.execute(RECORD_USE, {"key": key.decode("latin-1")})
        spent_ms = (time.perf_counter() - began) * 1000

        async def send_with_timing(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("Server-Timing", f"usage;dur={spent_ms:.1f}")
            await send(message)

        await self.app(scope, receive, send_with_timing)


class RequestIdMiddleware:
    """Gives every response an ``X-Request-ID`` (the client's own, or a new one)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id")
        request_id = given.decode("latin-1") if given else uuid.uuid4().hex

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        await self.app(scope, receive, send_with_id)


class ErrorResponseMiddleware:
    """Sends the 500 of an unhandled exception itself, from inside the stack, then raises it again.

    Raising again keeps uvicorn's traceback in the log: ServerErrorMiddleware, outside every
    middleware of the app, sees a response already started and sends nothing of its own.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        except Exception:
            if not started:  # nothing sent yet: the 500 is ours to send
                await PlainTextResponse("Internal Server Error", status_code=500)(scope, receive, send)
            raise
