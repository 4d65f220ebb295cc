"""SARIF 2.1.0 for code-scanning services: one run, every rule's metadata, one result per finding.

Each rule carries its description, its fix as help text, its default level and
a ``helpUri``: the notebook that teaches it, when the learn URL is absolute
(see :mod:`labkit.doctor.learn`; otherwise the path goes into the help text).
Locations are relative to ``%SRCROOT%``, the working directory (the
checkout's root in a CI job). The doctor's own errors are tool execution
notifications, and make ``executionSuccessful`` false.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from labkit.doctor import learn
from labkit.doctor.findings import Report
from labkit.doctor.formats.paths import from_cwd
from labkit.doctor.registry import RULES
from labkit.doctor.rule import Rule

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
TOOL = "labkit doctor"


def _name(rule: Rule) -> str:
    """``engine-at-import`` -> ``EngineAtImport`` (SARIF's readable rule name)."""
    return "".join(part.capitalize() for part in rule.id.split("-"))


def _rule(rule: Rule, learn_template: str) -> dict[str, Any]:
    descriptor: dict[str, Any] = {
        "id": rule.id,
        "name": _name(rule),
        "shortDescription": {"text": rule.finds.replace("`", "")},
        "fullDescription": {"text": rule.finds.replace("`", ""), "markdown": rule.finds},
        "help": {"text": rule.hint.replace("`", ""), "markdown": rule.hint},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {"origin": rule.origin, "notebooks": list(rule.notebooks)},
    }
    if rule.notebooks:
        where = learn.url(rule.notebook, learn_template)
        if "://" in where:  # SARIF wants an absolute URI; a path inside the workbook goes into the help text
            descriptor["helpUri"] = where
        else:
            descriptor["help"]["text"] += f" Learn: {where}"
    return descriptor


def _version() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover
        return "0"
    try:
        return version("labkit")
    except PackageNotFoundError:
        return "0"


def render(report: Report, learn_template: str) -> str:
    rules = list(RULES.values())
    index = {rule.id: number for number, rule in enumerate(rules)}
    results = []
    for finding in report.findings:
        region = {"startLine": finding.line, "startColumn": finding.col, "endLine": max(finding.end_line, finding.line)}
        result: dict[str, Any] = {
            "ruleId": finding.rule,
            "level": LEVELS.get(finding.severity, "error"),
            "message": {"text": finding.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": from_cwd(report, finding.path), "uriBaseId": "%SRCROOT%"},
                        "region": region,
                    }
                }
            ],
        }
        if finding.rule in index:
            result["ruleIndex"] = index[finding.rule]
        results.append(result)
    notifications = [
        {
            "level": "error",
            "message": {"text": error.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": from_cwd(report, error.path), "uriBaseId": "%SRCROOT%"}
                    }
                }
            ],
        }
        for error in report.errors
    ]
    driver: dict[str, Any] = {
        "name": TOOL,
        "version": _version(),
        "rules": [_rule(rule, learn_template) for rule in rules],
    }
    if learn_template.startswith("https://") and "/notebooks/" in learn_template:
        driver["informationUri"] = learn_template.rsplit("/notebooks/", 1)[0]
    run = {
        "tool": {"driver": driver},
        "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().resolve().as_uri() + "/"}},
        "invocations": [{"executionSuccessful": not report.errors, "toolExecutionNotifications": notifications}],
        "results": results,
    }
    return json.dumps({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2)
