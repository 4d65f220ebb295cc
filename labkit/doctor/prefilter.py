"""Files no selected rule can report on: checked for syntax errors, but never turned into a tree and walked.

Most files of a backend are business logic (services, schemas, helpers) that
no rule reacts to, and building their trees was most of a scan's time. A file
is left unwalked only when all of this holds, each a cheap look at its text:

- it has none of the words the selected rules need (each rule declares them:
  :meth:`labkit.doctor.rule.Hooks.needs`, plus every call name a rule hooks
  and the words that always matter, see :data:`labkit.doctor.loudness.ALWAYS_LOUD`),
  in any case;
- it imports nothing of the project itself (no relative import, no import naming one
  of its top-level packages) and nothing of SQLAlchemy, SQLModel or Alembic: the kinds
  the rules wait for (engine, session...) can only come from those, so nothing in it
  can turn into a finding once the whole project is known;
- it parses (:func:`labkit.doctor.source.parses`): a syntax error is reported as ever.

What such a file binds may still matter to another file that imports it, so
the scan walks it after all when some walked file imports it, its package or
something in it (:func:`referenced`). A rule with node-type hooks that declares
no words turns the pre-filter off: every file is walked, as before.

Limits, the same as for the function bodies :class:`labkit.doctor.loudness.Loudness`
leaves unwalked: the words are read in the text as written, so a URL spelled with
escapes (``"postgresql:\\x2f/..."``) or split across two literals at ``://`` is not
seen; and a file too deeply nested for the walk (a ``syntax-error`` saying so) is not
walked, so not reported, when it needs no walk.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from labkit.doctor.loudness import ALWAYS_LOUD
from labkit.doctor.wiring import Wiring

# Where the values of the kinds the database rules track come from (see labkit.doctor.values).
KIND_SOURCES = frozenset({"sqlalchemy", "sqlmodel", "alembic"})
# Words that always wake a file: async code (routes, lifespans) and URLs.
ALWAYS_NEEDED = frozenset({"async", "://"})
_DOTTED = re.compile(r"\.+[\w.]*|\w[\w.]*")


class Prefilter:
    """Says from its text alone whether a file can be left unwalked (see the module's docstring)."""

    def __init__(self, wiring: Wiring, first_party: frozenset[str]) -> None:
        self.enabled = wiring.needed is not None
        words = (wiring.needed or set()) | wiring.words | ALWAYS_LOUD | ALWAYS_NEEDED
        self.words = tuple(sorted({word.lower() for word in words}))
        self.roots = first_party | KIND_SOURCES

    def skippable(self, text: str) -> bool:
        """Whether no selected rule can report anything in a file with this text."""
        if not self.enabled:
            return False
        lowered = text.lower()
        for word in self.words:
            if word in lowered:
                return False
        return not self._imports_project_or_database(text)

    def _imports_project_or_database(self, text: str) -> bool:
        """Whether some line with ``import`` on it names the project, SQLAlchemy & co., or is relative.

        Read from the text, not the tree: every word of such a line counts (a comment or a string
        that says ``import`` only makes the answer more careful), and a line ending in a backslash
        goes on to the next.
        """
        start = text.find("import")
        while start != -1:
            begin = text.rfind("\n", 0, start) + 1
            end = text.find("\n", start)
            while end != -1 and text[end - 1 : end] == "\\":
                end = text.find("\n", end + 1)
            line = text[begin:] if end == -1 else text[begin:end]
            for word in _DOTTED.findall(line):
                if word.startswith(".") or word.split(".", 1)[0] in self.roots:
                    return True
            if end == -1:
                break
            start = text.find("import", end)
        return False


def referenced(modules: Iterable[str], imported: set[str]) -> set[str]:
    """Those of ``modules`` that an import of a walked file may reach.

    ``imported`` holds what walked files imported: modules (``import a.b``), names in them
    (``from a.b import c`` is ``a.b.c``, which may itself be a module) and star-imported modules.
    A module is reached by an import of itself or of something inside it, and by an import of a
    package above it (``import a`` reaches ``a.b`` as an attribute).
    """
    inside: set[str] = set()
    for target in imported:
        parts = target.split(".")
        inside.update(".".join(parts[:cut]) for cut in range(1, len(parts) + 1))
    found: set[str] = set()
    for module in modules:
        parts = module.split(".")
        if module in inside or any(".".join(parts[:cut]) in imported for cut in range(1, len(parts))):
            found.add(module)
    return found
