"""``labkit.Lab``: a scenario copied into a work dir the learner may edit.

The work dir (``notebooks/work/<scenario>``, git-ignored) is the learner's:
JupyterLab opens its files, :meth:`Lab.check` judges them, :meth:`Lab.apply`
lands the reference steps one at a time, :meth:`Lab.reset` goes back to broken.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING


from labkit import _progress as learner_progress

from labkit import _patches as patches
from labkit._appserver import AppExited, AppNotAnswering, AppServer
from labkit._display import Code, Table
from labkit._errors import LabkitError
from labkit._ports import LOOPBACK, ensure_free, free_port
from labkit._process import ChildProcess
from labkit._scenario import Scenario, Step
from labkit._status_line import StatusLine
from labkit._waiting import WaitTimeout, wait_until

if TYPE_CHECKING:
    from labkit._postgres import Postgres

STATE_FILE = ".labkit-state.json"


def _this_python(command: list[str]) -> list[str]:
    """``python`` in a command means the kernel's own interpreter, the one with the packages."""
    return [sys.executable, *command[1:]] if command and command[0] == "python" else command


@dataclass(frozen=True)
class Ran:
    """A finished command: exit code and everything it printed."""

    returncode: int
    output: str

    def __str__(self) -> str:
        return f"exit code {self.returncode}\n{self.output}"


@dataclass(frozen=True)
class Verdict:
    """What :meth:`Lab.check` concluded; prints as one line."""

    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"{'PASS' if self.passed else 'NOT YET'}: {self.message}"


