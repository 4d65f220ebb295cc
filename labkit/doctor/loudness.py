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
# After a whole word `async`: `def` as a whole word, past spaces or tabs (a nested `async def`).
_NESTED_DEF = re.compile(r"[ \t]+def\b")
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

    def lines(self, text: str) -> list[int]:
        """The line numbers (sorted) where a loud word appears in ``text``: as a whole word, or ``://``.

        Found with ``str.find``, word by word, rather than with one regex of them all, which the regex
        engine tried at every position of the file (4% of a scan's instructions, measured); same lines.
        """
        present = [w for w in self.words if w in text]
        if " as " in text:
            present += sorted({alias for original, alias in _RENAMED.findall(text) if original in self.words})
        starts: list[int] = []
        for word in present:
            starts.extend(_whole_words(text, word))
        if "async" in text:
            starts.extend(start for start in _whole_words(text, "async") if _NESTED_DEF.match(text, start + 5))
        if self.strings:
            start = text.find("://")
            while start != -1:
                starts.append(start)
                start = text.find("://", start + 3)
        found: list[int] = []
        line, position = 1, 0
        for start in sorted(starts):
            line += text.count("\n", position, start)
            position = start
            if not found or found[-1] != line:
                found.append(line)
        return found


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"  # what the regex engine's \b calls a word character


def _whole_words(text: str, word: str) -> list[int]:
    """Where ``word`` starts in ``text`` with no word character just before or after it (regex ``\bword\b``)."""
    found = []
    size, end = len(word), len(text)
    start = text.find(word)
    while start != -1:
        after = start + size
        if (start == 0 or not _is_word_char(text[start - 1])) and (after == end or not _is_word_char(text[after])):
            found.append(start)
        start = text.find(word, start + 1)
    return found
