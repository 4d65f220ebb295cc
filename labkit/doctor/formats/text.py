"""Text for people (and editors): findings grouped by rule, one ``path:line:col: rule-id message`` line each.

A severity other than ``error`` shows after the rule id (``[warning]``,
``[info]``). Each group ends with the rule's fix and the URL of the notebook
that teaches it; then the doctor's own errors, the ``--app`` probe's summary,
and one closing line with the counts.
"""

from __future__ import annotations

from itertools import groupby

from labkit.doctor import learn
from labkit.doctor.findings import AppReport, Report
from labkit.doctor.registry import RULES


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def line(finding_path: str, line_number: int, col: int, rule: str, severity: str, message: str) -> str:
    shown = "" if severity == "error" else f" [{severity}]"
    return f"{finding_path}:{line_number}:{col}: {rule}{shown} {message}"


def render(report: Report, learn_template: str) -> str:
    lines: list[str] = []
    order = {rule: number for number, rule in enumerate(RULES)}  # the registry's order: the workbook's
    by_rule = sorted(report.findings, key=lambda f: (order.get(f.rule, len(order)), f.rule, f.path, f.line, f.col))
    for rule_id, group in groupby(by_rule, key=lambda f: f.rule):
        for finding in group:
            lines.append(line(finding.path, finding.line, finding.col, finding.rule, finding.severity, finding.message))
        rule = RULES.get(rule_id)
        if rule is not None:
            lines.append(f"  fix: {rule.hint}")
            if rule.notebooks:
                lines.append(f"  learn: {', '.join(learn.url(name, learn_template) for name in rule.notebooks)}")
        lines.append("")
    for error in report.errors:
        lines.append(f"{error.path}: doctor error: {error.message}")
    if report.errors:
        lines.append("")
    if report.app is not None:
        lines += [_app_text(report.app), ""]
    scanned = f"{_plural(report.files, 'file')}, {_plural(report.lines, 'line')} checked in {report.seconds:.2f} s"
    if report.findings:
        rules = len({f.rule for f in report.findings})
        files = len({f.path for f in report.findings})
        counts = ", ".join(f"{_plural(n, s)}" for s, n in report.severity_counts().items() if n)
        lines.append(
            f"{_plural(len(report.findings), 'finding')} ({counts}; {_plural(rules, 'rule')}) in "
            f"{_plural(files, 'file')}; {scanned}."
        )
    else:
        lines.append(f"No findings; {scanned}.")
    if report.errors:
        lines.append(f"{_plural(len(report.errors), 'doctor error')}: the check is incomplete (exit code 2).")
    return "\n".join(lines)


def _app_text(app: AppReport) -> str:
    if not app.imported:
        return f"app {app.target}: not imported ({app.error})"
    middleware = ", ".join(app.middleware) or "none"
    lifespan = "yes" if app.lifespan else "no"
    return (
        f"app {app.target}: imported with the database unreachable; {_plural(len(app.routes), 'route')}; "
        f"lifespan: {lifespan}; startup/shutdown hooks: {app.startup_hooks}; middleware: {middleware}"
    )
