"""``labkit.expect``: a notebook's self-check, strict when nobody watches and calm when a learner does.

A notebook measures, then says what the text expects of the measurement. Unattended (nbval,
nbclient, CI) a miss must fail the run, or the committed prose drifts from what the code does.
In front of a learner, a miss is not the learner's fault (a busy laptop, another PostgreSQL
version): they get one calm line with what this machine measured and what the text expected,
and the notebook goes on. ``LABKIT_STRICT=1`` makes it strict anywhere, ``0`` calm anywhere.
"""

from __future__ import annotations

import os

from labkit._errors import LabkitError
from labkit._status_line import interactive


class ExpectationFailed(LabkitError, AssertionError):
    """A measurement did not say what the notebook's text says it does."""


def _strict() -> bool:
    forced = os.environ.get("LABKIT_STRICT")
    if forced in ("0", "1"):
        return forced == "1"
    return not interactive()


def expect(condition: object, what: str, *, measured: object = None) -> None:
    """Check that ``condition`` holds: ``what`` says what the text expects, ``measured`` what was seen.

    ``labkit.expect(writes == 2, "one request makes two usage writes", measured=writes)``
    """
    if condition:
        return
    seen = f" (measured: {measured})" if measured is not None else ""
    if _strict():
        raise ExpectationFailed(
            f"The notebook expects that {what}, and this run did not show it{seen}.",
            "Run the cells above again; if it still differs, the text is wrong for this "
            "machine or version: tell the authors what was measured.",
        )
    print(
        f"ℹ This machine did not show what the text expects: {what}{seen}. "
        "Timing on a busy laptop or another version can do that; carry on, the rest of the notebook holds."
    )
