"""What a scenario's ``check.py`` uses: the requirement declaration and the helpers checks share.

A check keeps only its scenario's judgement; how to serve, count, wait and read logs lives here,
once, with tests.
"""

from labkit._requirements import Context, Requirement, last_error, requirement

__all__ = ["Context", "Requirement", "last_error", "requirement"]
