"""Inline suppressions: ``# labkit: ignore[rule-id]`` on the line of a finding.

``# labkit: ignore[a, b]`` silences two rules, a bare ``# labkit: ignore``
every rule on that line. For a statement spread over several lines, the
comment may also sit on its last line (after the closing parenthesis), where
formatters tend to leave trailing comments.

The comment is found with a regular expression rather than the tokenizer:
the tokenizer would triple the cost of a scan, and the only way to fool the
regex is a string literal that itself contains the comment text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from labkit.doctor.findings import Finding

_COMMENT = re.compile(r"#\s*labkit:\s*ignore(?:\[([^\]]*)\])?")
ALL = frozenset({"*"})


@dataclass(frozen=True)
class Suppressions:
    """Line number -> the rule ids silenced there (``ALL`` for every rule)."""

    by_line: dict[int, frozenset[str]]

    @classmethod
    def parse(cls, text: str) -> Suppressions:
        if "labkit:" not in text:  # the common case costs one substring search
            return NONE
        by_line: dict[int, frozenset[str]] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if "labkit:" not in line:
                continue
            for match in _COMMENT.finditer(line):
                rules = (
                    ALL
                    if match.group(1) is None
                    else frozenset(part.strip() for part in match.group(1).split(",") if part.strip())
                )
                by_line[number] = by_line.get(number, frozenset()) | rules
        return cls(by_line)

    def silences(self, finding: Finding) -> bool:
        if not self.by_line:
            return False
        for line in {finding.line, finding.end_line or finding.line}:
            rules = self.by_line.get(line)
            if rules and ("*" in rules or finding.rule in rules):
                return True
        return False


NONE = Suppressions({})
