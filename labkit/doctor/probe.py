"""``--app module:attr``: import the app in a subprocess with the database unreachable, and look at it.

Static rules see the code; this sees the app it builds. The child (see
:mod:`labkit.doctor.probe_child`) runs with the project folder as its working
directory, ``DATABASE_URL`` set to a loopback port where nothing listens
(:data:`UNREACHABLE_URL` with asyncpg when the project calls
``create_async_engine`` anywhere, else the psycopg2 form, so the error an
import meets is the connection's, not the driver's), and a time limit. Other environment variables are
passed through, so an app that reads its URL from another variable reaches
whatever that variable names.

What becomes a finding:

- ``import-failed``: the import raised (an import that connects cannot
  succeed here: that is pattern 01), exited, or did not finish in time;
- ``duplicate-middleware``: a class twice in ``app.user_middleware``, wherever
  in the project it was added;
- ``on-event``: startup/shutdown hooks registered on the live app;
- ``no-lifespan``: no lifespan and no hooks, while the project creates an engine.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from labkit._errors import LabkitError
from labkit.doctor.findings import AppReport, DoctorError, Finding
from labkit.doctor.rules.events import ON_EVENT
from labkit.doctor.rules.middleware import DUPLICATE_MIDDLEWARE
from labkit.doctor.rules.runtime import IMPORT_FAILED, NO_LIFESPAN
from labkit.doctor.scanner import Project

# No password: nothing listens on port 9, so the connection is refused before any authentication.
UNREACHABLE_URL = "postgresql+asyncpg://doctor@127.0.0.1:9/doctor"
UNREACHABLE_SYNC_URL = "postgresql+psycopg2://doctor@127.0.0.1:9/doctor"
TIMEOUT = 30.0
MARK = "LABKIT-DOCTOR-PROBE:"
_TARGET = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_CHILD = (Path(__file__).with_name("probe_child.py")).read_text(encoding="utf-8")


def check_target(target: str) -> None:
    if not _TARGET.match(target):
        raise LabkitError(
            f"--app {target!r} is not of the form module:attr.",
            "Write it as uvicorn would take it, e.g. --app app.main:app.",
        )


def import_root(project: Project, prefix_depth: int) -> Path:
    """The folder to import from: PATH, or the folder above the packages PATH sits in."""
    folder = project.base
    for _ in range(prefix_depth):
        folder = folder.parent
    return folder


def run_child(
    folder: Path, target: str, timeout: float, database_url: str = UNREACHABLE_URL
) -> tuple[dict[str, Any] | None, str, bool]:
    """The child's answer (None if it gave none), the tail of its stderr, and whether it timed out."""
    env = dict(os.environ, DATABASE_URL=database_url, PYTHONDONTWRITEBYTECODE="1")
    process = subprocess.Popen(
        [sys.executable, "-c", _CHILD, target],
        cwd=folder,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,  # its own process group: a reloader or worker it starts goes with it
    )
    timed_out = False
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(process)
        out, err = process.communicate(timeout=10)
    finally:
        _kill_group(process)  # whatever the import started (a thread's subprocess, a worker) ends with it
    answer = None
    for line in out.splitlines():
        if line.startswith(MARK):
            try:
                answer = json.loads(line[len(MARK) :])
            except ValueError:
                answer = None
    tail = " | ".join(line.strip() for line in err.strip().splitlines()[-3:])
    return answer, tail, timed_out


def _kill_group(process: subprocess.Popen[str]) -> None:
    """End the child's process group (its own session: only what the probe started)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, AttributeError):  # already gone; or no process groups (Windows)
        if process.poll() is None:
            process.kill()


def _relative_to_path(project: Project, prefix_depth: int, rel: str) -> str:
    """A path the child gave relative to where it imported from, made relative to PATH like the static findings."""
    try:
        return (import_root(project, prefix_depth) / rel).relative_to(project.base).as_posix()
    except ValueError:
        return rel


def probe(
    project: Project, target: str, prefix_depth: int = 0, timeout: float = TIMEOUT
) -> tuple[AppReport, list[Finding], list[DoctorError]]:
    """Import ``target`` in a child process and turn what it saw into findings."""
    check_target(target)
    module, _, attr = target.partition(":")
    url = UNREACHABLE_URL if project.uses_async_engine or not project.creates_engine else UNREACHABLE_SYNC_URL
    answer, stderr_tail, timed_out = run_child(import_root(project, prefix_depth), target, timeout, url)
    module_file = project.modules.get(module, module.replace(".", "/") + ".py")
    at = project.symbols.where(f"{module}.{attr}") or (module_file, 1)

    if timed_out:
        message = (
            f"importing {module} did not finish within {timeout:.0f} s with the database unreachable "
            "(waiting for it, or serving?)"
        )
        return (AppReport(target, False, error=message), [IMPORT_FAILED.at(module_file, 1, 1, message)], [])
    if answer is None:
        message = f"importing {module} ended the process without an answer: {stderr_tail or 'no output'}"
        return AppReport(target, False, error=message), [IMPORT_FAILED.at(module_file, 1, 1, message)], []
    status = answer.get("status")
    if status == "no-module":
        folder = import_root(project, prefix_depth)
        raise LabkitError(
            f"--app {target}: {answer.get('error')} (importing from {folder}).",
            "Give the module as uvicorn would import it from PATH, e.g. --app app.main:app.",
        )
    if status == "no-attr":
        raise LabkitError(f"--app {target}: {answer.get('error')}.", "Name the variable that holds the app.")
    if status == "import-failed":
        error = str(answer.get("error", ""))
        where = answer.get("where")
        path, line = (_relative_to_path(project, prefix_depth, where[0]), where[1]) if where else (module_file, 1)
        message = f"importing {module} with the database unreachable failed: {error}"
        return AppReport(target, False, error=error), [IMPORT_FAILED.at(path, line, 1, message)], []
    if status != "ok":
        return AppReport(target, False), [], [DoctorError(module_file, f"the --app probe answered {answer!r}")]

    report = AppReport(
        target,
        True,
        lifespan=bool(answer.get("lifespan")),
        startup_hooks=int(answer.get("startup_hooks", 0)),
        middleware=list(answer.get("middleware", [])),
        routes=list(answer.get("routes", [])),
    )
    if not answer.get("is_app"):
        report.error = f"{answer.get('app_type')} is not a Starlette/FastAPI app: runtime checks skipped"
        return report, [], []
    findings = []
    path, line = at
    for cls, count in sorted(Counter(report.middleware).items()):
        if count > 1:
            short = cls.rpartition(".")[2]
            findings.append(
                DUPLICATE_MIDDLEWARE.at(
                    path,
                    line,
                    1,
                    f"the running app has {short} {count} times in app.user_middleware: "
                    "every copy runs on every request",
                    subject=short,
                )
            )
    if report.startup_hooks:
        findings.append(
            ON_EVENT.at(
                path,
                line,
                1,
                f"the running app has {report.startup_hooks} startup/shutdown hook(s) "
                "(on_event, add_event_handler or on_startup=) instead of a lifespan",
            )
        )
    elif not report.lifespan and project.creates_engine:
        findings.append(
            NO_LIFESPAN.at(
                path,
                line,
                1,
                "the app has no lifespan, yet the project creates a database engine: nothing "
                "ties the engine to the app's start and stop, so nothing disposes it",
            )
        )
    return report, findings, []
