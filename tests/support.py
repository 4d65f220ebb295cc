"""What several test modules share: the repository's paths, a copy of the notebooks, process liveness, a
kernel's output.

Test modules import this module, never each other or conftest.py. pytest puts tests/ on
sys.path when it imports tests/conftest.py (tests/ has no __init__.py: "prepend" import
mode, the default), so ``import support`` works in every test module.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import psutil

from labkit import WaitTimeout, wait_until

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
FIXTURES = Path(__file__).parent / "fixtures"

T = TypeVar("T")


def copy_notebooks(target: Path) -> Path:
    """The notebooks and their scenarios, not the learner's work/: labkit.Lab makes work/ beside
    scenarios/ (LABKIT_SCENARIOS points there), so a run of the copy never touches notebooks/work."""
    target.mkdir()
    for notebook in NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"):  # 00's last cell lists all of them
        shutil.copy(notebook, target)
    for course_file in NOTEBOOKS.glob("*.toml"):  # the incident reports (claims name them) and the timings
        shutil.copy(course_file, target)
    shutil.copytree(NOTEBOOKS / "deep-dives", target / "deep-dives")
    shutil.copytree(
        NOTEBOOKS / "scenarios", target / "scenarios", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    return target


# -- processes ------------------------------------------------------------------------------------


def running(procs: Iterable[psutil.Process]) -> list[psutil.Process]:
    """Those still running (a zombie counts as gone; is_running() also notices a reused pid)."""
    alive = []
    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except psutil.NoSuchProcess:
            pass
    return alive


def alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie (ended, not yet reaped) counts as gone."""
    try:
        return bool(running([psutil.Process(pid)]))
    except psutil.NoSuchProcess:
        return False


def group_members(pgid: int) -> list[int]:
    """The live processes of process group ``pgid``: what a child started in its own group left."""
    members = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid and alive(proc.pid):
                members.append(proc.pid)
        except (ProcessLookupError, psutil.Error):
            pass
    return members


def describe(procs: Iterable[psutil.Process]) -> str:
    """One line per process, pid and command line, for an assertion message."""
    lines = []
    for proc in procs:
        try:
            lines.append(f"{proc.pid} {' '.join(proc.cmdline())[:160]}")
        except psutil.Error:
            lines.append(str(proc.pid))
    return "\n".join(lines)


def left_after(timeout: float, leftovers: Callable[[], Sequence[T]], interval: float = 0.2) -> list[T]:
    """What ``leftovers()`` still returns after waiting up to ``timeout`` s for it to be empty.

    Cleanup is asynchronous (a watchdog, an atexit hook), so a test waits for it before it
    asserts; the caller asserts on the result, so its message says what was left.
    """
    last: list[T] = []

    def nothing_left() -> bool:
        last[:] = leftovers()
        return not last

    try:
        wait_until(nothing_left, timeout=timeout, what="nothing left running", interval=interval)
    except WaitTimeout:
        pass  # the caller's assertion names what is left
    return last


def wait_gone(procs: Sequence[psutil.Process], timeout: float) -> list[psutil.Process]:
    """The processes still running after up to ``timeout`` s."""
    return left_after(timeout, lambda: running(procs), interval=0.1)


def kill_leftovers(procs: Sequence[psutil.Process], what: str, timeout: float) -> None:
    """Wait for ``procs`` to end; kill those that do not (so one failure leaves nothing behind), then fail."""
    left = wait_gone(procs, timeout)
    for proc in left:
        try:
            proc.kill()  # psutil refuses if the pid now belongs to another process
        except psutil.Error:
            pass
    assert not left, f"{what}:\n{describe(left)}"


# -- kernels --------------------------------------------------------------------------------------


def run_cell(client: Any, code: str) -> str:
    """Run ``code`` in the kernel behind ``client``; what it printed, and any traceback."""
    out: list[str] = []

    def keep(msg: dict[str, Any]) -> None:
        if msg["header"]["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["header"]["msg_type"] == "error":
            out.append("\n".join(msg["content"]["traceback"]))

    client.execute_interactive(code, timeout=120, output_hook=keep)
    return "".join(out)
