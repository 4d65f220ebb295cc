"""Every scenario, rustlings-style: broken really fails, steps apply in order, solved passes."""

from __future__ import annotations

from pathlib import Path

import pytest

import labkit
from labkit._scenario import Scenario, available

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", available())
def test_broken_fails_steps_apply_solution_passes(name: str, tmp_path: Path) -> None:
    pg = labkit.postgres()
    lab = labkit.Lab(name, pg=pg, workdir=tmp_path / name)
    verdict = lab.check()
    assert not verdict, f"{name}: the broken tree passes its own check"
    for step in Scenario.load(name).steps:
        lab.apply(step.number)
    verdict = lab.check()
    assert verdict, f"{name}: the solved tree fails its check: {verdict.message}"
    lab.close()


def test_there_are_scenarios() -> None:
    assert "00-hello" in available()
