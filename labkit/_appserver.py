"""A real app process (uvicorn) on a free loopback port, driven like a terminal.

The process runs in its own process group, so :meth:`AppServer.stop` can send
SIGINT to it the way Ctrl+C does (reloader and worker alike) and the watchdog
can remove the whole group if the kernel dies.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from labkit import _cleanup
from labkit._errors import LabkitError
from labkit._ports import LOOPBACK
from labkit._process import ChildProcess
from labkit._status_line import StatusLine
from labkit._waiting import WaitTimeout, wait_until

WORKER_STARTED = "Started server process ["
# seconds an app gets to answer its first request: 16 learners starting apps at once on 2 cores took over 30
START_TIMEOUT = 60.0


class AppExited(LabkitError):
    """The app process ended while labkit waited for it; ``.logs`` says why."""

    def __init__(self, exit_code: int | None, logs: str) -> None:
        self.exit_code = exit_code
        self.logs = logs
        tail = "\n".join(logs.strip().splitlines()[-12:])
        super().__init__(
            f"The app process exited with code {exit_code} before it answered HTTP. Its last log lines:\n{tail}",
            "Read the log lines above (srv.logs() has them all); fix the app and serve it again.",
        )


class AppNotAnswering(LabkitError):
    """The app process runs but gave no HTTP answer in time; ``.logs`` has everything it printed."""

    def __init__(self, url: str, timeout: float, logs: str) -> None:
        self.logs = logs
        tail = "\n".join(logs.strip().splitlines()[-12:])
        super().__init__(
            f"The app did not answer HTTP on {url} within {timeout:.0f} s. Its last log lines:\n{tail}",
            "Read the log lines above (the error's .logs has them all).",
        )


@dataclass(frozen=True)
class Stopped:
    """How an app ended: its exit code and what it logged while shutting down."""

    exit_code: int | None
    logs: str
    seconds: float


class AppServer:
    """One running app; ``srv.get("/health")`` talks real HTTP to it."""

    def __init__(
        self,
        command: list[str],
        *,
        port: int,
        cwd: Path,
        env: dict[str, str],
        ready_path: str = "/",
        timeout: float = START_TIMEOUT,
    ) -> None:
        self.port = port
        self.url = f"http://{LOOPBACK}:{port}"
        self.command = command
        self.cwd = Path(cwd)
        self._log_dir = Path(tempfile.mkdtemp(prefix="labkit-app-"))
        _cleanup.register("dir", self._log_dir)
        self.log_path = self._log_dir / "app.log"
        with open(self.log_path, "wb") as log:
            self.process = ChildProcess(command, cwd=self.cwd, env={**env, "PYTHONUNBUFFERED": "1"}, stdout=log)
        # A fresh connection per request, as curl or a health checker makes: a kept-alive one can be
        # closed by the server just as the next request goes out, and that reset is not the lesson.
        self.client = httpx.Client(base_url=self.url, timeout=10.0, limits=httpx.Limits(max_keepalive_connections=0))
        self.ready_path = ready_path
        try:
            with StatusLine(f"waiting for the app on port {port}"):
                self.wait_until_answers(ready_path, timeout)
        except BaseException:
            self.stop()
            raise

    def __repr__(self) -> str:
        state = "running" if self.alive else f"exited ({self.process.returncode})"
        return f"<AppServer {' '.join(self.command[2:4])} {state}>"

    def __enter__(self) -> AppServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        return self.process.alive

    @property
    def log_dir(self) -> Path:
        """The temp dir that holds the captured log (removed by :meth:`close`)."""
        return self._log_dir

    @property
    def pid(self) -> int:
        return self.process.pid

    def logs(self) -> str:
        """Everything the app printed so far (stdout and stderr)."""
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float = 10.0) -> str:
        """Wait until a log line contains ``text`` and return that line.

        An error's traceback is logged after its 500 response is sent, so read it this way.
        """

        def found() -> str:
            return next((line for line in self.logs().splitlines() if text in line), "")

        return wait_until(
            found,
            timeout=timeout,
            interval=0.05,
            what=f"a log line of the app with {text!r}",
            fix="srv.logs() shows everything it printed.",
        )

    def wait_until_answers(self, path: str | None = None, timeout: float = START_TIMEOUT) -> None:
        """Return once any HTTP response comes back; raise AppExited if the process ends."""
        path = path or self.ready_path

        def answers() -> bool:
            if not self.alive:
                raise AppExited(self.process.returncode, self.logs())
            try:
                self.client.get(path, timeout=1.0)
                return True
            except httpx.TransportError:
                return False

        try:
            wait_until(answers, timeout=timeout, interval=0.05, what=f"the app to answer on {path}")
        except WaitTimeout:
            raise AppNotAnswering(self.url, timeout, self.logs()) from None

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.request(method, path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.post(path, **kwargs)

    def touch(self, relative_path: str, timeout: float = 20.0) -> str:
        """Rewrite a file as an editor save does and wait for ``--reload`` to bring up a new worker.

        Returns the log lines the reload produced.
        """
        before = self.logs()
        starts = before.count(WORKER_STARTED)
        target = self.cwd / relative_path
        target.write_text(target.read_text())
        began = time.monotonic()

        def new_worker() -> bool:
            if not self.alive:
                raise AppExited(self.process.returncode, self.logs())
            return self.logs().count(WORKER_STARTED) > starts

        wait_until(
            new_worker,
            timeout=timeout,
            interval=0.05,
            what=f"a new worker after saving {relative_path}",
            fix="Was the app served with reload=True? srv.logs() shows what happened.",
        )
        self.wait_until_answers(timeout=max(timeout - (time.monotonic() - began), 1.0))
        return self.logs()[len(before) :]

    def stop(self, timeout: float = 10.0) -> Stopped:
        """Ctrl+C: SIGINT to the process group, then SIGKILL if it has not ended in ``timeout`` s."""
        return self._end(lambda: self.process.stop(timeout))

    def kill(self) -> Stopped:
        """SIGKILL, as an OOM killer or a crashed host would: no shutdown code runs."""
        return self._end(self.process.kill)

    def _end(self, how: Callable[[], int | None]) -> Stopped:
        start_len = len(self.logs())
        began = time.monotonic()
        exit_code = how()
        self.client.close()
        return Stopped(exit_code, self.logs()[start_len:], time.monotonic() - began)

    def close(self) -> None:
        """Stop if needed and remove the captured log."""
        if self.alive:
            self.stop()
        shutil.rmtree(self._log_dir, ignore_errors=True)
        _cleanup.release("dir", self._log_dir)
