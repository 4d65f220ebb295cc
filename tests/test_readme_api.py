"""labkit's public API is deliberate: one list, every name importable and documented in the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import labkit

pytestmark = pytest.mark.unit

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_all_lists_exactly_the_exports() -> None:
    assert sorted(labkit.__all__) == sorted(labkit._EXPORTS)


def test_every_public_name_resolves_and_is_documented() -> None:
    block = re.search(r"## labkit, what notebooks call\n(.*?)\n## ", README, re.S)
    assert block is not None
    for name in labkit.__all__:
        assert getattr(labkit, name) is not None
        assert re.search(rf"\b{name}\b", block.group(1)), f"labkit.{name} is public but the README's API block omits it"


def test_an_unknown_name_says_so() -> None:
    try:
        labkit.nope  # noqa: B018
    except AttributeError as exc:
        assert "no attribute 'nope'" in str(exc)
    else:
        raise AssertionError("labkit.nope resolved")
