"""The one exception type labkit raises for problems a learner can act on."""

from __future__ import annotations


class LabkitError(RuntimeError):
    """Something the learner can fix: what went wrong, and what to do about it.

    The message always has two parts so that a notebook traceback ends with
    an instruction rather than a stack of library frames.
    """

    def __init__(self, problem: str, fix: str) -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem}\nWhat to do: {fix}")
