"""``labkit doctor``: find the workbook's failure patterns in your own FastAPI + SQLAlchemy code.

Static by default: every ``.py`` file under PATH is parsed once with :mod:`ast`
and walked once; nothing of the project is imported or run. ``--app
module:attr`` adds a runtime probe that imports the app in a subprocess with
the database unreachable.

    from labkit.doctor import scan
    report, _ = scan("path/to/project")
    for finding in report.findings:
        print(finding.path, finding.line, finding.rule, finding.message)

The rules, their fix hints and the notebooks that teach them are in
:mod:`labkit.doctor.registry` (``labkit doctor --list-rules``).
"""

from labkit.doctor.findings import AppReport, DoctorError, Finding, Report
from labkit.doctor.options import Options
from labkit.doctor.registry import RULES, RuleInfo
from labkit.doctor.scanner import Project, scan

__all__ = ["RULES", "AppReport", "DoctorError", "Finding", "Options", "Project", "Report", "RuleInfo", "scan"]