class Lab:
    def __init__(self, scenario: str, pg: "Postgres | None" = None, workdir: str | Path | None = None) -> None:
        self.scenario = Scenario.load(scenario)
        self.pg = pg
        self.workdir = Path(workdir) if workdir else self.scenario.root.parent.parent / "work" / scenario
        self._servers: list[AppServer] = []
        if not (self.workdir / STATE_FILE).is_file():
            self.reset()
        atexit.register(self.close)

    # -- state ----------------------------------------------------------------

    def _state(self) -> dict[str, list[str]]:
        try:
            return json.loads((self.workdir / STATE_FILE).read_text())
        except (OSError, ValueError):
            return {"applied": []}

    def _save(self, state: dict[str, list[str]]) -> None:
        (self.workdir / STATE_FILE).write_text(json.dumps(state, indent=1))

    @property
    def applied(self) -> list[str]:
        return list(self._state()["applied"])

    def __repr__(self) -> str:
        done = len(self.applied)
        return f"<Lab {self.scenario.name}: {done} of {len(self.scenario.steps)} steps applied, files in {self.workdir}>"

    # -- reading ----------------------------------------------------------------

    @property
    def steps(self) -> Table:
        applied = set(self.applied)
        return Table(
            ("step", "id", "title", "applied"),
            tuple((str(s.number), s.id, s.title, "yes" if s.id in applied else "")
                  for s in self.scenario.steps),
        )

    def show(self, path: str) -> Code:
        """A file of the work dir, with colours."""
        target = self.workdir / path
        if not target.is_file():
            files = sorted(str(p.relative_to(self.workdir)) for p in self.workdir.rglob("*.py"))
            raise LabkitError(f"{path} is not a file of this scenario.", f"Files: {', '.join(files)}.")
        return Code(path, target.read_text(), path)

    def step(self, which: int | str) -> Step:
        for s in self.scenario.steps:
            if which in (s.number, s.id):
                return s
        choices = ", ".join(f"{s.number} ({s.id})" for s in self.scenario.steps)
        raise LabkitError(f"This scenario has no step {which!r}.", f"Steps: {choices}.")

    def diff(self, which: int | str) -> Code:
        """A step's title, why and diff."""
        s = self.step(which)
        return Code(f"Step {s.number}: {s.title}", s.patch, "step.diff", note=s.why)

    # -- changing ----------------------------------------------------------------

    def reset(self) -> None:
        """Back to the broken project. The files it replaces are kept in ``<workdir>.previous``."""
        self._stop_servers()
        if self.workdir.exists():
            previous = self.workdir.with_name(self.workdir.name + ".previous")
            shutil.rmtree(previous, ignore_errors=True)
            self.workdir.rename(previous)
        shutil.copytree(self.scenario.broken, self.workdir,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        self._save({"applied": []})

    def apply(self, which: int | str | None = None) -> Code:
        """Apply the next step (or the one named, which must be the next); shows its diff."""
        state = self._state()
        applied = state["applied"]
        steps = self.scenario.steps
        if which is None:
            if len(applied) == len(steps):
                raise LabkitError("Every step is applied already.", "lab.reset() starts over from the broken project.")
            which = len(applied) + 1
        s = self.step(which)
        if s.id in applied:
            raise LabkitError(f"Step {s.number} ({s.id}) is applied already.",
                              "Go on with the next step, or lab.reset() to start over.")
        expected = steps[len(applied)]
        if s.id != expected.id:
            raise LabkitError(
                f"Step {s.number} ({s.id}) comes after step {expected.number} ({expected.id}), which is not applied yet.",
                f"Apply step {expected.number} first: lab.apply({expected.number}).",
            )
        try:
            changes = patches.plan(self.workdir, patches.parse(s.patch))
        except patches.PatchMismatch as exc:
            raise LabkitError(
                f"Step {s.number} does not fit the files in {self.workdir}: {exc}. "
                "They were probably edited.",
                "Nothing was changed. lab.reset() restores the broken project (your edits go), "
                "or lab.solve() resets and applies every step.",
            ) from None
        patches.write(self.workdir, changes)
        state["applied"] = applied + [s.id]
        self._save(state)
        return self.diff(s.number)

    def solve(self) -> Table:
        """The reference solution: reset, then apply every step in order."""
        self.reset()
        for s in self.scenario.steps:
            self.apply(s.number)
        return self.steps

    def check(self) -> Verdict:
        """Judge the work dir as it is now (the learner's edits or the applied steps).

        Each verdict is also written to the progress record that ``labkit progress`` reads.
        """
        verdict = self._judge()
        learner_progress.record_check(self.workdir.parent, self.scenario.name, passed=verdict.passed,
                                      steps_applied=len(self.applied), steps_total=len(self.scenario.steps))
        return verdict

    def _judge(self) -> Verdict:
        checker = self.scenario.checker()
        already_running = len(self._servers)
        try:
            with StatusLine(f"checking work/{self.scenario.name}"):
                checker(self)
        except AssertionError as exc:
            return Verdict(False, str(exc) or "the check failed")
        except (AppExited, AppNotAnswering) as exc:  # an app that does not start is a verdict too
            return Verdict(False, f"the app did not start: {exc.problem}")
        finally:
            self._stop_servers(keep=already_running)
        return Verdict(True, "the check passes")

    # -- running ----------------------------------------------------------------

    def app_env(self, extra: dict[str, str | None] | None = None) -> dict[str, str]:
        """The environment apps run with: this process's, DATABASE_URL of the lab's server, then ``extra``.

        A ``None`` value in ``extra`` removes that variable (an app started without DATABASE_URL).
        """
        env = dict(os.environ)
        if self.pg is not None:
            env["DATABASE_URL"] = self.pg.url("asyncpg")
        for name, value in (extra or {}).items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def serve(self, target: str = "app.main:app", *, reload: bool = False, env: dict[str, str | None] | None = None,
              port: int | None = None, args: tuple[str, ...] = (), ready_path: str = "/",
              timeout: float = 30.0) -> AppServer:
        """Run ``uvicorn target`` from the work dir on a free loopback port; returns once it answers HTTP."""
        if port is not None:
            ensure_free(port, "the app")
        port = port or free_port()
        command = [sys.executable, "-m", "uvicorn", target, "--host", LOOPBACK, "--port", str(port)]
        if reload:
            command += ["--reload", "--reload-dir", str(self.workdir)]
        return self.launch(command + list(args), port=port, env=env, ready_path=ready_path, timeout=timeout)

    def launch(self, command: list[str], *, port: int, env: dict[str, str | None] | None = None,
               ready_path: str = "/", timeout: float = 30.0) -> AppServer:
        """Run any command that serves HTTP on ``port`` (``PORT`` is set for it too)."""
        server = AppServer(_this_python(command), port=port, cwd=self.workdir, env=self.app_env({"PORT": str(port), **(env or {})}),
                           ready_path=ready_path, timeout=timeout)
        self._servers.append(server)
        return server

    def run(self, command: list[str], *, env: dict[str, str | None] | None = None, timeout: float = 60.0,
            until: str | None = None) -> Ran:
        """Run a command in the work dir until it ends; ``python`` means this kernel's Python.

        ``until``: stop it (SIGKILL to its process group) as soon as its output contains this
        text, for commands that print their failure and then hang, such as a crashed reloader.
        """
        process = ChildProcess(_this_python(command), cwd=self.workdir,
                               env={**self.app_env(env), "PYTHONUNBUFFERED": "1"},
                               stdout=subprocess.PIPE, text=True)
        lines: list[str] = []

        def read() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                lines.append(line)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()

        def over() -> bool:
            return not process.alive or (until is not None and until in "".join(lines))

        stopped = ""
        try:
            wait_until(over, timeout=timeout, what=f"{' '.join(command[:3])} to end")
            if process.alive:
                stopped = f"\n[labkit: stopped once the output showed {until!r}]"
        except WaitTimeout:
            stopped = f"\n[labkit: stopped after {timeout:.0f} s, the timeout]"
        process.kill()  # the whole group: a crashed reloader leaves its worker behind
        reader.join(5)
        return Ran(process.returncode if process.returncode is not None else -9, "".join(lines) + stopped)

    def _stop_servers(self, keep: int = 0) -> None:
        """Stop the apps this lab started, all but the first ``keep``."""
        for server in self._servers[keep:]:
            server.close()
        del self._servers[keep:]

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Stop every app this lab started."""
        self._stop_servers()
