"""Which notebooks a learner has finished, requirement by requirement, and with how many hints.

Every :meth:`Lab.check` and :meth:`Lab.hint` updates a small record in
``<work root>/.progress/<scenario>.json`` (beside the work dirs, so nothing a reset moves
takes it along). :func:`progress` and ``labkit progress`` read those records back as one table:
"all done", "core done", "done with the reference", "started: 2 of 4 pass", "not started".
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from labkit._display import Table
from labkit._scenario import available, scenarios_root

PROGRESS_DIR = ".progress"


@dataclass
class Record:
    """What the checks of one scenario have said so far."""

    checks: int = 0
    tiers: dict[str, str] = field(default_factory=dict)  # requirement name -> "core" | "stretch"
    results: dict[str, bool] = field(default_factory=dict)  # the learner's own copy, latest per requirement
    core_done: bool = False  # sticky: once every core requirement passed on the learner's own copy
    all_done: bool = False  # sticky, likewise for every requirement
    reference_done: bool = False  # the reference walk-through's copy passed every requirement
    hints: dict[str, int] = field(default_factory=dict)  # requirement name -> highest rung lab.hint() showed
    last_check: str = ""  # local time, minutes

    @property
    def hints_used(self) -> int:
        """Rungs climbed with lab.hint(), past the nudge every ✗ shows anyway."""
        return sum(max(rung - 1, 0) for rung in self.hints.values())

    @property
    def status(self) -> str:
        with_hints = f" with {self.hints_used} hint{'s' if self.hints_used != 1 else ''}" if self.hints_used else ""
        if self.all_done:
            return f"all done{with_hints}"
        if self.core_done:
            return f"core done{with_hints}"
        if self.reference_done:
            return "done with the reference"
        if self.checks:
            passed = sum(self.results.values())
            return f"started: {passed} of {len(self.tiers)} pass"
        return "not started"

    @property
    def done(self) -> bool:
        return self.all_done or self.core_done or self.reference_done


def _path(work_root: Path, scenario: str) -> Path:
    return work_root / PROGRESS_DIR / f"{scenario}.json"


def read(work_root: Path, scenario: str) -> Record:
    try:
        return Record(**json.loads(_path(work_root, scenario).read_text()))
    except (OSError, ValueError, TypeError):  # never checked, or a record from an older labkit
        return Record()


def _write(work_root: Path, scenario: str, record: Record) -> None:
    path = _path(work_root, scenario)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(asdict(record), indent=1))
    partial.replace(path)  # whole or not at all: a notebook and its deep dive may check at once


def record_check(
    work_root: Path, scenario: str, *, tiers: dict[str, str], results: Iterable[tuple[str, bool]], reference: bool
) -> Record:
    """Add one check's results (all requirements, or the one judged) to the scenario's record."""
    record = read(work_root, scenario)
    record.checks += 1
    record.last_check = time.strftime("%Y-%m-%d %H:%M")
    record.tiers = dict(tiers)
    judged = dict(results)
    if reference:
        record.reference_done |= bool(judged) and all(judged.get(name, False) for name in tiers)
    else:
        record.results = {name: judged.get(name, record.results.get(name, False)) for name in tiers}
        core = [name for name, tier in tiers.items() if tier == "core"]
        record.core_done |= bool(core) and all(record.results[name] for name in core)
        record.all_done |= bool(tiers) and all(record.results.values())
    _write(work_root, scenario, record)
    return record


def record_hint(work_root: Path, scenario: str, requirement: str, rung: int) -> None:
    record = read(work_root, scenario)
    record.hints[requirement] = max(rung, record.hints.get(requirement, 0))
    _write(work_root, scenario, record)


def default_work_root() -> Path:
    """``notebooks/work``: where :class:`labkit.Lab` puts work dirs unless told otherwise."""
    return scenarios_root().parent / "work"


def _notebook_for(scenario: str) -> str:
    """The notebook a scenario belongs to: the one with the same number (00-hello is 00-setup's)."""
    number = scenario.split("-", 1)[0]
    notebooks = sorted(scenarios_root().parent.glob(f"{number}-*.ipynb"))
    return notebooks[0].stem if notebooks else scenario


def progress(work_root: str | Path | None = None) -> Table:
    """One row per notebook: all done, core done, done with the reference, started, or not started."""
    root = Path(work_root) if work_root else default_work_root()
    rows = []
    for name in available():
        record = read(root, name)
        rows.append((_notebook_for(name), record.status, record.last_check or "-"))
    return Table(("notebook", "status", "last check"), tuple(rows))


def summary(table: Table) -> str:
    done = sum(1 for row in table.rows if row[1].startswith(("all done", "core done", "done with")))
    return f"{done} of {len(table.rows)} notebooks done"
