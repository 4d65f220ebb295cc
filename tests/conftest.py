"""Shared fixtures (one local PostgreSQL for the tests that only read and count) and the test tiers.

Every test belongs to exactly one tier, a marker registered in pyproject.toml:
unit (no PostgreSQL, no server process, no kernel; `pytest -m unit` runs in seconds),
integration, notebooks (nbval's cells, marked here) and browser.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from labkit import Postgres
from labkit._postgres._local import LocalServer

TIERS = ("unit", "integration", "notebooks", "browser")
SERVERS = {"local_pg", "fresh_pg"}  # the fixtures below: a unit test may not ask for one
# the IPC sockets of this process's nbval kernels (pytest_configure), removed at its end
_KERNEL_SOCKETS = Path(tempfile.gettempdir()) / f"nbval-kernels-{os.getpid()}"


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects anything: every collected test is checked
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.suffix == ".ipynb":  # nbval's items, one per cell; no module to put a mark in
            item.add_marker(pytest.mark.notebooks)
    wrong = []
    for item in items:
        tiers = sorted({mark.name for mark in item.iter_markers() if mark.name in TIERS})
        servers = sorted(SERVERS.intersection(getattr(item, "fixturenames", ())))
        if len(tiers) != 1:
            wrong.append(f"  {item.nodeid}: {', '.join(tiers) or 'no tier'}")
        elif tiers == ["unit"] and servers:
            wrong.append(f"  {item.nodeid}: unit, but starts PostgreSQL ({', '.join(servers)})")
    if wrong:
        raise pytest.UsageError(
            f"Every test needs exactly one tier marker ({', '.join(TIERS)}), as a module-level "
            "`pytestmark = pytest.mark.<tier>` or a decorator; a unit test starts no server:\n" + "\n".join(wrong)
        )


def pytest_configure(config: pytest.Config) -> None:
    # nbval's kernels talk over IPC sockets, not TCP: jupyter_client picks five ports that are free
    # when picked, and under the workers of make test another kernel or app can take one before the
    # kernel binds it. A clean-clone run lost deep dive 11a's kernel at start-up ("died before
    # replying"); a port taken in between is the likely cause, and over IPC there is none.
    if config.pluginmanager.hasplugin("nbval"):
        import nbval.kernel
        from jupyter_client import KernelManager
        from traitlets import CaselessStrEnum, default

        class IpcKernelManager(KernelManager):  # type: ignore[misc]
            transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

            @default("ip")
            def _sockets_in_a_folder_of_their_own(self) -> str:
                # absolute: the kernel runs in the notebook's folder, its client in pytest's
                return str(Path(tempfile.mkdtemp(dir=_KERNEL_SOCKETS)) / "socket")

        _KERNEL_SOCKETS.mkdir(exist_ok=True)
        nbval.kernel.KernelManager = IpcKernelManager


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_KERNEL_SOCKETS, ignore_errors=True)


@pytest.fixture(scope="session")
def local_pg() -> Iterator[Postgres]:
    """A local server of the tests' own (not the kernel singleton), removed at the end."""
    pg = Postgres(LocalServer(), "tests")
    yield pg
    pg.close()


@pytest.fixture
def fresh_pg() -> Iterator[Postgres]:
    """A server a test may stop, restart and reconfigure."""
    pg = Postgres(LocalServer(), "tests")
    yield pg
    pg.close()


# every notebook run meets a learner's copy with an edit in it, and must keep it (tests/learner_copies.py);
# under pytest-xdist, the longest units of work go first (tests/scheduling.py)
pytest_plugins = ["learner_copies", "scheduling"]
