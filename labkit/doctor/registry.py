"""Every rule the doctor knows: its id, what it finds, how to fix it, where it is taught.

The ids are part of the interface (``--select``, ``--ignore``, inline
suppressions, CI configs and the JSON output all name them), so they never
change. The table here is also the documentation: ``labkit doctor --list-rules``
prints it as markdown, ready for the README.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from labkit._errors import LabkitError

Origin = Literal["static", "file", "runtime"]


@dataclass(frozen=True)
class RuleInfo:
    """One rule as a learner sees it: the id, what it finds, a one-line fix, the notebooks."""

    id: str
    finds: str
    hint: str
    notebooks: tuple[str, ...]
    origin: Origin = "static"  # static: read from the code; file: about a file; runtime: needs --app

    def notebook_paths(self) -> tuple[str, ...]:
        return tuple(f"notebooks/{name}.ipynb" for name in self.notebooks)


_RULES: tuple[RuleInfo, ...] = (
    RuleInfo(
        "engine-at-import",
        "`create_engine` / `create_async_engine` called at module level (or a factory declared to "
        "return an engine, called there)",
        "Build the engine in the app's lifespan (or a factory the lifespan calls) and dispose() it on "
        "the way out; `engine = None` at module level is fine.",
        ("01-import-time-engine",),
    ),
    RuleInfo(
        "create-all-at-import",
        "`metadata.create_all(...)` at module level",
        "Create tables at startup (in the lifespan), or better with migrations run once before the app starts.",
        ("01-import-time-engine",),
    ),
    RuleInfo(
        "on-event",
        "`@app.on_event(...)`, `add_event_handler(...)`, `FastAPI(on_startup=..., on_shutdown=...)`",
        "Use one lifespan: setup before `yield`, teardown after it, and `FastAPI(lifespan=lifespan)`.",
        ("02-lifespan-and-shutdown",),
    ),
    RuleInfo(
        "reload-without-main-guard",
        "`uvicorn.run(..., reload=True or workers=N)` run at import time, outside "
        "`if __name__ == \"__main__\":`",
        "Call `uvicorn.run(\"module:app\", reload=True)` only under `if __name__ == \"__main__\":` "
        "(or use the uvicorn command line).",
        ("03-reload-crashes",),
    ),
    RuleInfo(
        "sync-driver-in-async-engine",
        "`create_async_engine` with a literal URL whose driver is not async (`postgresql+psycopg2://`, "
        "`postgresql://` without a driver)",
        "Name an async driver in the URL: `postgresql+asyncpg://...` (or `postgresql+psycopg://` with psycopg 3).",
        ("04-sync-driver-under-async-engine",),
    ),
    RuleInfo(
        "libpq-params-in-asyncpg-url",
        "an asyncpg URL literal carrying `sslmode=` or `channel_binding=`",
        "asyncpg spells it `ssl=require`; drop `channel_binding`, or translate the URL with "
        "`make_url(...).update_query_dict(...)`.",
        ("04-sync-driver-under-async-engine",),
    ),
    RuleInfo(
        "blocking-db-call-in-async-route",
        "a sync engine, connection or session used inside an `async def` route",
        "Use an async engine / AsyncSession and `await` the call, or make the route a plain `def` "
        "(FastAPI runs it in a worker thread).",
        ("04-sync-driver-under-async-engine",),
    ),
    RuleInfo(
        "hardcoded-db-password",
        "a database URL literal (or `URL.create(password=...)`) with a password in it",
        "Read the URL from the environment (a settings field with no default, ideally a SecretStr); "
        "keep secrets out of the repository.",
        ("04-sync-driver-under-async-engine", "11-config-and-secrets"),
    ),
    RuleInfo(
        "raw-sql-string",
        "`.execute(\"...\")` / `.scalar(\"...\")` / `.scalars(\"...\")` / `.stream(\"...\")` with a SQL "
        "string instead of `text(...)`",
        "Wrap the SQL in `text(\"...\")` (bind values as `:name`), or send a raw string with "
        "`conn.exec_driver_sql(...)`.",
        ("05-async-session-pitfalls",),
    ),
    RuleInfo(
        "sessionmaker-with-async-engine",
        "`sessionmaker(...)` bound to an async engine without `class_=AsyncSession`",
        "Use `async_sessionmaker(engine)` (or `sessionmaker(engine, class_=AsyncSession)`).",
        ("05-async-session-pitfalls",),
    ),
    RuleInfo(
        "oversized-pool",
        "`pool_size + max_overflow` above a limit (default 30, `--pool-limit`), or `max_overflow=-1`",
        "Size the pool from the server's max_connections: (pool_size + max_overflow) x processes "
        "must stay below it.",
        ("07-connection-pool",),
    ),
    RuleInfo(
        "duplicate-middleware",
        "the same middleware class added twice to the same app",
        "Add each middleware once, in one place (the last one added is the outermost).",
        ("09-middleware-twice-and-order",),
    ),
    RuleInfo(
        "swallowed-import-error",
        "a `try` around imports of the project's own modules or `include_router` whose handler "
        "swallows the error (`pass`, log only)",
        "Let it fail: a router or model module that does not import should stop the app at startup, "
        "not vanish from it.",
        ("10-one-app-one-database",),
    ),
    RuleInfo(
        "syntax-error",
        "a file that is not valid Python for the doctor's interpreter (or has a bad encoding); "
        "it was not checked",
        "Fix the file, or leave it out with `--exclude`.",
        (),
        "file",
    ),
    RuleInfo(
        "unreadable-file",
        "a file that could not be read; it was not checked",
        "Check its permissions, or leave it out with `--exclude`.",
        (),
        "file",
    ),
    RuleInfo(
        "import-failed",
        "with `--app`: importing the app fails while the database is unreachable",
        "Importing must not connect: build engines, create tables and read settings in the lifespan.",
        ("01-import-time-engine",),
        "runtime",
    ),
    RuleInfo(
        "no-lifespan",
        "with `--app`: the app has no lifespan (and no startup hooks) although the project creates "
        "an engine",
        "Give the app a lifespan that builds the engine and disposes it when the app stops.",
        ("02-lifespan-and-shutdown",),
        "runtime",
    ),
)

RULES: dict[str, RuleInfo] = {rule.id: rule for rule in _RULES}
RUNTIME_ONLY = frozenset(rule.id for rule in _RULES if rule.origin == "runtime")
# Rules the --app probe reports besides the runtime-only ones: the same problem, seen in the live app.
RUNTIME_ALSO = frozenset({"duplicate-middleware", "on-event"})


def parse_ids(text: str | Iterable[str] | None) -> list[str]:
    """``"a, b,c"`` (or a list of such strings) -> ``["a", "b", "c"]``."""
    if text is None:
        return []
    parts = [text] if isinstance(text, str) else list(text)
    return [item.strip() for part in parts for item in part.split(",") if item.strip()]


def selection(select: Iterable[str] = (), ignore: Iterable[str] = ()) -> frozenset[str]:
    """The rule ids to report: ``select`` (all when empty, or ``ALL``) minus ``ignore``.

    Unknown ids are a usage error: a typo in a CI config must not silently turn a rule off.
    """
    select, ignore = list(select), list(ignore)
    unknown = sorted({rule for rule in select + ignore if rule != "ALL" and rule not in RULES})
    if unknown:
        raise LabkitError(
            f"Unknown rule id(s): {', '.join(unknown)}.",
            f"Use ids from `labkit doctor --list-rules`: {', '.join(RULES)}.",
        )
    chosen = set(RULES) if not select or "ALL" in select else set(select)
    return frozenset(chosen - set(ignore))


def markdown_table() -> str:
    """The rules as a markdown table: id, what it finds, the fix, the notebook that teaches it."""
    lines = ["| rule | finds | fix | notebook |", "|---|---|---|---|"]
    for rule in _RULES:
        notebooks = ", ".join(f"`{name}`" for name in rule.notebooks) or "-"
        finds = rule.finds.replace("|", "\\|")
        hint = rule.hint.replace("|", "\\|")
        lines.append(f"| `{rule.id}` | {finds} | {hint} | {notebooks} |")
    lines += [
        "",
        "`syntax-error` and `unreadable-file` are about files the doctor could not check. "
        "`import-failed` and `no-lifespan` come from the `--app` probe only (it also reports "
        "`duplicate-middleware` and `on-event` as seen in the live app); they are selected by default "
        "and cost nothing without `--app`.",
        "",
        "Suppress one finding with `# labkit: ignore[rule-id]` on its line (or on the last line of a "
        "multi-line statement); `# labkit: ignore` alone silences every rule on that line. A project can "
        "set `select`, `ignore`, `exclude` and `pool-limit` under `[tool.labkit.doctor]` in its pyproject.toml.",
    ]
    return "\n".join(lines)
