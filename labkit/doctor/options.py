"""The settings of one scan: which rules, which files, the pool limit.

They come from the command line and, for a project that runs the doctor in
CI, from ``[tool.labkit.doctor]`` in its ``pyproject.toml`` (the nearest one
at or above PATH). The command line wins::

    [tool.labkit.doctor]
    select = ["ALL"]
    ignore = ["hardcoded-db-password"]
    exclude = ["migrations", "scripts/*"]
    pool-limit = 40
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit.doctor import registry
from labkit.doctor.rule import Rule
from labkit.errors import LabkitError

DEFAULT_POOL_LIMIT = 30


@dataclass(frozen=True)
class Options:
    """What to check and how: the selected rule ids, glob patterns to leave out, the pool limit."""

    rules: frozenset[str] = field(default_factory=lambda: frozenset(registry.RULES))
    exclude: tuple[str, ...] = ()
    pool_limit: int = DEFAULT_POOL_LIMIT

    def enabled(self, rule: Rule | str) -> bool:
        return (rule if isinstance(rule, str) else rule.id) in self.rules


def project_config(path: Path) -> tuple[dict[str, Any], Path | None]:
    """``[tool.labkit.doctor]`` of the nearest ``pyproject.toml`` at or above ``path`` (stopping at a VCS root)."""
    directory = path.resolve()
    if not directory.is_dir():
        directory = directory.parent
    for candidate in (directory, *directory.parents):
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file():
            try:
                data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                raise LabkitError(f"Cannot read {pyproject}: {exc}.",
                                  "Fix the file, or run the doctor on a folder without it.") from None
            section = data.get("tool", {}).get("labkit", {}).get("doctor", {})
            return (section if isinstance(section, dict) else {}), pyproject
        if (candidate / ".git").exists():
            break
    return {}, None


def build(path: Path, select: Iterable[str] = (), ignore: Iterable[str] = (), exclude: Iterable[str] = (),
          pool_limit: int | None = None, use_config: bool = True) -> Options:
    """Command-line values over the project's config over the defaults."""
    config, source = project_config(path) if use_config else ({}, None)
    where = f" (in {source})" if source else ""

    def ids(key: str) -> list[str]:
        raw = config.get(key, [])
        if not isinstance(raw, (list, str)):
            raise LabkitError(f"[tool.labkit.doctor] {key} must be a list of rule ids{where}.",
                              f'Write it as {key} = ["rule-id", ...].')
        return registry.parse_ids(raw)

    chosen_select = list(select) or ids("select")
    chosen_ignore = ids("ignore") + list(ignore)
    limit = pool_limit if pool_limit is not None else config.get("pool-limit", DEFAULT_POOL_LIMIT)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise LabkitError(f"The pool limit must be a whole number above 0, not {limit!r}{where}.",
                          "Use --pool-limit 30 or pool-limit = 30 under [tool.labkit.doctor].")
    patterns = config.get("exclude", [])
    if isinstance(patterns, str):
        patterns = [patterns]
    return Options(
        rules=registry.selection(chosen_select, chosen_ignore),
        exclude=tuple(str(p) for p in patterns) + tuple(exclude),
        pool_limit=limit,
    )
