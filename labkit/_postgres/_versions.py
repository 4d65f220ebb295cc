"""The PostgreSQL majors the notebooks are verified on, and what to say about any other."""

from __future__ import annotations

SUPPORTED = (15, 18)  # oldest and newest major the workbook runs on (README, "Where PostgreSQL comes from")


def major(version: str) -> int | None:
    """18 for "18.6", 15 for "15.18 (Debian 15.18-0+deb12u1)"; None when it does not read as a version."""
    head = version.strip().split(".", 1)[0].split(" ", 1)[0]
    return int(head) if head.isdigit() else None


def outside_supported(version: str) -> str | None:
    """A sentence with what to do when ``version`` is outside the supported range, else None."""
    found = major(version)
    low, high = SUPPORTED
    if found is None or low <= found <= high:
        return None
    return (
        f"PostgreSQL {version} is outside the range the notebooks are verified on ({low} to {high}): "
        f"outputs may differ. Use a server of version {low}-{high} (unset LABKIT_DATABASE_URL to let "
        "labkit start one), or carry on and compare with care."
    )
