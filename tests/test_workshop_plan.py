"""The instructor guide's timings and plans are generated from notebooks/timings.toml, and a plan that
does not fit its time cannot be generated."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import replace
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).parent.parent
_spec = importlib.util.spec_from_file_location("workshop_plan", ROOT / "tools" / "workshop_plan.py")
plan_tool = importlib.util.module_from_spec(_spec)
sys.modules["workshop_plan"] = plan_tool  # dataclasses look their module up while the class is made
_spec.loader.exec_module(plan_tool)

NOTEBOOKS, PLANS = plan_tool.load()


def test_the_guide_holds_the_generated_tables() -> None:
    guide = (ROOT / "docs" / "instructor.md").read_text()
    assert plan_tool.render(NOTEBOOKS, PLANS) in guide, "docs/instructor.md is out of date: run tools/workshop_plan.py"


def test_every_notebook_is_in_the_guide_with_its_binder_link() -> None:
    guide = (ROOT / "docs" / "instructor.md").read_text()
    for name in NOTEBOOKS:
        assert f"lab/tree/notebooks/{name}.ipynb" in guide


def test_there_is_a_half_day_and_a_full_day_plan_that_fit() -> None:
    by_key = {plan.key: plan for plan in PLANS}
    assert set(by_key) == {"half-day", "full-day"}
    assert by_key["half-day"].minutes == 210, "a half day is 3.5 hours"
    assert 10 in by_key["half-day"].breaks.values(), "the half day has its 10-minute break"
    for plan in PLANS:
        _, total = plan_tool.agenda(plan, NOTEBOOKS)
        assert total <= plan.minutes
    full_day = by_key["full-day"]
    assert full_day.notebooks == list(NOTEBOOKS), "the full day gives every notebook, in order"


def test_a_plan_that_does_not_fit_is_refused_with_its_arithmetic() -> None:
    too_short = replace(PLANS[0], minutes=60)
    with pytest.raises(SystemExit, match=r"takes \d+ min, more than its 60: \d+ \(Opening\)"):
        plan_tool.render(NOTEBOOKS, [too_short])


def test_a_notebooks_core_path_is_reading_plus_doing() -> None:
    for nb in NOTEBOOKS.values():
        assert nb.core == nb.read + nb.doing
        assert nb.slot == nb.demo + nb.core
