"""A pytest plugin: every notebook run by nbval meets a learner's copy with an edit in it, and must keep it.

Before the notebooks run, each scenario a collected notebook opens (``labkit.Lab("<name>", ...)``)
gets a learner's copy in ``notebooks/work/<name>/`` holding one edit (a comment line), unless a
copy is there already. After the run, every edit must still be there: a notebook that resets,
overwrites or moves the learner's work fails the session. Copies the plugin made are removed
again; a copy it found (a developer's own work) is never touched.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
OPENS = re.compile(r"labkit\.Lab\(\s*[\"']([0-9]{2}-[a-z0-9-]+)[\"']")
EDIT = "# a learner's edit: Run All must never lose it\n"


@dataclass
class Seeded:
    scenario: str
    file: Path


_seeded: list[Seeded] = []


def _notebooks_to_run(config: pytest.Config) -> list[Path]:
    """The notebooks among the paths pytest was given (its testpaths when none)."""
    given = [Path(arg.split("::")[0]) for arg in config.args] or [Path(p) for p in config.getini("testpaths")]
    found: list[Path] = []
    for path in (p if p.is_absolute() else config.rootpath / p for p in given):
        if path.suffix == ".ipynb":
            found.append(path)
        elif path.is_dir():
            found += [
                nb for nb in path.rglob("*.ipynb") if not {"work", "scenarios", ".ipynb_checkpoints"} & set(nb.parts)
            ]
    return found


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")  # a pytest-xdist worker: the main process seeds and checks


def _notebooks_selected(config: pytest.Config) -> bool:
    """False when ``-m`` leaves the notebooks out (``-m unit``): nothing to seed then."""
    markexpr = config.getoption("markexpr", "") or ""
    return not markexpr or ("notebooks" in markexpr and "not notebooks" not in markexpr)


def pytest_sessionstart(session: pytest.Session) -> None:
    if _is_worker(session.config) or not _notebooks_selected(session.config):
        return
    from labkit import Lab

    opened = {name for notebook in _notebooks_to_run(session.config) for name in OPENS.findall(notebook.read_text())}
    for name in sorted(opened):
        if (NOTEBOOKS / "work" / name).exists():
            continue  # somebody's own copy: leave it exactly as it is
        lab = Lab(name, workdir=NOTEBOOKS / "work" / name)
        target = min(lab.workdir.rglob("*.py"))
        target.write_text(target.read_text() + EDIT)
        _seeded.append(Seeded(name, target))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _is_worker(session.config):
        return
    lost = [s for s in _seeded if not s.file.is_file() or EDIT not in s.file.read_text()]
    for seeded in _seeded:
        shutil.rmtree(NOTEBOOKS / "work" / seeded.scenario, ignore_errors=True)
    _seeded.clear()
    if lost:
        names = ", ".join(f"{s.scenario} ({s.file.name})" for s in lost)
        session.config.get_terminal_writer().line(f"The learner's edit was lost in: {names}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
