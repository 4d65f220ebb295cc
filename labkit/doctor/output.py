"""The two ways a report is printed: text for people, JSON for tools.

Text: findings grouped by rule, one ``path:line:col rule-id message`` line
each (the form editors and CI annotations understand), then the rule's fix
hint and the notebook that teaches it, once per group. JSON: an object with
``findings`` (each with ``rule``, ``path`` relative to PATH, ``line``,
``col``, ``message``, plus ``hint`` and ``notebooks``), ``errors`` (the
doctor's own failures), ``app`` (the ``--app`` probe, or null) and ``summary``.
"""

from __future__ import annotations

import json
from itertools import groupby

from labkit.doctor.findings import AppReport, Report
from labkit.doctor.registry import RULES


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def text(report: Report) -> str:
    lines: list[str] = []
    order = {rule: number for number, rule in enumerate(RULES)}  # the registry's order: the workbook's
    by_rule = sorted(report.findings, key=lambda f: (order.get(f.rule, len(order)), f.rule, f.path, f.line, f.col))
    for rule_id, group in groupby(by_rule, key=lambda f: f.rule):
        for finding in group:
            lines.append(f"{finding.path}:{finding.line}:{finding.col} {finding.rule} {finding.message}")
        rule = RULES.get(rule_id)
        if rule is not None:
            lines.append(f"  fix: {rule.hint}")
            if rule.notebooks:
                lines.append(f"  learn: {', '.join(rule.notebook_paths())}")
        lines.append("")
    for error in report.errors:
        lines.append(f"{error.path}: doctor error: {error.message}")
    if report.errors:
        lines.append("")
    if report.app is not None:
        lines += [_app_text(report.app), ""]
    scanned = (f"{_plural(report.files, 'file')}, {_plural(report.lines, 'line')} checked "
               f"in {report.seconds:.2f} s")
    if report.findings:
        rules = len({f.rule for f in report.findings})
        files = len({f.path for f in report.findings})
        lines.append(f"{_plural(len(report.findings), 'finding')} ({_plural(rules, 'rule')}) in "
                     f"{_plural(files, 'file')}; {scanned}.")
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
    return (f"app {app.target}: imported with the database unreachable; {_plural(len(app.routes), 'route')}; "
            f"lifespan: {lifespan}; startup/shutdown hooks: {app.startup_hooks}; middleware: {middleware}")


def as_json(report: Report) -> str:
    findings = []
    for finding in report.findings:
        item = finding.as_dict()
        rule = RULES.get(finding.rule)
        item["hint"] = rule.hint if rule else ""
        item["notebooks"] = list(rule.notebook_paths()) if rule else []
        findings.append(item)
    document = {
        "version": 1,
        "root": report.root,
        "findings": findings,
        "errors": [error.as_dict() for error in report.errors],
        "app": report.app.as_dict() if report.app is not None else None,
        "summary": {
            "files": report.files, "lines": report.lines, "findings": len(report.findings),
            "seconds": round(report.seconds, 4), "exit_code": report.exit_code,
        },
    }
    return json.dumps(document, indent=2)
