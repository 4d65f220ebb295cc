"""Where a user of the doctor reads about a rule: a URL to the notebook that teaches it.

A user who installed the doctor into their own project has no ``notebooks/``
folder, so ``learn:`` is a URL. The template comes from (first found)
``--learn-url``, ``learn-url`` under ``[tool.labkit.doctor]``, the environment
variable :data:`ENVIRONMENT`, or the ``Repository`` URL in labkit's installed
package metadata; without any, the path inside the workbook's repository is
shown. A template may hold ``{notebook}`` (the notebook's file name without
``.ipynb``); a plain base URL gets ``/notebooks/<name>.ipynb`` appended.
"""

from __future__ import annotations

import os

ENVIRONMENT = "LABKIT_DOCTOR_LEARN_URL"


def _from_metadata() -> str | None:
    """``<Repository>/blob/main`` from labkit's own package metadata, when it names one."""
    try:
        from importlib.metadata import PackageNotFoundError, metadata
    except ImportError:  # pragma: no cover - the standard library always has it
        return None
    try:
        urls: list[str] = metadata("labkit").get_all("Project-URL") or []
    except PackageNotFoundError:
        return None
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() in ("repository", "source", "source code") and url.strip().startswith("https://"):
            return url.strip().rstrip("/") + "/blob/main"
    return None


def template(configured: str | None = None) -> str:
    """The learn-URL template in force (``{notebook}`` stands for the notebook's name)."""
    base = configured or os.environ.get(ENVIRONMENT) or _from_metadata() or ""
    if "{notebook}" in base:
        return base
    return (base.rstrip("/") + "/" if base else "") + "notebooks/{notebook}.ipynb"


def url(notebook: str, learn_template: str) -> str:
    return learn_template.replace("{notebook}", notebook)
