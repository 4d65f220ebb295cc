"""Nothing left behind: every process group, container and temp dir labkit
starts is registered here and removed when the owning process ends.

Normal exits run :func:`atexit` handlers in the modules that start things.
For a kernel killed with SIGKILL no handler runs, so a watchdog process
(:mod:`labkit._watchdog`) holds the other end of a pipe; when the pipe closes
it stops whatever is still registered.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Literal

Kind = Literal["pgroup", "container", "dir"]

_lock = threading.Lock()
_watchdog: subprocess.Popen[bytes] | None = None
_watchdog_owner_pid: int | None = None


def _send(line: str) -> None:
    global _watchdog, _watchdog_owner_pid
    with _lock:
        if _watchdog is None or _watchdog.poll() is not None or _watchdog_owner_pid != os.getpid():
            _watchdog = subprocess.Popen(
                # by path, not -m: importing the labkit package would cost the watchdog ~35 MiB of
                # memory for nothing (it needs the standard library only); -P keeps labkit/ off sys.path
                [sys.executable, "-P", str(Path(__file__).with_name("_watchdog.py"))],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                start_new_session=True,  # a kill of the kernel's process group must not reach it
            )
            _watchdog_owner_pid = os.getpid()
        assert _watchdog.stdin is not None
        _watchdog.stdin.write(line.encode() + b"\n")
        _watchdog.stdin.flush()


def register(kind: Kind, value: str | int | Path) -> None:
    """Have ``value`` removed if this process dies before :func:`release`."""
    _send(f"add {kind} {value}")


def release(kind: Kind, value: str | int | Path) -> None:
    """Forget ``value``: its owner has cleaned it up."""
    if _watchdog is not None and _watchdog_owner_pid == os.getpid():
        _send(f"del {kind} {value}")
