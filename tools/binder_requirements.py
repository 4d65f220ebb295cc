"""Write binder/requirements.txt from requirements.lock (or check that it is in step).

Binder needs what a learner uses: labkit's dependencies and the ``workbook`` extra
(JupyterLab, Notebook, ipykernel, nbclient, pytest for notebook 06's suite), not the ``test``
extra (playwright, repo2docker, xdist, ruff, mypy, jupyterhub, ...). This script walks the dependency closure of
those roots through the installed packages' metadata, evaluating markers as on Binder
(Linux, CPython 3.11), and writes the lock's own lines for the packages it reached: the
same versions as the lock, markers kept, comments dropped. So it must run with the
environment `make` builds from the lock (``.venv/bin/python tools/binder_requirements.py``).

mybinder.org (repo2docker) reads only binder/ once that folder exists, and it installs
binder/requirements.txt before copying the rest of the repository, so that file cannot
``-r ../requirements.lock``: a ``-r`` counts as a local reference and would move the whole
install after the copy, rebuilding it on every commit. labkit itself is installed by
binder/postBuild.

    .venv/bin/python tools/binder_requirements.py          # rewrite binder/requirements.txt
    .venv/bin/python tools/binder_requirements.py --check  # exit 1 when it is out of step
"""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
import tomllib
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
PYPROJECT = ROOT / "pyproject.toml"
TARGET = ROOT / "binder" / "requirements.txt"
LEARNER_EXTRAS = ("workbook",)

# Binder's image: Linux, CPython 3.11 (binder/runtime.txt); any 3.11 patch release.
BINDER_MARKERS = [
    {
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "platform_machine": "x86_64",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "python_version": "3.11",
        "python_full_version": full,
        "implementation_version": full,
        "extra": "",
    }
    for full in ("3.11.0", "3.11.99")
]

HEADER = """\
# Generated from requirements.lock by tools/binder_requirements.py: do not edit by hand.
# What learners need on mybinder.org: labkit's dependencies and the workbook extra, at the
# lock's versions; not the test stack. binder/postBuild installs labkit itself (--no-deps -e .).
# tests/test_binder.py fails when this file and the lock disagree.
"""


def lock_lines(lock_text: str) -> dict[str, list[str]]:
    """The requirement lines of a uv/pip-compile lock by canonical name (a name may have
    several lines with exclusive markers); comments, blanks and "# via" notes dropped."""
    lines: dict[str, list[str]] = {}
    for raw in lock_text.splitlines():
        # uv writes "# via" notes indented under each pin; pins start in column 0
        if not raw.strip() or raw.lstrip().startswith("#") or raw[0].isspace():
            continue
        lines.setdefault(canonicalize_name(Requirement(raw).name), []).append(raw.strip())
    return lines


def _applies(marker: Marker | None, extras: set[str]) -> bool:
    if marker is None:
        return True
    return any(marker.evaluate({**env, "extra": extra}) for env in BINDER_MARKERS for extra in (extras or {""}))


def learner_roots(pyproject_text: str) -> list[Requirement]:
    project = tomllib.loads(pyproject_text)["project"]
    roots = [Requirement(r) for r in project["dependencies"]]
    for extra in LEARNER_EXTRAS:
        roots += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return roots


def closure(roots: list[Requirement]) -> set[str]:
    """Canonical names of every package the roots need on Binder, read from the installed
    packages' metadata (each with the extras asked of it)."""
    seen: dict[str, set[str]] = {}
    todo = [(canonicalize_name(r.name), set(r.extras)) for r in roots if _applies(r.marker, set())]
    while todo:
        name, extras = todo.pop()
        if name in seen and extras <= seen[name]:
            continue
        seen[name] = seen.get(name, set()) | extras
        try:
            requires = importlib.metadata.distribution(name).requires or []
        except importlib.metadata.PackageNotFoundError:
            raise SystemExit(
                f"{name} is needed on Binder but not installed here: run this script with the "
                "environment `make` builds from the lock (.venv/bin/python, on Linux)"
            ) from None
        for line in requires:
            req = Requirement(line)
            if _applies(req.marker, seen[name]):
                todo.append((canonicalize_name(req.name), set(req.extras)))
    return set(seen)


def render(lock_text: str, pyproject_text: str) -> str:
    pinned = lock_lines(lock_text)
    needed = closure(learner_roots(pyproject_text))
    missing = sorted(needed - set(pinned))
    if missing:
        raise SystemExit(f"needed on Binder but not in requirements.lock: {missing}; run: make lock")
    return HEADER + "".join(line + "\n" for name in sorted(needed) for line in pinned[name])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when out of step")
    args = parser.parse_args()
    wanted = render(LOCK.read_text(), PYPROJECT.read_text())
    current = TARGET.read_text() if TARGET.exists() else ""
    if args.check:
        if current != wanted:
            print(
                f"{TARGET.relative_to(ROOT)} is out of step with requirements.lock; "
                "run: .venv/bin/python tools/binder_requirements.py",
                file=sys.stderr,
            )
            return 1
        return 0
    if current != wanted:
        TARGET.write_text(wanted)
        count = sum(1 for line in wanted.splitlines() if line and not line.startswith("#"))
        print(f"wrote {TARGET.relative_to(ROOT)} ({count} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
