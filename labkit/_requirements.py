"""Requirements: what a scenario's ``check.py`` declares, one named unit each, and how they are judged.

A check module declares its requirements in the order a learner meets them::

    @requirement(core=True, edit="app/db.py", step=2, hints=(
        "What runs when Python imports app.db?",
        "Create the engine inside the lifespan (create_async_engine) and keep it on app.state.",
    ))
    def no_connection_at_import(ctx: Context) -> None:
        \"\"\"Importing app.main opens no database connection.\"\"\"
        assert ..., "what the learner's code did, and what it should do"

The first docstring line is the title a learner reads. A requirement fails with an
``AssertionError`` (its message is shown under the ✗), and so does an app that does not start,
a request that hangs past the time limit, or any other error while judging: the learner sees a
✗ with the last error line and where it came from, never a traceback.
"""

from __future__ import annotations

import re
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from labkit._appserver import AppExited, AppNotAnswering
from labkit._errors import LabkitError

if TYPE_CHECKING:
    from labkit._lab import Lab
    from labkit._postgres import Postgres

T = TypeVar("T")
DEFAULT_TIMEOUT = 60.0  # seconds one requirement may take, app start-up included

Judge = Callable[["Context"], None]


@dataclass(frozen=True)
class Requirement:
    """One thing the learner's project must do, with the file to edit and a ladder of hints."""

    name: str  # the function's name, stable across runs (progress records use it)
    title: str  # what a learner reads next to ✓ or ✗
    core: bool  # part of the workshop slot (True) or stretch (False)
    edit: str  # the file (or files) to change, relative to the work dir
    hints: tuple[str, ...]  # a nudge, then the idea and the API to use
    steps: tuple[int | str, ...]  # the reference step(s) whose diff is the last hint
    timeout: float
    judge: Judge

    @property
    def tier(self) -> str:
        return "core" if self.core else "stretch"


