"""Which hooks run in a scan: those of the selected rules, arranged for the walker.

Only the selected rules are wired in, so ``--select`` also makes a scan
cheaper. The shared hooks (docstrings, awaited calls) serve several rules and
are always wired. A hook registered on two rules runs once.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field

from labkit.doctor.rule import Finish, Hook, Hooks
from labkit.doctor.rules import ALL, SHARED


@dataclass
class Wiring:
    """The hooks of the selected rules: by node type, by callee name (``None``: every call), end-of-file steps."""

    by_type: dict[type[ast.AST], list[Hook]] = field(default_factory=dict)
    by_call: dict[str | None, list[Hook]] = field(default_factory=dict)
    finishers: list[Finish] = field(default_factory=list)
    words: set[str] = field(default_factory=set)
    # What a file must hold for some wired hook to report in it (see labkit.doctor.prefilter); None:
    # a wired rule did not say, so every file is walked.
    needed: set[str] | None = field(default_factory=set)

    def add(self, hooks: Hooks) -> None:
        for node_type, hook in hooks.on:
            listed = self.by_type.setdefault(node_type, [])
            if hook not in listed:
                listed.append(hook)
        for names, hook in hooks.calls:
            for name in (None,) if names is None else sorted(names):
                listed = self.by_call.setdefault(name, [])
                if hook not in listed:
                    listed.append(hook)
        self.words.update(hooks.words)
        if self.needed is not None:
            if hooks.needs_declared:
                self.needed.update(hooks.needed or ())
                self.needed.update(name for names, _ in hooks.calls for name in names or () if not name.startswith("@"))
            else:
                self.needed = None
        for finish in hooks.finishers:
            if finish not in self.finishers:
                self.finishers.append(finish)


def wire(selected: Iterable[str]) -> Wiring:
    """The hooks of the rules whose ids are in ``selected``, plus the shared ones."""
    chosen = frozenset(selected)
    wiring = Wiring()
    wiring.add(SHARED)
    for rule in ALL:
        if rule.id in chosen:
            wiring.add(rule)
    return wiring
