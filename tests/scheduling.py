"""A pytest plugin: how pytest-xdist shares the suite between the workers of ``make test``.

A unit of work is a file, as with ``--dist loadfile``: a notebook's cells run in order in one kernel,
and a module's expensive fixtures (the Binder-like box, a JupyterLab) are built once. Two changes:

- The files in :data:`SPLIT_BY_CASE` are split by their parameter: all tests of one case form a
  unit. Each browser case runs a whole notebook in JupyterLab (30-75 s), and the scenario checks of
  13 scenarios add up to minutes; as one unit each, they were the longest chain of a run.
- The longest units go first (:data:`LONGEST_FIRST`), so that no worker starts a long one while the
  others run out of work; the rest keep pytest-xdist's order (most tests first).

It applies only to ``--dist loadfile``: ``-n`` with another mode keeps pytest-xdist's own scheduling.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pytest

SPLIT_BY_CASE = ("tests/test_browser.py", "tests/test_scenarios.py")

# the slowest units of a run on 2 cores (pytest --durations), longest first; the rest keep their order
LONGEST_FIRST = (
    "tests/test_binder.py",
    "tests/test_browser.py",
    "tests/test_parallel_notebooks.py",
    "tests/test_hub.py",
    "notebooks/07-connection-pool.ipynb",
    "notebooks/12-capstone.ipynb",
    "tests/test_scenarios.py",
    "tests/test_harness_03.py",
    "tests/test_harness_12.py",
    "tests/test_harness_08.py",
)


def unit_of(nodeid: str) -> str:
    """The unit of work a test belongs to: its file, or its file and case for :data:`SPLIT_BY_CASE`."""
    path, _, rest = nodeid.partition("::")
    if path in SPLIT_BY_CASE and rest.endswith("]") and "[" in rest:
        return f"{path}[{rest[rest.index('[') + 1 :]}"
    return path


def rank(unit: str) -> int:
    """Where a unit goes in the queue: the listed ones first, in their order."""
    path = unit.partition("[")[0]
    return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getoption("dist", None) != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class LongestFirstByFile(LoadScopeScheduling):  # type: ignore[misc]
        ordered = False

        def _split_scope(self, nodeid: str) -> str:
            return unit_of(nodeid)

        def _assign_work_unit(self, node: Any) -> None:
            # the queue is whole before the first unit goes out; sort it once, stable, by rank (the
            # collections themselves stay as they are: a worker runs tests by their index in its own)
            if not self.ordered:
                self.workqueue = OrderedDict(sorted(self.workqueue.items(), key=lambda unit: rank(unit[0])))
                self.ordered = True
            super()._assign_work_unit(node)

    return LongestFirstByFile(config, log)
