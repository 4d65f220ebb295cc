"""What a scan produces: findings about the user's code, errors of the doctor itself, and counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labkit.doctor.scanner import Project


# Severities that make the exit code 1 (see labkit.doctor.rule for what each means).
FAILING = frozenset({"error", "warning"})


@dataclass(frozen=True, order=True)
class Finding:
    """One problem at one place. ``path`` is relative to the scanned PATH, with ``/``; line and col count from 1."""

    path: str
    line: int
    col: int
    rule: str
    message: str
    end_line: int = field(default=0, compare=False)  # last line of the statement, for suppressions
    subject: str = field(default="", compare=False)  # what it is about (a class name), to merge static and runtime
    severity: str = field(default="error", compare=False)  # error | warning | info (see labkit.doctor.rule)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "message": self.message,
        }


@dataclass(frozen=True)
class DoctorError:
    """The doctor failed on something (a bug, or the --app probe broke): the exit code becomes 2."""

    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


@dataclass
class AppReport:
    """What the ``--app`` probe saw in the live app (only when it imported)."""

    target: str
    imported: bool
    lifespan: bool | None = None
    startup_hooks: int = 0
    middleware: list[str] = field(default_factory=list)
    routes: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "imported": self.imported,
            "error": self.error or None,
            "lifespan": self.lifespan,
            "startup_hooks": self.startup_hooks,
            "middleware": self.middleware,
            "routes": self.routes,
        }


@dataclass
class Report:
    """Everything one ``labkit doctor`` run found, ready for an output format."""

    root: str
    findings: list[Finding] = field(default_factory=list)
    errors: list[DoctorError] = field(default_factory=list)
    files: int = 0
    lines: int = 0
    seconds: float = 0.0
    app: AppReport | None = None
    project: Project | None = field(default=None, repr=False)  # what the scan learned (the --app probe uses it)

    @property
    def exit_code(self) -> int:
        """2 when the doctor itself failed, 1 for an error or warning finding, 0 otherwise (``info`` never fails)."""
        if self.errors:
            return 2
        return 1 if any(f.severity in FAILING for f in self.findings) else 0

    def severity_counts(self) -> dict[str, int]:
        """How many findings of each severity, ``error`` first."""
        counts = {"error": 0, "warning": 0, "info": 0}
        for finding in self.findings:
            counts[finding.severity] = counts.get(finding.severity, 0) + 1
        return counts
