"""``ChildProcess``: the one way labkit starts and stops a process (postgres, uvicorn, a command).

Each child runs in a process group of its own, so a stop reaches everything it started (a
reloader and its worker, a postmaster and its backends), and the group is registered with the
watchdog (:mod:`labkit._cleanup`) so that it dies with the kernel, even a killed one.

Stopping follows one policy, Ctrl+C first: SIGINT to the group, up to ``grace`` seconds for
it to end, then SIGKILL to whatever of the group is left.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from labkit import _cleanup

STOP_GRACE = 10.0  # seconds a child gets to shut down after SIGINT
KILL_WAIT = 5.0  # seconds to reap a child after SIGKILL


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass  # the group is gone already


class ChildProcess:
    """A running child in its own process group; a context manager that stops it on exit."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        cwd: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        stdout: int | IO[Any] | None = subprocess.DEVNULL,
        stderr: int | IO[Any] | None = subprocess.STDOUT,
        text: bool = False,
        run_as: Mapping[str, Any] | None = None,
    ) -> None:
        self.command = list(command)
        self._popen: subprocess.Popen[Any] = subprocess.Popen(
            self.command,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            text=text,
            start_new_session=True,
            **(run_as or {}),
        )
        _cleanup.register("pgroup", self._popen.pid)

    def __enter__(self) -> ChildProcess:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def stdout(self) -> IO[Any] | None:
        return self._popen.stdout

    @property
    def alive(self) -> bool:
        return self._popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return self._popen.poll()

    def wait(self, timeout: float | None = None) -> int:
        """The exit code once the child ends; ``subprocess.TimeoutExpired`` after ``timeout``."""
        return self._popen.wait(timeout)

    def stop(self, grace: float = STOP_GRACE) -> int | None:
        """Ctrl+C, then SIGKILL after ``grace`` seconds; also ends members that outlived the leader."""
        if self.alive:
            _signal_group(self.pid, signal.SIGINT)
            try:
                self._popen.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        return self.kill()

    def kill(self) -> int | None:
        """SIGKILL to the whole group, as an OOM killer would: no shutdown code runs."""
        _signal_group(self.pid, signal.SIGKILL)
        try:
            self._popen.wait(KILL_WAIT)
        except subprocess.TimeoutExpired:
            pass  # unkillable (stuck in the kernel); the watchdog keeps trying at exit
        else:
            _cleanup.release("pgroup", self.pid)
        return self._popen.returncode
