"""``wait_until``: the one way labkit waits for something to become true.

Every wait polls a condition until it is truthy or a deadline passes: a server that
answers, a count that settles, a log line that appears. One helper means one timeout
message shape (what was awaited, for how long, what to do) and no hand-written loops.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from labkit._errors import LabkitError

T = TypeVar("T")

DEFAULT_INTERVAL = 0.02  # seconds: short enough to measure, long enough not to load the machine


class WaitTimeout(LabkitError):
    """The condition stayed false; ``.last`` is what it returned the last time it was asked."""

    def __init__(self, what: str, timeout: float, fix: str, last: object) -> None:
        self.last = last
        super().__init__(f"Waited {timeout:g} s for {what}, in vain.", fix)


def wait_until(
    condition: Callable[[], T],
    *,
    timeout: float,
    what: str,
    fix: str = "Try again; if it keeps happening, `labkit env` checks the set-up.",
    interval: float = DEFAULT_INTERVAL,
) -> T:
    """Call ``condition`` until it returns something truthy, and return that.

    Raises :class:`WaitTimeout` (a :class:`LabkitError` naming ``what`` and ``fix``) once
    ``timeout`` seconds pass. The condition is always asked at least once, and once more at
    the deadline, so a slow machine never loses a result that arrived just in time.
    An exception raised by ``condition`` ends the wait (conditions decide what to tolerate).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WaitTimeout(what, timeout, fix, value)
        time.sleep(min(interval, remaining))
