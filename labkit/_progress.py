"""Which notebooks a learner has finished, from the checks that passed.

Every :meth:`Lab.check` leaves a small record in ``<work root>/.progress/<scenario>.json``
(beside the work dirs, so :meth:`Lab.reset` does not erase it). :func:`progress` and
``labkit progress`` read those records back as one table.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from labkit._display import Table
from labkit._scenario import available, scenarios_root

PROGRESS_DIR = ".progress"


@dataclass
class Record:
    """What the checks of one scenario have said so far."""

    checks: int = 0
    passes: int = 0
    own_fix: bool = False  # passed with at least part of the fix written by the learner
    reference: bool = False  # passed with every reference step applied
    last_check: str = ""  # local time, minutes
    last_passed: bool = False

    @property
    def status(self) -> str:
        if self.own_fix:
            return "done: your own fix"
        if self.reference:
            return "done: reference steps"
        if self.checks:
            return f"started: {self.checks} check{'s' if self.checks != 1 else ''}, none passed"
        return "not started"


def _path(work_root: Path, scenario: str) -> Path:
    return work_root / PROGRESS_DIR / f"{scenario}.json"


def read(work_root: Path, scenario: str) -> Record:
    try:
        return Record(**json.loads(_path(work_root, scenario).read_text()))
    except (OSError, ValueError, TypeError):  # never checked, or a record from an older labkit
        return Record()


def record_check(work_root: Path, scenario: str, *, passed: bool, steps_applied: int, steps_total: int) -> None:
    """Add one check's verdict to the scenario's record."""
    record = read(work_root, scenario)
    record.checks += 1
    record.last_check = time.strftime("%Y-%m-%d %H:%M")
    record.last_passed = passed
    if passed:
        record.passes += 1
        if steps_applied == steps_total:
            record.reference = True
        else:
            record.own_fix = True
    path = _path(work_root, scenario)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(record), indent=1))


def default_work_root() -> Path:
    """``notebooks/work``: where :class:`labkit.Lab` puts work dirs unless told otherwise."""
    return scenarios_root().parent / "work"


def _notebook_for(scenario: str) -> str:
    """The notebook a scenario belongs to: the one with the same number (00-hello is 00-setup's)."""
    number = scenario.split("-", 1)[0]
    notebooks = sorted(scenarios_root().parent.glob(f"{number}-*.ipynb"))
    return notebooks[0].stem if notebooks else scenario


def progress(work_root: str | Path | None = None) -> Table:
    """One row per notebook: finished (with your fix or the reference steps), started, or not started."""
    root = Path(work_root) if work_root else default_work_root()
    rows = []
    for name in available():
        record = read(root, name)
        rows.append((_notebook_for(name), record.status, record.last_check or "-"))
    return Table(("notebook", "status", "last check"), tuple(rows))


def summary(table: Table) -> str:
    done = sum(1 for row in table.rows if row[1].startswith("done"))
    return f"{done} of {len(table.rows)} notebooks done"
