"""Measurements for notebook 09: one documented call each.

Loaded in a notebook as ``ref.harness`` (see ``labkit.Lab.harness``); tested by
``tests/test_harness_09.py``. Every call takes the lab whose project it measures, so the
learner's copy and the reference walk-through's copy are measured the same way.

- :func:`stack`: the app's ``user_middleware`` and the layers a request really passes, in a fresh process;
- :class:`Catalog`: the app under uvicorn (``RATE_LIMIT=5``), and the requests the notebook sends it:
  :meth:`Catalog.one_request`, :meth:`Catalog.flood`, :meth:`Catalog.responses`, :meth:`Catalog.cors`;
- :func:`start`: one start of the app with a feature flag: it serves, or how it exited;
- :func:`excerpt`: one class or function of a project file; :func:`statements`: the statements naming a word;
- :func:`summary`: the measurements of the broken app and of the fixed one, side by side.

Each experiment uses an API key of its own (with a suffix unique to the run), so every key
starts with an empty rate-limit window and no usage row.
"""

from __future__ import annotations

import ast
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

import labkit
from labkit.checking import app_error, run_json, start_once

HERE = Path(__file__).parent
RATE_LIMIT = 5  # requests per key and minute, as the app is served here
SECURITY = ("X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy")
FRONTEND = "http://localhost:5173"  # the app's own web frontend
OTHER_SITE = "https://attacker.example"  # any other web site a logged-in user happens to visit
TOO_BIG = "/api/products/99999999999"  # out of int32 range in the query: an unhandled error, a 500
RUN = secrets.token_hex(3)
FRAMEWORK = "Starlette's and FastAPI's own"


def _key(name: str) -> str:
    return f"{name}-{RUN}-{secrets.token_hex(2)}"


def _table(header: tuple[str, ...], rows: Sequence[Sequence[object]]) -> labkit.Table:
    return labkit.Table(header, tuple(tuple(str(cell) for cell in row) for row in rows))


# -- the stack ----------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Stack(labkit.Tabular):
    """``listed``: ``app.user_middleware``, index 0 first; ``chain``: the layers a request passes, outermost first."""

    listed: tuple[str, ...]
    chain: tuple[str, ...]

    @property
    def own(self) -> list[str]:
        """The app's own layers in the chain, outermost first."""
        return [name for name in self.chain if name in self.listed]

    def table(self) -> labkit.Table:
        """One row per layer of the app's own; the framework's layers between them grouped in one row."""
        rows: list[tuple[str, str]] = []
        index = 0
        for layer in self.chain:
            if index < len(self.listed) and layer == self.listed[index]:
                rows.append((layer, f"user_middleware[{index}]"))
                index += 1
            elif rows and rows[-1][1] == FRAMEWORK:
                rows[-1] = (f"{rows[-1][0]} > {layer}", FRAMEWORK)
            else:
                rows.append((layer, FRAMEWORK))
        return _table(("a request passes, outermost first", "from"), [*rows, ("(the routes)", "")])


def stack(lab: labkit.Lab) -> Stack:
    """Import the app in a fresh process, as uvicorn does; its ``user_middleware`` and the layers built from it.

    ``stack_probe.py`` (beside this file) follows each layer's ``.app`` from
    ``app.build_middleware_stack()`` down to the router.
    """
    found = run_json(lab, HERE / "stack_probe.py")
    return Stack(tuple(found["listed"]), tuple(found["chain"]))


# -- the app under uvicorn ------------------------------------------------------------------------------


def _security(response: httpx.Response) -> str:
    present = [name for name in SECURITY if name in response.headers]
    return "all 3" if len(present) == len(SECURITY) else ", ".join(present) or "none"


@dataclass(frozen=True, repr=False)
class OneRequest(labkit.Tabular):
    """One GET /api/products with a new API key."""

    status: int
    writes: int  # rows UsageMiddleware wrote to api_key_usage for the key
    timing: tuple[str, ...]  # the names of the Server-Timing entries (their durations vary)

    def table(self) -> labkit.Table:
        return _table(
            ("request", "status", "usage writes in PostgreSQL", "Server-Timing entries"),
            [("GET /api/products with an API key", self.status, self.writes, ", ".join(self.timing) or "-")],
        )


