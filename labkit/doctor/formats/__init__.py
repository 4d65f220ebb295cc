"""The ways a report is printed: ``text`` for people, ``json`` for tools, ``github`` and ``sarif`` for CI.

Every format takes the report and the learn-URL template (see
:mod:`labkit.doctor.learn`) and returns the whole document as one string.
"""

from __future__ import annotations

from collections.abc import Callable

from labkit.doctor.findings import Report

FORMATS = ("text", "json", "github", "sarif")


def render(report: Report, name: str, learn_template: str) -> str:
    """The report in format ``name`` (one of :data:`FORMATS`)."""
    renderer: Callable[[Report, str], str]
    if name == "json":
        from labkit.doctor.formats.json_format import render as renderer
    elif name == "github":
        from labkit.doctor.formats.github import render as renderer
    elif name == "sarif":
        from labkit.doctor.formats.sarif import render as renderer
    else:
        from labkit.doctor.formats.text import render as renderer
    return renderer(report, learn_template)
