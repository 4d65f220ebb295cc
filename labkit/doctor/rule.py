"""One rule as one object: its id, what it finds, the fix, the notebook that teaches it, and its hooks.

A rule module builds its :class:`Rule` first and registers its functions on
it with decorators, so the text a user reads and the code that decides sit
in the same file::

    ENGINE_AT_IMPORT = Rule("engine-at-import", finds="...", hint="...",
                            notebooks=("01-import-time-engine",))

    @ENGINE_AT_IMPORT.on_call()            # every call
    def engine_at_import(node: ast.Call, ctx: FileContext) -> None:
        ...
        ctx.report(ENGINE_AT_IMPORT, node, "...")

The ids are part of the interface (``--select``, ``--ignore``, inline
suppressions, CI configs, JSON and SARIF output all name them), so they never
change once published.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from labkit.doctor.findings import Finding

if TYPE_CHECKING:
    from labkit.doctor.context import FileContext

Hook = Callable[[Any, "FileContext"], None]
Finish = Callable[["FileContext"], None]
Origin = Literal["static", "file", "runtime"]
Severity = Literal["error", "warning", "info"]
Where = Literal["import", "async-route"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")


class Hooks:
    """Where some code looks during the walk: node types, calls by callee name, an end-of-file step.

    ``calls`` maps callee names (matched against the last part of
    ``sa.create_engine`` or the original name of an imported alias) to a
    function; ``None`` instead of names means every call.
    """

    def __init__(self) -> None:
        self.on: list[tuple[type[ast.AST], Hook]] = []
        self.calls: list[tuple[frozenset[str] | None, Hook]] = []
        self.finishers: list[Finish] = []
        self.words: set[str] = set()  # words that make a function or class body worth walking (see Loudness)
        # Words one of which (in any case) a file must hold for these hooks to report in it; None: not declared.
        self.needed: set[str] | None = None

    def on_node(self, *types: type[ast.AST]) -> Callable[[Hook], Hook]:
        """Decorator: call the function with every node of these types."""

        def register(hook: Hook) -> Hook:
            self.on.extend((node_type, hook) for node_type in types)
            return hook

        return register

    def on_call(self, *names: str, where: Where | None = None) -> Callable[[Hook], Hook]:
        """Decorator: call the function with every call to one of these names (every call when none given).

        ``where`` (only without names) narrows "every call" to those that run at import time
        (``"import"``) or inside an ``async def`` route (``"async-route"``): the walker then skips
        the function for all other calls, which is most of them.
        """

        def register(hook: Hook) -> Hook:
            if names:
                self.calls.append((frozenset(names), hook))
            else:
                self.calls.append((None if where is None else frozenset({"@" + where}), hook))
            return hook

        return register

    def loud(self, *words: str) -> None:
        """Walk every body that has one of these words (call names registered with on_call count already)."""
        self.words.update(words)

    def needs(self, *words: str) -> None:
        """Declare: in a file with none of these words (any case), nor any call name hooked above, these
        hooks report nothing (see :mod:`labkit.doctor.prefilter`, which then leaves the file unwalked).

        Required of hooks on node types and on every call: without it no file is left unwalked. Only
        for files that import neither the project nor SQLAlchemy: values from those are decided elsewhere.
        """
        self.needed = (self.needed or set()) | set(words)

    @property
    def needs_declared(self) -> bool:
        """Whether a file without the needed words can be left unwalked (see :meth:`needs`)."""
        return self.needed is not None or (not self.on and not self.finishers and all(names for names, _ in self.calls))

    def on_finish(self, finish: Finish) -> Finish:
        """Decorator: call the function once a file is walked."""
        self.finishers.append(finish)
        return finish


@dataclass(eq=False)
class Rule(Hooks):
    """A rule as a user meets it (id, what it finds, a one-line fix, where it is taught) and as the walk runs it.

    ``severity``: ``error`` (breaks at runtime or leaks a secret), ``warning``
    (works today, fails under load or later), ``info`` (worth a look, never
    fails a build on its own). A finding may say otherwise for its own case
    (a loopback development password is a warning, a remote one an error).
    """

    id: str
    finds: str
    hint: str
    notebooks: tuple[str, ...] = ()
    severity: Severity = "error"
    origin: Origin = "static"  # static: read from the code; file: about a file; runtime: needs --app

    def __post_init__(self) -> None:
        Hooks.__init__(self)
        if not self.id or self.severity not in SEVERITIES:
            raise ValueError(f"a rule needs an id and a severity in {SEVERITIES}: {self.id!r}, {self.severity!r}")

    @property
    def notebook(self) -> str:
        """The notebook that teaches this rule first ("" when none does)."""
        return self.notebooks[0] if self.notebooks else ""

    def notebook_paths(self) -> tuple[str, ...]:
        return tuple(f"notebooks/{name}.ipynb" for name in self.notebooks)

    def at(
        self, path: str, line: int, col: int, message: str, subject: str = "", severity: Severity | None = None
    ) -> Finding:
        """A finding of this rule at a place (the walk's own findings go through FileContext.report)."""
        return Finding(path, line, col, self.id, message, line, subject, severity or self.severity)

    def __str__(self) -> str:
        return self.id
