"""``labkit save`` / ``labkit restore``: the learner's work in one file, to carry between machines.

Binder culls an idle session after about ten minutes and its files go with it; a laptop
swap or a JupyterHub move loses them too. :func:`save` writes one zip with every work dir, its
history and the progress records; :func:`restore` reads it back into a work root.

What a save never holds: virtualenvs, caches, ``.env`` files and keys (secrets), the reference
walk-through's copies (labkit rebuilds them), anything outside the work root, symlinks.
A restore checks the whole file before it writes anything: a damaged or foreign file is
refused with what to do, and a work dir it replaces is moved to ``.history`` first.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from labkit._errors import LabkitError
from labkit._progress import PROGRESS_DIR, default_work_root
from labkit._scenario import available
from labkit._workdir import HISTORY_DIR, WorkDir

FORMAT = "labkit-save/1"
MANIFEST = "labkit-save.json"
SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".venv", "venv", ".mypy_cache", ".ruff_cache", "node_modules"}
SECRET_NAMES = (".env", ".pem", ".key", ".p12", ".pfx")  # a name equal to or ending in one of these
MAX_FILE = 2 * 2**20  # bytes: a learner's source file is far smaller; anything bigger is not work
MAX_TOTAL = 64 * 2**20


@dataclass(frozen=True)
class Saved:
    path: Path
    files: int
    left_out: tuple[str, ...]  # secrets and oversized files, by relative path

    def __str__(self) -> str:
        text = f"Saved {self.files} files of your work to {self.path}."
        if self.left_out:
            text += f" Left out (secrets or too big): {', '.join(self.left_out)}."
        return text + " Download it (right-click it in JupyterLab's file browser); `labkit restore` reads it back."

    def __repr__(self) -> str:
        return str(self)


def _is_secret(name: str) -> bool:
    lowered = name.lower()
    return any(lowered == s or lowered.endswith(s) or lowered.startswith(".env.") for s in SECRET_NAMES)


def _top_levels() -> set[str]:
    """What may sit at the top of a save: the learner's work dirs, history and progress records."""
    return {*available(), HISTORY_DIR, PROGRESS_DIR}


def _candidates(root: Path) -> list[tuple[Path, str]]:
    """(file, why it is left out or "") for everything under the work root a save may take."""
    allowed = _top_levels()
    found: list[tuple[Path, str]] = []
    for top in sorted(root.iterdir()) if root.is_dir() else []:
        if top.name not in allowed or top.is_symlink():
            continue  # the reference copies, strays, links: not the learner's work
        for path in sorted(top.rglob("*")) if top.is_dir() else [top]:
            relative = path.relative_to(root)
            if (
                path.is_symlink()
                or not path.is_file()
                or SKIPPED_DIRS & set(relative.parts[:-1])
                or path.suffix == ".pyc"
            ):
                continue
            if _is_secret(path.name):
                found.append((path, "secret"))
            elif path.stat().st_size > MAX_FILE:
                found.append((path, "too big"))
            else:
                found.append((path, ""))
    return found


def save(path: str | Path | None = None, work_root: str | Path | None = None) -> Saved:
    """Write every work dir, its history and the progress records to one zip file."""
    root = Path(work_root) if work_root else default_work_root()
    target = Path(path) if path else Path.cwd() / time.strftime("labkit-work-%Y%m%d-%H%M.zip")
    files = _candidates(root)
    kept = [(p, p.relative_to(root).as_posix()) for p, why in files if not why]
    if not kept:
        raise LabkitError(
            f"There is no work to save in {root}.",
            "Open a notebook and run its setup cell first; its work dir is what gets saved.",
        )
    manifest = {
        "format": FORMAT,
        "created": time.strftime("%Y-%m-%d %H:%M"),
        "files": {name: hashlib.sha256(p.read_bytes()).hexdigest() for p, name in kept},
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, json.dumps(manifest, indent=1))
        for source, name in kept:
            archive.write(source, name)
    partial.replace(target)  # a save cut short never looks like a good one
    left_out = tuple(p.relative_to(root).as_posix() for p, why in files if why)
    return Saved(target, len(kept), left_out)


def _refuse(path: Path, problem: str) -> LabkitError:
    return LabkitError(
        f"{path} cannot be restored: {problem}. Nothing was changed.",
        "Restore a file that `labkit save` wrote (labkit-work-*.zip), downloaded whole.",
    )


def _read_checked(path: Path) -> dict[str, bytes]:
    """Every file of a save, after checking all of it; raises before anything is written."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LabkitError(
            f"Cannot read {path}: {exc.strerror}.", "Check the file name (upload it first on Binder)."
        ) from None
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        manifest = json.loads(archive.read(MANIFEST))
    except (zipfile.BadZipFile, KeyError, ValueError):
        raise _refuse(path, "it is not a labkit save (no readable zip with a labkit manifest)") from None
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != FORMAT
        or not isinstance(manifest.get("files"), dict)
    ):
        raise _refuse(path, f"its manifest is not {FORMAT}")
    allowed = _top_levels()
    contents: dict[str, bytes] = {}
    total = 0
    for name, digest in manifest["files"].items():
        parts = PurePosixPath(name).parts
        if PurePosixPath(name).is_absolute() or ".." in parts or not parts or parts[0] not in allowed:
            raise _refuse(path, f"it names a file outside the work dirs ({name!r})")
        try:
            body = archive.read(name)
        except (KeyError, zipfile.BadZipFile, OSError):
            raise _refuse(path, f"{name} is missing or damaged") from None
        total += len(body)
        if len(body) > MAX_FILE or total > MAX_TOTAL:
            raise _refuse(path, "it holds more than a workbook's work")
        if hashlib.sha256(body).hexdigest() != digest:
            raise _refuse(path, f"{name} does not match its checksum (a damaged download?)")
        contents[name] = body
    extra = {n for n in archive.namelist() if n != MANIFEST and not n.endswith("/")} - set(contents)
    if extra:
        raise _refuse(path, f"it holds files its manifest does not list ({sorted(extra)[0]!r}, ...)")
    return contents


def restore(path: str | Path, work_root: str | Path | None = None) -> list[str]:
    """Put a save's work dirs back; returns the top-level names restored.

    A work dir (or progress record folder) already here is moved to ``.history`` first, never
    overwritten; the save's history is added to the history here.
    """
    source = Path(path)
    root = Path(work_root) if work_root else default_work_root()
    contents = _read_checked(source)
    tops = sorted({PurePosixPath(name).parts[0] for name in contents})
    root.mkdir(parents=True, exist_ok=True)
    for top in tops:
        if top != HISTORY_DIR and (root / top).exists():  # work dirs and progress records: kept, not replaced
            WorkDir(root / top).move_to_history()
    for name, body in contents.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
    return tops
