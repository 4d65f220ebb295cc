"""The static rules, one module per family, and how they plug into the walk.

Each rule module exports ``HOOKS``: for each rule id, the AST node types it
wants to see (with a function called for each such node) and, optionally, a
function called once the file is walked. Only the selected rules are wired
in, so ``--select`` also makes a scan cheaper.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from labkit.doctor.context import FileContext

Hook = Callable[[Any, FileContext], None]
Finish = Callable[[FileContext], None]


@dataclass(frozen=True)
class RuleHooks:
    """Where one rule looks: node types and their handlers, calls by callee name, an end-of-file step.

    ``calls`` maps callee names (``frozenset({"create_engine"})``, matched
    against the last part of ``sa.create_engine`` or the original name of an
    imported alias) to a handler; ``None`` instead of names means every call.
    """

    rule: str
    on: tuple[tuple[type[ast.AST], Hook], ...] = ()
    calls: tuple[tuple[frozenset[str] | None, Hook], ...] = ()
    finish: Finish | None = None


@dataclass
class Wiring:
    """The hooks of the selected rules, arranged for the walker."""

    by_type: dict[type, list[Hook]] = field(default_factory=dict)
    by_call: dict[str | None, list[Hook]] = field(default_factory=dict)
    finishers: list[Finish] = field(default_factory=list)


def all_hooks() -> tuple[RuleHooks, ...]:
    from labkit.doctor.rules import (
        blocking,
        events,
        import_time,
        imports,
        middleware,
        pool,
        raw_sql,
        server,
        sessions,
        shared,
        urls,
    )

    return (*shared.HOOKS, *import_time.HOOKS, *events.HOOKS, *server.HOOKS, *urls.HOOKS, *blocking.HOOKS,
            *raw_sql.HOOKS, *sessions.HOOKS, *pool.HOOKS, *middleware.HOOKS, *imports.HOOKS)


def wire(rules: frozenset[str]) -> Wiring:
    """The hooks of the selected rules. ``shared`` hooks (rule id ``""``) serve several rules: always wired."""
    wiring = Wiring()
    for entry in all_hooks():
        if entry.rule and entry.rule not in rules:
            continue
        for node_type, hook in entry.on:
            hooks = wiring.by_type.setdefault(node_type, [])
            if hook not in hooks:
                hooks.append(hook)
        for names, hook in entry.calls:
            for name in (None,) if names is None else sorted(names):
                hooks = wiring.by_call.setdefault(name, [])
                if hook not in hooks:
                    hooks.append(hook)
        if entry.finish is not None and entry.finish not in wiring.finishers:
            wiring.finishers.append(entry.finish)
    return wiring


# Words that make a function body worth walking whatever the rules select: bindings other code reads
# (`global`, `app.state`), handlers (`try`), middleware lists, and a nested `async def` (maybe a route).
ALWAYS_LOUD = frozenset({"try", "global", "state", "middleware"})
NESTED_ASYNC_DEF = r"async[ \t]+def"
_RENAMED = re.compile(r"\b(\w+)[ \t]+as[ \t]+(\w+)")


class Loudness:
    """Which lines have a word some wired rule could react to inside a function body.

    A function body with none of them is not walked (see
    :meth:`labkit.doctor.context.FileContext.quiet`): most code in a project
    is business logic that no rule cares about. Calls are matched by name (the
    walker dispatches them by name too), string rules by ``://``; a file that
    imports a call word under another name (``create_engine as make``) gets
    that name added. Async routes are always walked, so their many call names
    need no word here.
    """

    def __init__(self, wiring: Wiring) -> None:
        self.words = tuple(sorted({name for name in wiring.by_call if name} | ALWAYS_LOUD))
        self.strings = ast.Constant in wiring.by_type or ast.JoinedStr in wiring.by_type
        self._patterns: dict[tuple[str | bool, ...], re.Pattern[str] | None] = {}

    def _pattern(self, text: str) -> re.Pattern[str] | None:
        """A pattern of only the loud words present in ``text`` (a short alternation is a fast one)."""
        present = [w for w in self.words if w in text]
        if " as " in text:
            present += sorted({alias for original, alias in _RENAMED.findall(text) if original in self.words})
        nested_async = "async" in text
        url = self.strings and "://" in text
        key: tuple[str | bool, ...] = (*present, nested_async, url)
        if key not in self._patterns:
            alternatives = [re.escape(w) for w in present] + ([NESTED_ASYNC_DEF] if nested_async else [])
            pattern = r"\b(?:" + "|".join(alternatives) + r")\b" if alternatives else ""
            if url:
                pattern = f"{pattern}|://" if pattern else "://"
            self._patterns[key] = re.compile(pattern) if pattern else None
        return self._patterns[key]

    def lines(self, text: str) -> list[int]:
        """The line numbers (sorted) where a loud word appears in ``text``."""
        pattern = self._pattern(text)
        found: list[int] = []
        if pattern is None:
            return found
        line, position = 1, 0
        for match in pattern.finditer(text):
            start = match.start()
            line += text.count("\n", position, start)
            position = start
            if not found or found[-1] != line:
                found.append(line)
        return found
