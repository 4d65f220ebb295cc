"""``cors-wildcard-with-credentials``: ``allow_origins=["*"]`` together with ``allow_credentials=True``.

Browsers refuse a credentialed response whose ``Access-Control-Allow-Origin``
is ``*``, so Starlette answers such requests by echoing the request's own
``Origin`` instead: every site on the web may then call the API with the
user's cookies (notebook 09 shows the headers). Flagged in
``add_middleware(CORSMiddleware, ...)`` and ``Middleware(CORSMiddleware, ...)``,
also for ``allow_origin_regex=".*"``. Not flagged: a list of origins, or the
wildcard without credentials.
"""

from __future__ import annotations

import ast

from labkit.doctor.context import FileContext
from labkit.doctor.literals import argument, dotted, keyword, string
from labkit.doctor.rule import Rule

CORS_WILDCARD = Rule(
    id="cors-wildcard-with-credentials",
    finds='`CORSMiddleware` with `allow_origins=["*"]` (or a match-all regex) and `allow_credentials=True`',
    hint='List the origins that may send credentials (`allow_origins=["https://app.example.com"]`), '
    "from settings; keep `*` only for APIs without cookies or auth headers.",
    notebooks=("09-middleware-twice-and-order",),
)
_MATCH_ALL = frozenset({".*", "^.*$", ".+", "^.+$", "https?://.*", "^https?://.*$"})


def _wildcard(call: ast.Call, ctx: FileContext) -> str | None:
    origins = keyword(call, "allow_origins")
    if isinstance(origins, (ast.List, ast.Tuple, ast.Set)):
        if any(string(item, ctx.consts) == "*" for item in origins.elts):
            return 'allow_origins=["*"]'
    elif origins is not None and string(origins, ctx.consts) == "*":
        return 'allow_origins="*"'
    regex = string(keyword(call, "allow_origin_regex"), ctx.consts)
    if regex is not None and regex.strip() in _MATCH_ALL:
        return f'allow_origin_regex="{regex}"'
    return None


def _credentials(call: ast.Call) -> bool:
    value = keyword(call, "allow_credentials")
    return isinstance(value, ast.Constant) and value.value is True


@CORS_WILDCARD.on_call("add_middleware", "Middleware")
def cors_wildcard(node: ast.Call, ctx: FileContext) -> None:
    cls = argument(node, 0, "middleware_class") or keyword(node, "cls")
    if cls is None or not (dotted(cls) or "").endswith("CORSMiddleware"):
        return
    wildcard = _wildcard(node, ctx)
    if wildcard is None or not _credentials(node):
        return
    ctx.report(
        CORS_WILDCARD,
        node,
        f"CORSMiddleware with {wildcard} and allow_credentials=True: Starlette then echoes any request's "
        "Origin, so every website can call this API with the user's cookies",
    )
