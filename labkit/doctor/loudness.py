"""Which lines of a file have a word some wired rule reacts to, so quiet function bodies can be skipped.

Most code in a project is business logic that no rule cares about; not
walking it is most of the doctor's speed (see
:meth:`labkit.doctor.context.FileContext.quiet`).
"""

from __future__ import annotations

import ast
import re

from labkit.doctor.wiring import Wiring

# Words that make a function body worth walking whatever the rules select: bindings other code reads
# (`global`, `app.state`), handlers (`try`), middleware lists, what a dependency yields, and a nested
# `async def` (maybe a route); and the factories whose results other files' values depend on.
ALWAYS_LOUD = frozenset(
    {
        "try",
        "global",
        "state",
        "middleware",
        "yield",
        "create_engine",
        "create_async_engine",
        "sessionmaker",
        "async_sessionmaker",
    }
)
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
        self.words = tuple(
            sorted({name for name in wiring.by_call if name and not name.startswith("@")} | wiring.words | ALWAYS_LOUD)
        )
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