@dataclass(frozen=True, repr=False)
class Flood(labkit.Tabular):
    """``count`` requests with one key: the first ``RATE_LIMIT`` (served), then the rest (over the limit)."""

    first: dict[int, int]  # status -> how many, for the first RATE_LIMIT requests
    rest: dict[int, int]  # the same for the others
    writes_first: int  # usage writes after the first RATE_LIMIT requests
    writes_rest: int  # usage writes the others added

    def table(self) -> labkit.Table:
        def said(statuses: dict[int, int]) -> str:
            return ", ".join(f"{n} x {status}" for status, n in sorted(statuses.items()))

        return _table(
            ("requests with one key", "answers", "usage writes"),
            [
                (f"the first {sum(self.first.values())}", said(self.first), self.writes_first),
                (f"the next {sum(self.rest.values())}", said(self.rest), self.writes_rest),
            ],
        )


@dataclass(frozen=True, repr=False)
class Responses(labkit.Tabular):
    """Five requests as the frontend sends them: status, security headers, may the frontend's script read it."""

    rows: dict[str, tuple[int, str, bool]]
    logged: str  # the exception the app logged for the 500, with its file:line

    @staticmethod
    def short(request: str) -> str:
        """A request's name in a few characters: "preflight", or the status the working app gives it."""
        if request.startswith("OPTIONS"):
            return "preflight"
        named = {"over the limit": "429", "no such product": "404", TOO_BIG: "500"}
        return next((status for words, status in named.items() if words in request), "200")

    def status(self, request: str) -> int:
        return self.rows[request][0]

    def security(self, request: str) -> str:
        return self.rows[request][1]

    @property
    def without_headers(self) -> list[str]:
        """The requests whose answer lacks a security header."""
        return [name for name, (_, security, _) in self.rows.items() if security != "all 3"]

    @property
    def unreadable(self) -> list[str]:
        """The requests whose answer the frontend's script may not read (no CORS header for it)."""
        return [name for name, (_, _, readable) in self.rows.items() if not readable]

    def table(self) -> labkit.Table:
        return _table(
            ("request (Origin: the frontend)", "status", "security headers", "frontend may read it"),
            [(name, s, h, "yes" if r else "no") for name, (s, h, r) in self.rows.items()],
        )


@dataclass(frozen=True, repr=False)
class Cors(labkit.Tabular):
    """Requests from another site (and one from the frontend): what CORS grants each."""

    rows: dict[str, tuple[int, str, str]]  # request -> (status, Access-Control-Allow-Origin, -Credentials)

    def granted(self, request: str) -> str:
        return self.rows[request][1]

    @property
    def other_site(self) -> list[tuple[str, str]]:
        """(Access-Control-Allow-Origin, Access-Control-Allow-Credentials) of each request from the other site."""
        return [(origin, credentials) for name, (_, origin, credentials) in self.rows.items() if OTHER_SITE in name]

    @property
    def other_site_granted(self) -> bool:
        """Did any request from the other site get its origin back?"""
        return any(origin == OTHER_SITE for origin in (row[1] for row in self.rows.values()))

    def table(self) -> labkit.Table:
        return _table(
            ("request", "status", "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials"),
            [(name, *row) for name, row in self.rows.items()],
        )