def requirement(
    *,
    core: bool,
    edit: str,
    hints: Sequence[str],
    step: int | str | Sequence[int | str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Callable[[Judge], Requirement]:
    """Declare a judge function as a requirement (see the module docstring)."""
    if isinstance(hints, str) or not hints:
        raise TypeError("hints must be a sequence of one or more sentences: a nudge, then the idea and the API")
    steps: tuple[int | str, ...] = () if step is None else (step,) if isinstance(step, int | str) else tuple(step)

    def declare(judge: Judge) -> Requirement:
        doc = (judge.__doc__ or "").strip()
        if not doc:
            raise TypeError(
                f"requirement {judge.__name__} needs a docstring: its first line is the title a learner reads"
            )
        return Requirement(
            judge.__name__, doc.splitlines()[0].strip().rstrip("."), core, edit, tuple(hints), steps, timeout, judge
        )

    return declare


def declared(namespace: dict[str, Any]) -> list[Requirement]:
    """The requirements of a check module, in the order they are written."""
    return [value for value in namespace.values() if isinstance(value, Requirement)]


class Context:
    """What a requirement judges with: the lab, its PostgreSQL, and set-up shared within one check."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self._shared: dict[str, Any] = {}
        self._at_end: list[Callable[[], None]] = []

    @property
    def workdir(self) -> Path:
        return self.lab.workdir

    @property
    def pg(self) -> Postgres:
        if self.lab.pg is None:
            raise LabkitError(
                "This check needs a PostgreSQL.", "Create the lab with labkit.Lab(name, pg=labkit.postgres())."
            )
        return self.lab.pg

    def on_end(self, cleanup: Callable[[], None]) -> None:
        """Run ``cleanup`` when the check ends, after the apps it started are stopped (also after a time-out).

        For set-up shared between requirements: a scratch database, a relay. Last registered, first run.
        """
        self._at_end.append(cleanup)

    def end(self) -> None:
        """Run the cleanups (called by :meth:`labkit.Lab.check`); every one runs, the first error is raised."""
        errors: list[BaseException] = []
        while self._at_end:
            try:
                self._at_end.pop()()
            except Exception as exc:  # the others still run
                errors.append(exc)
        if errors:
            raise errors[0]

    def shared(self, key: str, make: Callable[[], T]) -> T:
        """``make()`` once per check run, for set-up several requirements use (a served app, a measurement).

        A failure in ``make`` is remembered too, so every requirement that needs it fails the same way
        instead of paying for it again.
        """
        if key not in self._shared:
            try:
                self._shared[key] = (True, make())
            except BaseException as exc:  # replayed to each requirement that asks
                self._shared[key] = (False, exc)
        ok, value = self._shared[key]
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Outcome:
    """One requirement judged: ✓ or ✗, and for a ✗ what went wrong."""

    number: int
    requirement: Requirement
    passed: bool
    message: str = ""  # empty for a ✓
    seconds: float = 0.0


_FRAME = re.compile(r'File "(?P<path>[^"]+)", line (?P<line>\d+)')
# a traceback's exception line (``sqlalchemy.exc.MissingGreenlet: ...``), not a log line (``ERROR: ...``)
_EXCEPTION = re.compile(
    r"^(?!(?:INFO|ERROR|WARNING|DEBUG|CRITICAL)\b)[A-Za-z_][\w.]*"
    r"(?:: \S.*|(?:Error|Exception|Exit|Interrupt|Timeout)\s*$)"
)
_BACKGROUND = re.compile(r"\s*\(Background on this error at: [^)]*\)")  # SQLAlchemy's link, noise in one line


def exception_lines(text: str) -> list[str]:
    """The exception lines of the tracebacks in ``text`` (``sqlalchemy.exc.MissingGreenlet: ...``), in order."""
    return [line.strip() for line in text.splitlines() if _EXCEPTION.match(line.strip())]


def last_error(text: str, workdir: Path | None = None) -> str:
    """The last exception line of a log or traceback, with the deepest ``file:line`` in the work dir.

    ``app/db.py:12: ModuleNotFoundError: No module named 'app.settings'``: what a learner needs
    from a crashed app's log, instead of forty lines of uvicorn and importlib frames.
    """
    found = exception_lines(text)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    error = _BACKGROUND.sub("", found[-1] if found else lines[-1] if lines else "(no output)")[:300]
    root = str(workdir.resolve()) + "/" if workdir is not None else None
    where = [
        f"{m['path'][len(root) :]}:{m['line']}" if root else f"{m['path']}:{m['line']}"
        for m in _FRAME.finditer(text)
        if (root is not None and m["path"].startswith(root))
        or (root is None and "site-packages" not in m["path"] and not m["path"].startswith("<"))
    ]
    return f"{where[-1]}: {error}" if where else error


def _explain(exc: BaseException, workdir: Path) -> str:
    if isinstance(exc, AssertionError):
        return str(exc) or "the check failed"
    if isinstance(exc, AppExited):
        return f"the app did not start: {last_error(exc.logs, workdir)}"
    if isinstance(exc, AppNotAnswering):
        return f"the app runs but never answered HTTP: {last_error(exc.logs, workdir)}"
    if isinstance(exc, LabkitError):
        return exc.problem
    return f"while judging: {last_error(''.join(traceback.format_exception(exc)), workdir)}"


def judge(requirement: Requirement, number: int, context: Context, on_timeout: Callable[[], None]) -> Outcome:
    """Run one requirement under its time limit; every way it can go wrong becomes a ✗."""
    result: list[BaseException | None] = []

    def run() -> None:
        try:
            requirement.judge(context)
            result.append(None)
        except BaseException as exc:  # judged below, in the caller's thread
            result.append(exc)

    began = time.monotonic()
    worker = threading.Thread(target=run, name=f"labkit-check-{requirement.name}", daemon=True)
    worker.start()
    worker.join(requirement.timeout)
    seconds = time.monotonic() - began
    if worker.is_alive():
        on_timeout()  # stop the apps it waits on, so the thread ends instead of lingering
        worker.join(5)
        return Outcome(
            number,
            requirement,
            False,
            f"did not finish within {requirement.timeout:g} s: a request or a start-up that hangs?",
            seconds,
        )
    error = result[0] if result else None
    if error is None:
        return Outcome(number, requirement, True, "", seconds)
    if isinstance(error, KeyboardInterrupt):
        raise error
    return Outcome(number, requirement, False, _explain(error, context.workdir), seconds)


def _code(text: str) -> str:
    """Inline code on labkit's light cards, styled here: JupyterLab's dark theme would paint it dark."""
    return f'<code style="background:#eaeef2;color:#1f2328;padding:0 3px;border-radius:3px">{text}</code>'


@dataclass(frozen=True)
class Hint:
    """One rung of a requirement's hint ladder, as text."""

    number: int
    title: str
    rung: int
    rungs: int
    text: str

    def __str__(self) -> str:
        more = " (lab.hint again for the next)" if self.rung < self.rungs else ""
        return f"Hint {self.rung} of {self.rungs} for {self.number}. {self.title}{more}\n{self.text}"

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        import html

        more = f" &middot; {_code(f'lab.hint({self.number})')} again for the next" if self.rung < self.rungs else ""
        return (
            f'<div style="background:#f8f8f8;color:#1f2328;padding:6px 10px;border-radius:3px;'
            f'border-left:4px solid #6639ba"><div style="color:#57606a">Hint {self.rung} of {self.rungs} for '
            f'{self.number}. {html.escape(self.title)}{more}</div><div style="margin-top:4px">'
            f"{html.escape(self.text)}</div></div>"
        )


@dataclass(frozen=True)
class Checklist:
    """What :meth:`labkit.Lab.check` concluded: a ✓ or ✗ per requirement, and the count."""

    workdir_label: str  # "work/01-import-time-engine", or the reference copy's
    requirements: tuple[Requirement, ...]  # all that the scenario declares
    outcomes: tuple[Outcome, ...]  # those judged this time (all, or the one asked for)

    def __bool__(self) -> bool:
        return bool(self.outcomes) and all(o.passed for o in self.outcomes)

    @property
    def passed(self) -> int:
        return sum(o.passed for o in self.outcomes)

    def _done(self, wanted: Iterable[Requirement]) -> bool:
        judged = {o.requirement.name: o.passed for o in self.outcomes}
        names = [r.name for r in wanted]
        return bool(names) and all(judged.get(name, False) for name in names)

    @property
    def core_done(self) -> bool:
        return self._done(r for r in self.requirements if r.core)

    @property
    def all_done(self) -> bool:
        return self._done(self.requirements)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.passed]

    def summary(self) -> str:
        count = f"{self.passed} of {len(self.outcomes)} pass"
        if len(self.outcomes) < len(self.requirements):
            count += f" (judged {len(self.outcomes)} of {len(self.requirements)})"
        elif self.all_done:
            count += ": all done"
        elif self.core_done:
            count += ": core done, stretch open"
        return f"{self.workdir_label}: {count}"

    def __str__(self) -> str:
        lines = [self.summary()]
        for outcome in self.outcomes:
            req = outcome.requirement
            mark = "✓" if outcome.passed else "✗"
            lines.append(f"{mark} {outcome.number}. {req.title} [{req.tier}, {req.edit}]")
            if not outcome.passed:
                lines.append(f"    {outcome.message}")
                lines.append(f"    hint: {req.hints[0]} (more: lab.hint({outcome.number}))")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        import html

        rows = []
        for outcome in self.outcomes:
            req = outcome.requirement
            mark, colour = ("✓", "#1a7f37") if outcome.passed else ("✗", "#b42318")
            detail = ""
            if not outcome.passed:
                detail = (
                    f'<div style="margin:2px 0 0 1.6em;white-space:pre-wrap">{html.escape(outcome.message)}</div>'
                    f'<div style="margin:2px 0 0 1.6em;color:#6639ba">hint: {html.escape(req.hints[0])} '
                    f"(more: {_code(f'lab.hint({outcome.number})')})</div>"
                )
            rows.append(
                f'<div style="margin:4px 0"><span style="color:{colour};font-weight:700">{mark}</span> '
                f"{outcome.number}. {html.escape(req.title)} "
                f'<span style="color:#57606a">[{req.tier}, {_code(html.escape(req.edit))}]</span>{detail}</div>'
            )
        # a light card of its own, as listings have: readable on JupyterLab's light and dark themes
        return (
            f'<div style="background:#f8f8f8;color:#1f2328;padding:6px 10px;border-radius:3px">'
            f'<div style="font-weight:600">{html.escape(self.summary())}</div>{"".join(rows)}</div>'
        )
