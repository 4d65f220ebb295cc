"""A scenario on disk: a broken project and its ordered fix steps.

Layout, beside the notebooks (``notebooks/scenarios/<name>/``)::

    scenario.toml      title, and one [[steps]] table per step (id, title, why, patch)
    broken/            the broken project, as the learner first sees it
    steps/*.diff       one unified diff per step, applied in order
    check.py           its requirements, one @requirement each (labkit.checking)
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from labkit._errors import LabkitError
from labkit._requirements import Requirement, declared


@dataclass(frozen=True)
class Step:
    number: int
    id: str
    title: str
    why: str
    patch: str  # the unified diff text


def scenarios_root() -> Path:
    """Where scenarios live: LABKIT_SCENARIOS, else notebooks/scenarios of this checkout."""
    explicit = os.environ.get("LABKIT_SCENARIOS")
    if explicit:
        return Path(explicit)
    for candidate in (
        Path.cwd() / "scenarios",
        Path.cwd() / "notebooks" / "scenarios",
        Path(__file__).resolve().parents[1] / "notebooks" / "scenarios",
    ):
        if candidate.is_dir():
            return candidate
    raise LabkitError(
        "No scenarios folder found (notebooks/scenarios).",
        "Start JupyterLab from the project folder (make lab), or set LABKIT_SCENARIOS to that folder.",
    )


def available() -> list[str]:
    root = scenarios_root()
    return sorted(p.name for p in root.iterdir() if (p / "scenario.toml").is_file())


@dataclass(frozen=True)
class Scenario:
    name: str
    root: Path
    title: str
    steps: tuple[Step, ...]

    @classmethod
    def load(cls, name: str) -> Scenario:
        root = scenarios_root() / name
        if not (root / "scenario.toml").is_file():
            names = ", ".join(available()) or "none"
            raise LabkitError(
                f"There is no scenario named {name!r}.",
                f"Use one of: {names}.",
            )
        meta = tomllib.loads((root / "scenario.toml").read_text())
        steps = tuple(
            Step(number, raw["id"], raw["title"], raw["why"].strip(), (root / raw["patch"]).read_text())
            for number, raw in enumerate(meta.get("steps", []), start=1)
        )
        return cls(name, root, meta["title"], steps)

    @property
    def broken(self) -> Path:
        return self.root / "broken"

    def module(self, name: str) -> ModuleType:
        """A course-side module of the scenario (``harness.py``: its measurements), loaded by path.

        Loaded once per process; the scenario folder is not put on ``sys.path``, so its modules
        import only installed packages and labkit.
        """
        path = self.root / f"{name}.py"
        key = f"labkit_scenario_{self.name.replace('-', '_')}_{name}"
        if key in sys.modules:
            return sys.modules[key]
        if not path.is_file():
            raise LabkitError(f"The scenario {self.name} has no module {name}.py.", f"Expected it at {path}.")
        spec = importlib.util.spec_from_file_location(key, path)
        assert spec is not None and spec.loader is not None
        loaded = importlib.util.module_from_spec(spec)
        sys.modules[key] = loaded  # before running it: dataclasses look their module up there
        try:
            spec.loader.exec_module(loaded)
        except BaseException:
            del sys.modules[key]
            raise
        return loaded

    def requirements(self) -> list[Requirement]:
        """The requirements its ``check.py`` declares, in order (see :mod:`labkit._requirements`)."""
        spec = importlib.util.spec_from_file_location(
            f"labkit_check_{self.name.replace('-', '_')}", self.root / "check.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # before running it: dataclasses look their module up there
        spec.loader.exec_module(module)
        found = declared(vars(module))
        if found:
            return found
        if hasattr(module, "check"):  # a check written as one function: one requirement, all steps
            whole = module.check
            return [
                Requirement(
                    "check",
                    "The scenario's check passes",
                    True,
                    "the project",
                    ("Read the message above: it says what the app did.",),
                    tuple(s.number for s in self.steps),
                    300.0,
                    lambda ctx: whole(ctx.lab),
                )
            ]
        raise LabkitError(
            f"{self.root / 'check.py'} declares no requirement.", "Declare each with @labkit.checking.requirement(...)."
        )