class Catalog:
    """The work dir's app under uvicorn, with ``RATE_LIMIT=5``; each request on a new connection.

    A new connection per request, as independent clients send them (and uvicorn closes a
    kept-alive connection after an unhandled error). ``restart()`` serves the files as they are
    now; the old app gets SIGKILL (quicker; how apps stop is notebook 02's subject).
    """

    def __init__(self, lab: labkit.Lab, **env: str) -> None:
        self.lab, self.env = lab, env
        self.srv = lab.serve("app.main:app", ready_path="/health", env={"RATE_LIMIT": str(RATE_LIMIT), **env})

    def __repr__(self) -> str:
        return f"<catalog app of {self.lab.label}, RATE_LIMIT={RATE_LIMIT}>"

    def restart(self, **env: str) -> Catalog:
        self.stop()
        return Catalog(self.lab, **env)

    def stop(self) -> None:
        if self.srv.alive:
            self.srv.kill()

    def _call(self, path: str = "/api/products", method: str = "GET", **headers: str) -> httpx.Response:
        return httpx.request(method, self.srv.url + path, headers=headers, timeout=15)

    def _writes(self, key: str) -> int:
        assert self.lab.pg is not None
        rows = self.lab.pg.query("select uses from api_key_usage where key = %s", key)
        return int(rows[0][0]) if rows else 0

    def one_request(self) -> OneRequest:
        """GET /api/products with a new API key; the usage rows PostgreSQL then holds for it, and Server-Timing."""
        key = _key("one")
        response = self._call(**{"X-API-Key": key})
        timing = tuple(entry.split(";")[0].strip() for entry in response.headers.get_list("server-timing"))
        return OneRequest(response.status_code, self._writes(key), timing)

    def flood(self, count: int = 15) -> Flood:
        """``count`` GET /api/products with one new key, one after another; usage writes counted after the first 5."""
        key = _key("flood")

        def send(n: int) -> dict[int, int]:
            statuses: dict[int, int] = {}
            for _ in range(n):
                status = self._call(**{"X-API-Key": key, "Origin": FRONTEND}).status_code
                statuses[status] = statuses.get(status, 0) + 1
            return statuses

        first = send(RATE_LIMIT)
        writes_first = self._writes(key)
        rest = send(count - RATE_LIMIT)
        return Flood(first, rest, writes_first, self._writes(key) - writes_first)

    def responses(self) -> Responses:
        """Five requests with ``Origin: http://localhost:5173``, as the frontend's script sends them.

        A GET that answers 200, one for a product that does not exist (404), one over the rate
        limit (its key has used up its 5), the browser's preflight for a GET with ``X-API-Key``,
        and one whose query fails (500). For each: the status, which security headers it carries,
        and whether ``Access-Control-Allow-Origin`` names the frontend (else the browser hides it).
        """
        used = _key("used-up")
        for _ in range(RATE_LIMIT):
            self._call(**{"X-API-Key": used})
        since = len(self.srv.logs())
        answers = {
            "GET /api/products": self._call(**self._frontend()),
            "GET /api/products/7 (no such product)": self._call("/api/products/7", **self._frontend()),
            "GET /api/products over the limit": self._call(**self._frontend(used)),
            "OPTIONS preflight": self._preflight(FRONTEND),
            f"GET {TOO_BIG}": self._call(TOO_BIG, **self._frontend()),
        }
        rows = {
            name: (r.status_code, _security(r), r.headers.get("access-control-allow-origin") == FRONTEND)
            for name, r in answers.items()
        }
        return Responses(rows, app_error(self.srv, since, timeout=10))

    @staticmethod
    def _frontend(key: str | None = None) -> dict[str, str]:
        """The headers of the frontend's requests, with an API key of their own (a rate-limit window each)."""
        return {"Origin": FRONTEND, "X-API-Key": key or _key("frontend")}

    def _preflight(self, origin: str) -> httpx.Response:
        """What a browser sends before a cross-origin GET that carries an X-API-Key header."""
        return self._call(
            method="OPTIONS",
            **{"Origin": origin, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "x-api-key"},
        )

    def cors(self) -> Cors:
        """Three requests from another site (a GET with a cookie, one without, a preflight) and a GET from the frontend.

        The cookie is what ``fetch(url, {credentials: "include"})`` sends along. Each GET carries
        an API key of its own; a preflight carries none (browsers send no custom header in it), so
        the rate limiter counts preflights by address: a few per app are far from its limit.
        """
        other = {"Origin": OTHER_SITE, "X-API-Key": _key("other")}
        answers = {
            f"GET from {OTHER_SITE}, with a cookie": self._call(**other, Cookie="session=abc123"),
            f"GET from {OTHER_SITE}": self._call(**other),
            f"OPTIONS preflight from {OTHER_SITE}": self._preflight(OTHER_SITE),
            f"GET from the frontend ({FRONTEND})": self._call(**self._frontend()),
        }
        return Cors(
            {
                name: (
                    r.status_code,
                    r.headers.get("access-control-allow-origin", "-"),
                    r.headers.get("access-control-allow-credentials", "-"),
                )
                for name, r in answers.items()
            }
        )

    def measure(self) -> tuple[OneRequest, Flood, Responses, Cors]:
        """All four measurements, in the order the notebook takes them."""
        return self.one_request(), self.flood(), self.responses(), self.cors()


