"""The supported PostgreSQL range, and what labkit says outside it."""

from __future__ import annotations

import pytest

from labkit._postgres._versions import SUPPORTED, major, outside_supported

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("version", "expected"),
    [("18.6", 18), ("15.18 (Debian 15.18-0+deb12u1)", 15), ("9.6.24", 9), ("19devel", None), ("", None)],
)
def test_the_major_of_a_server_version(version: str, expected: int | None) -> None:
    assert major(version) == expected


def test_inside_the_range_nothing_is_said_outside_it_what_to_do() -> None:
    low, high = SUPPORTED
    assert outside_supported(f"{low}.0") is None and outside_supported(f"{high}.1") is None
    note = outside_supported("14.12")
    assert note is not None and "outside the range the notebooks are verified on (15 to 18)" in note
    assert "unset LABKIT_DATABASE_URL" in note
