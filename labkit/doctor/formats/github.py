"""GitHub Actions workflow commands: one ``::error file=...,line=...::message`` line per finding.

The runner turns each line into an annotation on the pull request's diff.
Paths are relative to the working directory (the checkout's root in a job);
severities map to ``error``, ``warning`` and ``notice``. The doctor's own
errors become annotations too, so an incomplete check is visible.
"""

from __future__ import annotations

from labkit.doctor import learn
from labkit.doctor.findings import Report
from labkit.doctor.formats.paths import from_cwd
from labkit.doctor.registry import RULES

LEVELS = {"error": "error", "warning": "warning", "info": "notice"}


def _data(text: str) -> str:
    """The message part of a workflow command: %, CR and LF escaped."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    """A property value of a workflow command: the message escapes, plus ``:`` and ``,``."""
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render(report: Report, learn_template: str) -> str:
    lines = []
    for finding in report.findings:
        rule = RULES.get(finding.rule)
        message = finding.message
        if rule is not None:
            message += f"\nfix: {rule.hint}"
            if rule.notebooks:
                message += f"\nlearn: {learn.url(rule.notebook, learn_template)}"
        properties = (
            f"file={_property(from_cwd(report, finding.path))},line={finding.line},"
            f"endLine={max(finding.end_line, finding.line)},col={finding.col},"
            f"title={_property('labkit doctor: ' + finding.rule)}"
        )
        lines.append(f"::{LEVELS.get(finding.severity, 'error')} {properties}::{_data(message)}")
    for error in report.errors:
        lines.append(
            f"::error file={_property(from_cwd(report, error.path))},title=labkit doctor error::{_data(error.message)}"
        )
    return "\n".join(lines)
