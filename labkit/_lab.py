"""``labkit.Lab``: a scenario copied into a work dir the learner may edit.

The work dir (``notebooks/work/<scenario>``, git-ignored) is the learner's:
JupyterLab opens its files, :meth:`Lab.check` judges them, :meth:`Lab.apply`
lands the reference steps one at a time, :meth:`Lab.reset` goes back to broken.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING

from labkit import _patches as patches
from labkit import _progress as learner_progress
from labkit._appserver import START_TIMEOUT, AppExited, AppServer
from labkit._display import Code, Table
from labkit._errors import LabkitError
from labkit._ports import LOOPBACK, ensure_free, free_port
from labkit._process import ChildProcess
from labkit._requirements import Checklist, Context, Hint, Requirement, judge
from labkit._scenario import Scenario, Step
from labkit._status_line import StatusLine
from labkit._waiting import WaitTimeout, wait_until
from labkit._workdir import WorkDir, fingerprint

if TYPE_CHECKING:
    from labkit._postgres import Postgres


# how often serve() picks another port when the one it picked was taken before uvicorn bound it
PORT_ATTEMPTS = 3


def _runner_variable(name: str) -> bool:
    """Set by a pytest (or pytest-xdist worker) that runs the lab, not by anything a learner has."""
    return name.startswith("PYTEST_") or name in ("COLUMNS", "LINES")


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


class Lab:
    """A scenario's project in a work dir: the learner's own copy, or the reference walk-through's.

    ``labkit.Lab(name)`` opens ``notebooks/work/<name>/``, copying the broken project there
    only when that folder is absent: no cell, re-run or "Run All" ever moves, overwrites or
    deletes it. :meth:`reference` gives the walk-through a copy of its own.
    """

    def __init__(
        self, scenario: str, pg: Postgres | None = None, workdir: str | Path | None = None, *, reference: bool = False
    ) -> None:
        self.scenario = Scenario.load(scenario)
        self.pg = pg
        self.is_reference = reference
        self.workdir = Path(workdir) if workdir else learner_progress.default_work_root() / scenario
        self._dir = WorkDir(self.workdir)
        self._servers: list[AppServer] = []
        self._children: set[ChildProcess] = set()  # lab.run commands still running
        self._last: Checklist | None = None
        if self._dir.exists:
            self._dir.adopt()
        else:
            self.workdir.parent.mkdir(parents=True, exist_ok=True)
            self._dir.copy_from(self.scenario.broken)
        atexit.register(self.close)

    @property
    def _work_root(self) -> Path:
        return self.workdir.parent

    @property
    def label(self) -> str:
        return f"{self._work_root.name}/{self.workdir.name}"

    @property
    def harness(self) -> ModuleType:
        """The scenario's measurements (``scenarios/<name>/harness.py``): one documented call each."""
        return self.scenario.module("harness")

    @property
    def applied(self) -> list[str]:
        return list(self._dir.read().applied)

    def __repr__(self) -> str:
        done = len(self.applied)
        return f"<Lab {self.scenario.name}: {done} of {len(self.scenario.steps)} steps applied, files in {self.label}>"

    # -- reading ----------------------------------------------------------------

    @property
    def steps(self) -> Table:
        applied = set(self.applied)
        return Table(
            ("step", "id", "title", "applied"),
            tuple((str(s.number), s.id, s.title, "yes" if s.id in applied else "") for s in self.scenario.steps),
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

    def reference(self, name: str = "reference") -> Lab:
        """The reference walk-through's own copy (``<scenario>.reference``), fresh from the broken project.

        The learner's copy is never touched: "Run All" may run the folded reference section freely.
        A deep dive names a copy of its own (``lab.reference("01a")`` is ``<scenario>.01a``), so it
        can run beside its notebook.
        """
        if self.is_reference:
            raise LabkitError("This lab is the reference copy already.", "Call reference() on the learner's lab.")
        if not name.replace("-", "").isalnum():
            raise LabkitError(f"{name!r} cannot name a folder of the walk-through.", "Use letters, digits and dashes.")
        copy = self.workdir.with_name(f"{self.workdir.name}.{name}")
        shutil.rmtree(copy, ignore_errors=True)  # the reference's own copy, rebuilt on every call
        return Lab(self.scenario.name, self.pg, copy, reference=True)

    def reset(self, *, force: bool = False) -> None:
        """Back to the broken project. The files it replaces are kept, never deleted, and it says where.

        Refuses while the work dir holds edits no check has judged (run ``lab.check()`` first, or
        pass ``force=True``): a reset must not be the way work gets lost.
        """
        self._stop_servers()
        if self.is_reference:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self._dir.copy_from(self.scenario.broken)
            return
        if self._dir.unjudged_edits() and not force:
            raise LabkitError(
                f"{self.label} holds edits that no check has judged yet; a reset would move them aside.",
                "Run lab.check() first (a reset then keeps them in work/.history), or lab.reset(force=True).",
            )
        if self._dir.exists:
            kept = self._dir.move_to_history()
            print(f"Your previous files are kept in {kept.relative_to(self._work_root.parent)}")
        self._dir.copy_from(self.scenario.broken)

    def apply(self, which: int | str | None = None) -> Code:
        """Apply the next step (or the one named, which must be the next); shows its diff."""
        applied = self.applied
        steps = self.scenario.steps
        if which is None:
            if len(applied) == len(steps):
                raise LabkitError("Every step is applied already.", "lab.reset() starts over from the broken project.")
            which = len(applied) + 1
        s = self.step(which)
        if s.id in applied:
            raise LabkitError(
                f"Step {s.number} ({s.id}) is applied already.",
                "Go on with the next step, or lab.reset() to start over.",
            )
        expected = steps[len(applied)]
        if s.id != expected.id:
            raise LabkitError(
                f"Step {s.number} ({s.id}) comes after step {expected.number} ({expected.id}), "
                "which is not applied yet.",
                f"Apply step {expected.number} first: lab.apply({expected.number}).",
            )
        try:
            changes = patches.plan(self.workdir, patches.parse(s.patch))
        except patches.PatchMismatch as exc:
            raise LabkitError(
                f"Step {s.number} does not fit the files in {self.label}: {exc}. They were probably edited.",
                "Nothing was changed. Your edits and the reference steps do not mix: the reference "
                "walk-through has its own copy (ref = lab.reference(); ref.apply(1)).",
            ) from None
        patches.write(self.workdir, changes)
        self._dir.mark(written=True, applied=s.id)
        return self.diff(s.number)

    def solve(self) -> Table:
        """The reference solution: reset, then apply every step in order."""
        self.reset()
        for s in self.scenario.steps:
            self.apply(s.number)
        return self.steps

    # -- judging ----------------------------------------------------------------

    def requirements(self) -> Table:
        """What the check judges: number, tier (core or stretch), the file to edit, the title."""
        return Table(
            ("#", "tier", "edit", "requirement"),
            tuple((str(n), r.tier, r.edit, r.title) for n, r in enumerate(self._requirements(), start=1)),
        )

    def _requirements(self) -> list[Requirement]:
        return self.scenario.requirements()

    def check(self, which: int | None = None) -> Checklist:
        """Judge the work dir as it is now: every requirement, or only requirement ``which``.

        One ✓ or ✗ line per requirement, with what failed and a first hint under each ✗. The
        results go to the progress record that ``labkit progress`` reads.
        """
        requirements = self._requirements()
        if which is not None and not 1 <= which <= len(requirements):
            raise LabkitError(
                f"There is no requirement {which!r}.",
                f"Requirements are numbered 1 to {len(requirements)}: lab.requirements() lists them.",
            )
        chosen = [(n, r) for n, r in enumerate(requirements, start=1) if which in (None, n)]
        context = Context(self)
        already_running = len(self._servers)
        outcomes = []
        try:
            for number, req in chosen:
                # the live line ends in ✗ when the requirement fails, as its checklist line will
                line = StatusLine(f"checking {self.label}: {number}. {req.title}")
                line.start()
                outcome = None
                try:
                    outcome = judge(req, number, context, on_timeout=lambda: self._stop_servers(keep=already_running))
                finally:
                    line.finish(failed=outcome is None or not outcome.passed)
                outcomes.append(outcome)
        finally:
            self._stop_servers(keep=already_running)
            context.end()  # the check's own cleanups (scratch databases, relays), once its apps are gone
        self._dir.mark(judged=True)
        checklist = Checklist(self.label, tuple(requirements), tuple(outcomes))
        self._last = checklist
        learner_progress.record_check(
            self._work_root,
            self.scenario.name,
            tiers={r.name: r.tier for r in requirements},
            results=[(o.requirement.name, o.passed) for o in outcomes],
            reference=self.is_reference,
        )
        return checklist

    def hint(self, which: int | None = None) -> Hint | Code:
        """The next rung of a requirement's hints: the nudge, the idea and the API, then the reference diff.

        The checklist already shows the nudge under each ✗, so the first call gives the idea and the
        API. Without a number: the first requirement the last check left open.
        """
        requirements = self._requirements()
        if which is None:
            failed = self._last.failed if self._last is not None else []
            which = failed[0].number if failed else 1
        if not 1 <= which <= len(requirements):
            raise LabkitError(
                f"There is no requirement {which!r}.",
                f"Requirements are numbered 1 to {len(requirements)}: lab.requirements() lists them.",
            )
        req = requirements[which - 1]
        record = learner_progress.read(self._work_root, self.scenario.name)
        rungs = len(req.hints) + (1 if req.steps else 0)
        rung = min(record.hints.get(req.name, 1) + 1, rungs)  # rung 1, the nudge, came with the checklist
        learner_progress.record_hint(self._work_root, self.scenario.name, req.name, rung)
        if rung <= len(req.hints):
            return Hint(which, req.title, rung, rungs, req.hints[rung - 1])
        steps = [self.step(s) for s in req.steps]
        return Code(
            f"Hint {rung} of {rungs} for {which}. {req.title}: the reference step",
            "".join(s.patch for s in steps),
            "step.diff",
            note=" ".join(s.why for s in steps),
        )

    def watch(self, *, interval: float = 1.0, timeout: float = 3600.0) -> Checklist | None:
        """Check again each time a file of the work dir changes, until every requirement passes.

        Polls (file events are unreliable in containers); stop it with the ■ button (Ctrl+C).
        Returns the last checklist shown.
        """
        from IPython.display import clear_output, display

        seen: list[str] = []
        shown: list[Checklist] = []

        def all_pass_after_a_change() -> bool:
            now = fingerprint(self.workdir)
            if seen and now == seen[-1]:
                return False
            seen.append(now)
            shown.append(self.check())
            clear_output(wait=True)
            display(shown[-1])
            return shown[-1].all_done

        try:
            wait_until(all_pass_after_a_change, timeout=timeout, interval=interval, what="every requirement to pass")
        except (WaitTimeout, KeyboardInterrupt):
            pass  # the learner stopped watching (or an hour passed): the last checklist stays on screen
        return shown[-1] if shown else None

    # -- running ----------------------------------------------------------------

    def app_env(self, extra: dict[str, str | None] | None = None) -> dict[str, str]:
        """The environment apps run with: this process's, DATABASE_URL of the lab's server, then ``extra``.

        A ``None`` value in ``extra`` removes that variable (an app started without DATABASE_URL).
        """
        # the outer test runner's variables (xdist's worker id, its COLUMNS) stay out: an app or a
        # suite the lab starts sees what it would see under a learner's JupyterLab
        env = {name: value for name, value in os.environ.items() if not _runner_variable(name)}
        if self.pg is not None:
            env["DATABASE_URL"] = self.pg.url("asyncpg")
        for name, value in (extra or {}).items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def serve(
        self,
        target: str = "app.main:app",
        *,
        reload: bool = False,
        env: dict[str, str | None] | None = None,
        port: int | None = None,
        args: tuple[str, ...] = (),
        ready_path: str = "/",
        timeout: float = START_TIMEOUT,
    ) -> AppServer:
        """Run ``uvicorn target`` from the work dir on a free loopback port; returns once it answers HTTP."""
        if port is not None:
            ensure_free(port, "the app")
        for attempt in range(1, PORT_ATTEMPTS + 1):
            bound = port or free_port()
            command = [sys.executable, "-m", "uvicorn", target, "--host", LOOPBACK, "--port", str(bound)]
            if reload:
                command += ["--reload", "--reload-dir", str(self.workdir)]
            try:
                return self.launch(command + list(args), port=bound, env=env, ready_path=ready_path, timeout=timeout)
            except AppExited as exited:
                # a port labkit picked was free when picked, and taken before uvicorn bound it: on a
                # machine shared by a room of learners, another kernel's app got there first
                if port is not None or attempt == PORT_ATTEMPTS or "address already in use" not in exited.logs:
                    raise
        raise AssertionError("unreachable: the last attempt returns or raises")

    def launch(
        self,
        command: list[str],
        *,
        port: int,
        env: dict[str, str | None] | None = None,
        ready_path: str = "/",
        timeout: float = START_TIMEOUT,
    ) -> AppServer:
        """Run any command that serves HTTP on ``port`` (``PORT`` is set for it too)."""
        server = AppServer(
            _this_python(command),
            port=port,
            cwd=self.workdir,
            env=self.app_env({"PORT": str(port), **(env or {})}),
            ready_path=ready_path,
            timeout=timeout,
        )
        self._servers.append(server)
        return server

    def run(
        self,
        command: list[str],
        *,
        env: dict[str, str | None] | None = None,
        timeout: float = 60.0,
        until: str | None = None,
    ) -> Ran:
        """Run a command in the work dir until it ends; ``python`` means this kernel's Python.

        ``until``: stop it (SIGKILL to its process group) as soon as its output contains this
        text, for commands that print their failure and then hang, such as a crashed reloader.
        """
        process = ChildProcess(
            _this_python(command),
            cwd=self.workdir,
            env={**self.app_env(env), "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            text=True,
        )
        self._children.add(process)
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
        self._children.discard(process)
        reader.join(5)
        return Ran(process.returncode if process.returncode is not None else -9, "".join(lines) + stopped)

    def _stop_servers(self, keep: int = 0) -> None:
        """Stop the apps this lab started, all but the first ``keep``, and any command still running."""
        for server in self._servers[keep:]:
            server.close()
        del self._servers[keep:]
        for child in list(self._children):  # a check that timed out while a command ran
            child.kill()
            self._children.discard(child)

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Stop every app this lab started."""
        self._stop_servers()