# -- one start with a flag ------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Started(labkit.Tabular):
    """One start of the app: it served (and answered with or without X-Request-ID), or it exited."""

    exit_code: int | None  # None: it served
    lines: tuple[str, ...]  # the log lines that say why it exited
    request_id: bool  # its answer to GET /api/products carried X-Request-ID

    def table(self) -> labkit.Table:
        if self.exit_code is None:
            return _table(("the app", "X-Request-ID on GET /api/products"), [("served", self.request_id)])
        return _table((f"the app exited with code {self.exit_code}; its log says",), [(line,) for line in self.lines])


def start(lab: labkit.Lab, **env: str) -> Started:
    """Serve the app once with ``env`` (such as ``REQUEST_IDS="1"``): it answers GET /api/products, or it exits.

    For an exit, the log lines that name the cause: the ``add_middleware(`` call, the
    ``RuntimeError`` and uvicorn's verdict.
    """
    began = start_once(lab, "/api/products", ready_path="/health", env={"RATE_LIMIT": str(RATE_LIMIT), **env})
    if began.response is not None:
        return Started(None, (), "x-request-id" in began.response.headers)
    wanted = ("add_middleware(", "RuntimeError:", "startup failed")
    lines = tuple(line.strip() for line in began.logs.splitlines() if any(w in line for w in wanted))
    return Started(began.exit_code, lines, False)


# -- reading ----------------------------------------------------------------------------------------------


def excerpt(lab: labkit.Lab, path: str, name: str) -> labkit.Code:
    """The class or function ``name`` of the project file ``path``, as written there."""
    source = (lab.workdir / path).read_text()
    node = next(
        n
        for n in ast.parse(source).body
        if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name
    )
    lines = source.splitlines()[node.lineno - 1 : node.end_lineno]
    return labkit.Code(f"{path}: {name}", "\n".join(lines), path)


def statements(lab: labkit.Lab, path: str, *words: str) -> labkit.Code:
    """The statements of the project file ``path`` that contain one of ``words``, numbered, as written.

    With each, the comment lines just above it and the first line of each ``def`` or ``if`` it sits
    in; ``...`` marks the lines left out (blank ones between two shown are kept).
    """
    source = (lab.workdir / path).read_text()
    lines = source.splitlines()
    keep: set[int] = set()

    def visit(node: ast.AST, headers: list[int]) -> None:
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.stmt):
                continue
            compound = isinstance(child, (ast.If, ast.FunctionDef, ast.AsyncFunctionDef, ast.With, ast.AsyncWith))
            if compound:
                visit(child, [*headers, child.lineno])
                continue
            segment = "\n".join(lines[child.lineno - 1 : child.end_lineno])
            if any(word in segment for word in words):
                keep.update(range(child.lineno, (child.end_lineno or child.lineno) + 1), headers)
                above = child.lineno - 1
                while above >= 1 and lines[above - 1].lstrip().startswith("#"):
                    keep.add(above)
                    above -= 1

    visit(ast.parse(source), [])
    shown: list[str] = []
    previous = 0
    for number in sorted(keep):
        gap = range(previous + 1, number)
        if previous and gap and all(not lines[n - 1].strip() for n in gap):
            shown.extend("" for _ in gap)
        elif previous and gap:
            shown.append("...")
        shown.append(f"{number:3d}  {lines[number - 1]}")
        previous = number
    return labkit.Code(f"{path}: the statements with {', '.join(words)}", "\n".join(shown), path)


def summary(broken: Sequence[Any], fixed: Sequence[Any]) -> labkit.Table:
    """The four measurements (one request, flood, responses, cors) of the broken app beside the fixed app's."""

    def row(one: OneRequest, flood: Flood, responses: Responses, cors: Cors) -> tuple[str, ...]:
        return (
            str(one.writes),
            str(flood.writes_rest),
            ", ".join(responses.short(r) for r in responses.without_headers) or "none",
            ", ".join(responses.short(r) for r in responses.unreadable) or "none",
            "yes" if cors.other_site_granted else "no",
        )

    measured = (
        "usage writes for one request",
        f"usage writes for requests over the limit ({sum(fixed[1].rest.values())} sent)",
        "answers without the security headers",
        "answers the frontend may not read",
        f"{OTHER_SITE} granted its origin",
    )
    return _table(("measured", "broken", "fixed"), list(zip(measured, row(*broken), row(*fixed), strict=True)))
