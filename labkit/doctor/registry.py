"""Every rule the doctor knows, by id, and the questions asked of them all: which ids are selected, the table.

Each rule lives in its own module (see :mod:`labkit.doctor.rules`); this
module only gathers them. The table is also the documentation:
``labkit doctor --list-rules`` prints it as markdown, ready for the README.
"""

from __future__ import annotations

from collections.abc import Iterable

from labkit._errors import LabkitError
from labkit.doctor.rule import Rule
from labkit.doctor.rules import ALL

RULES: dict[str, Rule] = {rule.id: rule for rule in ALL}


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
    for rule in ALL:
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
