"""`labkit progress`: finished notebooks, from the verdicts of real checks, surviving resets."""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit import Lab, command, progress
from support import FIXTURES

pytestmark = pytest.mark.unit


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Lab:
    monkeypatch.setenv("LABKIT_SCENARIOS", str(FIXTURES / "scenarios"))
    return Lab("two-steps", workdir=tmp_path / "work" / "two-steps")


def status(work_root: Path) -> str:
    (row,) = progress(work_root).rows
    return row[1]


def test_untouched_then_failed_checks(lab: Lab, tmp_path: Path) -> None:
    assert status(tmp_path / "work") == "not started"
    assert not lab.check()
    assert not lab.check()
    assert status(tmp_path / "work") == "started: 2 checks, none passed"


def test_the_reference_steps_count_as_done_but_say_so(lab: Lab, tmp_path: Path) -> None:
    lab.solve()
    assert lab.check()
    assert status(tmp_path / "work") == "done: reference steps"


def test_an_own_fix_wins_and_survives_a_reset(lab: Lab, tmp_path: Path) -> None:
    words = lab.workdir / "app" / "words.py"
    words.write_text('GREETING = "hello"\nFAREWELL = "goodbye"\n')
    assert lab.check()
    lab.reset()  # the notebook goes on with the reference steps
    lab.solve()
    assert lab.check()
    assert status(tmp_path / "work") == "done: your own fix"


def test_the_command_prints_the_table_and_a_summary(lab: Lab, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    lab.solve()
    lab.check()
    assert command(["progress", "--work", str(tmp_path / "work")]) == 0
    out = capsys.readouterr().out
    assert "two-steps" in out and "done: reference steps" in out
    assert out.rstrip().endswith("1 of 1 notebooks done")
