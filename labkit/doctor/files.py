"""Which files a scan reads, and the module name each one is imported as.

The walk skips what is not the project's own code (virtualenvs, VCS data,
``node_modules``, build output, caches) without reading it: a scan of a
checkout with a ``.venv`` inside must not spend its time in site-packages.
Directory symlinks are not followed, so a link loop cannot trap the walk;
only regular files are read, and a folder that cannot be listed is reported.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

# Ruff's default excludes, the usual virtualenv names and caches, and editors' local history.
SKIP_DIRS = frozenset(
    {
        ".bzr",
        ".direnv",
        ".eggs",
        ".git",
        ".git-rewrite",
        ".hg",
        ".ipynb_checkpoints",
        ".mypy_cache",
        ".nox",
        ".pants.d",
        ".pyenv",
        ".pytest_cache",
        ".pytype",
        ".ruff_cache",
        ".svn",
        ".tox",
        ".venv",
        ".vscode",
        ".idea",
        "__pycache__",
        "__pypackages__",
        "_build",
        "buck-out",
        "build",
        "dist",
        "node_modules",
        "site-packages",
        "dist-packages",
        "venv",
        ".virtualenv",
        "htmlcov",
        ".history",
        ".lh",
        ".cache",
        ".conda",
        ".pixi",
        ".hypothesis",
        ".benchmarks",
        ".coverage_html",
    }
)


@dataclass(frozen=True)
class Unlisted:
    """A folder (or file) the walk could not look into: reported, never silently skipped."""

    path: Path
    reason: str


def _skipped_dir(entry: os.DirEntry[str]) -> bool:
    name = entry.name
    if name in SKIP_DIRS or name.endswith(".egg-info"):
        return True
    # A virtualenv under any name (env/, .env3/, py311/) has this file at its top.
    return os.path.exists(os.path.join(entry.path, "pyvenv.cfg"))


def python_files(root: Path, exclude: Iterable[str] = (), unlisted: list[Unlisted] | None = None) -> Iterator[Path]:
    """Every regular ``.py`` file under ``root`` (or ``root`` itself when it is a file), in a stable order.

    ``exclude`` holds glob patterns matched against a path relative to ``root``
    and against each directory or file name (``migrations``, ``tests/data/*``).
    Folders that cannot be listed go to ``unlisted``; a FIFO, socket or device
    named ``*.py`` is not a file to read (opening a FIFO would wait forever).
    """
    patterns = tuple(exclude)
    if root.is_file():
        yield root
        return

    def excluded(rel: str, name: str) -> bool:
        return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(name, p) for p in patterns)

    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            if unlisted is not None:
                unlisted.append(Unlisted(directory, exc.strerror or str(exc)))
            continue
        subdirs = []
        for entry in entries:
            rel = os.path.relpath(entry.path, root).replace(os.sep, "/") if patterns else ""  # only globs read it
            try:
                if entry.is_dir(follow_symlinks=False):
                    if not _skipped_dir(entry) and not (patterns and excluded(rel, entry.name)):
                        subdirs.append(Path(entry.path))
                elif entry.name.endswith(".py") and entry.is_file() and not (patterns and excluded(rel, entry.name)):
                    yield Path(entry.path)
            except OSError as exc:
                if unlisted is not None:
                    unlisted.append(Unlisted(Path(entry.path), exc.strerror or str(exc)))
        stack.extend(reversed(subdirs))


def package_prefix(root: Path) -> list[str]:
    """The package names above the files when ``root`` itself is inside a package.

    ``labkit doctor app/`` on ``app/__init__.py`` + ``app/db.py`` must still call
    the second module ``app.db``, because that is how the code imports it.
    """
    prefix: list[str] = []
    directory = root if root.is_dir() else root.parent
    # A folder whose name is not an identifier cannot be imported as a package, whatever it holds:
    # a checkout in `my-project/` with a stray `__init__.py` at its top still imports `api.db`.
    while (directory / "__init__.py").is_file() and directory.parent != directory and directory.name.isidentifier():
        prefix.insert(0, directory.name)
        directory = directory.parent
    return prefix


def module_name(rel: str, prefix: list[str]) -> str:
    """``app/db.py`` -> ``app.db``; ``app/__init__.py`` -> ``app``; ``src/app/db.py`` -> ``app.db``."""
    parts = rel[:-3].split("/") if rel.endswith(".py") else rel.split("/")
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    if len(parts) > 1 and parts[0] == "src":
        parts = parts[1:]
    return ".".join(prefix + parts) or "__init__"


def first_party(modules: Iterable[str]) -> frozenset[str]:
    """The top-level names the project defines: an import of one of these is the project's own code."""
    return frozenset(name.split(".", 1)[0] for name in modules)
