"""The settings of one scan: which rules, which files, the pool limit.

They come from the command line and, for a project that runs the doctor in
CI, from ``[tool.labkit.doctor]`` in its ``pyproject.toml`` (the nearest one
at or above PATH). The command line wins::

    [tool.labkit.doctor]
    select = ["ALL"]
    ignore = ["hardcoded-db-password"]
    exclude = ["migrations", "scripts/*"]
    pool-limit = 40
    learn-url = "https://example.org/workbook/blob/v1"
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit._errors import LabkitError
from labkit.doctor import registry
from labkit.doctor.rule import Rule

DEFAULT_POOL_LIMIT = 30


@dataclass(frozen=True)
class Options:
    """What to check and how: the selected rule ids, glob patterns to leave out, the pool limit."""

    rules: frozenset[str] = field(default_factory=lambda: frozenset(registry.RULES))
    exclude: tuple[str, ...] = ()
    pool_limit: int = DEFAULT_POOL_LIMIT
    python: tuple[int, int] | None = None  # the oldest Python the project supports (its requires-python)
    learn_url: str | None = None  # where `learn:` points (see labkit.doctor.learn)
    jobs: int = 1  # processes to check files in; 0: as many as the cores and the tree are worth

    def enabled(self, rule: Rule | str) -> bool:
        return (rule if isinstance(rule, str) else rule.id) in self.rules


def oldest_python(requirement: object) -> tuple[int, int] | None:
    """The oldest Python a ``requires-python`` string allows: ``">=3.12,<4"`` -> (3, 12); None if it says none.

    Poetry's ``"^3.12"`` and ``"~3.12"`` are read too. Only lower bounds count: the doctor
    needs to know whether the project may use syntax newer than the interpreter it runs on.
    """
    if not isinstance(requirement, str):
        return None
    floors = []
    for clause in requirement.split(","):
        match = re.match(r"\s*(>=|~=|==|\^|~|>)\s*(\d+)\.(\d+)", clause)
        if match:
            major, minor = int(match.group(2)), int(match.group(3))
            floors.append((major, minor + 1) if match.group(1) == ">" else (major, minor))
    return max(floors) if floors else None


def _python_of(data: dict[str, Any]) -> tuple[int, int] | None:
    project = data.get("project", {})
    poetry = data.get("tool", {}).get("poetry", {}).get("dependencies", {})
    return oldest_python(project.get("requires-python") if isinstance(project, dict) else None) or (
        oldest_python(poetry.get("python")) if isinstance(poetry, dict) else None
    )


def project_config(path: Path) -> tuple[dict[str, Any], Path | None]:
    """``[tool.labkit.doctor]`` of the nearest ``pyproject.toml`` at or above ``path`` (stopping at a VCS root).

    The section gets ``requires-python`` (as read by :func:`oldest_python`) under the key ``"python"``.
    """
    import tomllib  # only when a scan starts: importing the doctor stays light

    directory = path.resolve()
    if not directory.is_dir():
        directory = directory.parent
    for candidate in (directory, *directory.parents):
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file():
            try:
                data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                raise LabkitError(
                    f"Cannot read {pyproject}: {exc}.", "Fix the file, or run the doctor on a folder without it."
                ) from None
            section = data.get("tool", {}).get("labkit", {}).get("doctor", {})
            section = dict(section) if isinstance(section, dict) else {}
            section["python"] = _python_of(data)
            return section, pyproject
        if (candidate / ".git").exists():
            break
    return {}, None


def build(
    path: Path,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    exclude: Iterable[str] = (),
    pool_limit: int | None = None,
    use_config: bool = True,
) -> Options:
    """Command-line values over the project's config over the defaults.

    ``requires-python`` is read even with ``use_config=False``: it is a fact about the project, not a setting.
    """
    try:
        config, source = project_config(path)
    except LabkitError:
        if use_config:
            raise
        config, source = {}, None  # --no-config: a broken pyproject.toml is none of this run's business
    python = config.get("python")
    if not use_config:
        config, source = {}, None
    where = f" (in {source})" if source else ""

    def ids(key: str) -> list[str]:
        raw = config.get(key, [])
        if not isinstance(raw, (list, str)):
            raise LabkitError(
                f"[tool.labkit.doctor] {key} must be a list of rule ids{where}.",
                f'Write it as {key} = ["rule-id", ...].',
            )
        return registry.parse_ids(raw)

    chosen_select = list(select) or ids("select")
    chosen_ignore = ids("ignore") + list(ignore)
    limit = pool_limit if pool_limit is not None else config.get("pool-limit", DEFAULT_POOL_LIMIT)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise LabkitError(
            f"The pool limit must be a whole number above 0, not {limit!r}{where}.",
            "Use --pool-limit 30 or pool-limit = 30 under [tool.labkit.doctor].",
        )
    patterns = config.get("exclude", [])
    if isinstance(patterns, str):
        patterns = [patterns]
    return Options(
        rules=registry.selection(chosen_select, chosen_ignore),
        exclude=tuple(str(p) for p in patterns) + tuple(exclude),
        pool_limit=limit,
        python=python if isinstance(python, tuple) else None,
        learn_url=str(config["learn-url"]) if config.get("learn-url") else None,
    )
