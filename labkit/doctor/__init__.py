"""``labkit doctor``: find the workbook's failure patterns in your own FastAPI + SQLAlchemy code.

Static by default: every ``.py`` file under PATH is parsed once with :mod:`ast`
and walked once (a file no selected rule can report on is only checked for
syntax errors, see :mod:`labkit.doctor.prefilter`); nothing of the project is
imported or run. ``--app
module:attr`` adds a runtime probe that imports the app in a subprocess with
the database unreachable.

    from labkit.doctor import scan
    report = scan("path/to/project")
    for finding in report.findings:
        print(finding.path, finding.line, finding.rule, finding.severity, finding.message)

Each rule is one :class:`Rule` object in its own module under
:mod:`labkit.doctor.rules` (id, what it finds, the fix, the notebook that
teaches it, its hooks); :data:`RULES` has them all by id
(``labkit doctor --list-rules``).
"""

from labkit.doctor.findings import AppReport, DoctorError, Finding, Report
from labkit.doctor.options import Options
from labkit.doctor.registry import RULES
from labkit.doctor.rule import Rule
from labkit.doctor.scanner import Project, scan

__all__ = ["RULES", "AppReport", "DoctorError", "Finding", "Options", "Project", "Report", "Rule", "scan"]
