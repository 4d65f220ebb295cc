"""tests/scheduling.py: the units pytest-xdist's workers get, and their order."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


MODULE = """
import os
from pathlib import Path

ran = []


def record(name):
    with open(os.environ["ORDER_LOG"], "a") as log:
        log.write(f"{os.environ['PYTEST_XDIST_WORKER']} {__name__} {name}\\n")
    ran.append(name)


def test_one():
    record("one")


def test_two():
    record("two")
    assert ran == ["one", "two"], ran  # the module's tests ran in order, in one process
"""


def test_workers_run_a_file_in_order_and_the_listed_units_first(tmp_path: Path) -> None:
    # the plugin in a real pytest-xdist run: a stand-in for the Binder test and three other files
    for name in ("test_binder", "test_a", "test_b", "test_c"):
        (tmp_path / "tests").mkdir(exist_ok=True)
        (tmp_path / "tests" / f"{name}.py").write_text(MODULE)
    log = tmp_path / "order.log"
    ran = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-n",
            "2",
            "--dist",
            "loadfile",
            "-p",
            "scheduling",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:nbval",
            "-o",
            "addopts=",
            "--rootdir",
            str(tmp_path),
            "tests",
        ],
        cwd=tmp_path,
        env={**os.environ, "ORDER_LOG": str(log), "PYTHONPATH": str(ROOT / "tests")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0 and "8 passed" in ran.stdout, ran.stdout[-3000:]
    lines = log.read_text().splitlines()
    by_worker: dict[str, list[str]] = {}
    for line in lines:
        worker, module, _ = line.split()
        by_worker.setdefault(worker, []).append(module)
    assert any(modules[0] == "test_binder" for modules in by_worker.values()), lines
    assert sum(modules.count("test_binder") for modules in by_worker.values()) == 2
    assert len({w for w, modules in by_worker.items() if "test_binder" in modules}) == 1, lines
