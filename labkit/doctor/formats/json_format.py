"""JSON for tools: ``findings`` (rule, severity, path relative to PATH, line, col, message, hint, learn URLs),
``errors`` (the doctor's own failures), ``app`` (the ``--app`` probe, or null) and ``summary``."""

from __future__ import annotations

import json

from labkit.doctor import learn
from labkit.doctor.findings import Report
from labkit.doctor.registry import RULES


def render(report: Report, learn_template: str) -> str:
    findings = []
    for finding in report.findings:
        item = finding.as_dict()
        rule = RULES.get(finding.rule)
        item["hint"] = rule.hint if rule else ""
        item["notebooks"] = list(rule.notebooks) if rule else []
        item["learn"] = [learn.url(name, learn_template) for name in rule.notebooks] if rule else []
        findings.append(item)
    document = {
        "version": 2,
        "root": report.root,
        "findings": findings,
        "errors": [error.as_dict() for error in report.errors],
        "app": report.app.as_dict() if report.app is not None else None,
        "summary": {
            "files": report.files,
            "lines": report.lines,
            "findings": len(report.findings),
            "by_severity": report.severity_counts(),
            "seconds": round(report.seconds, 4),
            "exit_code": report.exit_code,
        },
    }
    return json.dumps(document, indent=2)
