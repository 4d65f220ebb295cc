"""Paths as CI sees them: relative to the working directory (the repository root in a CI job), with ``/``."""

from __future__ import annotations

import os

from labkit.doctor.findings import Report


def from_cwd(report: Report, path: str) -> str:
    """A finding's path (relative to the scanned folder) made relative to the working directory."""
    project = report.project
    if project is None:
        return path
    joined = os.path.normpath(os.path.join(str(project.base), path))
    if os.path.isabs(joined):
        try:
            joined = os.path.relpath(joined)
        except ValueError:  # another drive (Windows)
            return joined.replace(os.sep, "/")
    return joined.replace(os.sep, "/")
