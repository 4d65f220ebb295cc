"""tests/scheduling.py: the units pytest-xdist's workers get, and their order."""

from __future__ import annotations

import pytest
from scheduling import LONGEST_FIRST, rank, unit_of

from support import ROOT

pytestmark = pytest.mark.unit


def test_a_notebook_and_a_module_stay_one_unit_each() -> None:
    assert unit_of("notebooks/07-connection-pool.ipynb::Cell 12") == "notebooks/07-connection-pool.ipynb"
    assert unit_of("tests/test_binder.py::test_notebook_runs_binder_like_under_1_gib[00-setup]") == (
        "tests/test_binder.py"
    )


def test_browser_and_scenario_cases_are_units_of_their_own() -> None:
    assert unit_of("tests/test_browser.py::test_run_all_in_jupyterlab[05-async-session-pitfalls]") == (
        "tests/test_browser.py[05-async-session-pitfalls]"
    )
    # every test of one scenario in one unit: the case, not the test, decides
    broken = unit_of("tests/test_scenarios.py::test_broken_tree_fails_every_requirement[07-connection-pool]")
    fixed = unit_of("tests/test_scenarios.py::test_core_fixed_leaves_stretch_open[07-connection-pool]")
    assert broken == fixed == "tests/test_scenarios.py[07-connection-pool]"
    assert unit_of("tests/test_scenarios.py::test_there_are_scenarios") == "tests/test_scenarios.py"


def test_the_listed_units_go_first_in_their_order() -> None:
    units = ["tests/test_lab.py", "tests/test_browser.py[00-setup]", "notebooks/00-setup.ipynb", "tests/test_binder.py"]
    assert sorted(units, key=rank) == [
        "tests/test_binder.py",
        "tests/test_browser.py[00-setup]",
        "tests/test_lab.py",
        "notebooks/00-setup.ipynb",
    ]
    assert all((ROOT / path).is_file() for path in LONGEST_FIRST), "a file of LONGEST_FIRST was renamed"
