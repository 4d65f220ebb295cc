"""A work dir: a copy of a scenario's project that belongs to whoever edits it.

Its state file records the reference steps applied and two fingerprints of its files: the
last tree labkit wrote (a reset or a step) and the last tree a check judged. A tree that
matches neither holds edits nobody has judged yet, and a reset refuses to move it aside
without ``force=True``. A reset never deletes: the old tree goes to
``<work root>/.history/<name>/<timestamp>/``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

STATE_FILE = ".labkit-state.json"
HISTORY_DIR = ".history"
IGNORED = ("__pycache__", "*.pyc", ".pytest_cache", STATE_FILE)


@dataclass
class State:
    applied: list[str] = field(default_factory=list)
    written: str = ""  # fingerprint after labkit last wrote the tree
    judged: str = ""  # fingerprint when a check last judged it


def fingerprint(root: Path) -> str:
    """A hash of every file's path and bytes (caches and the state file left out)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root)
        if (
            any(part in ("__pycache__", ".pytest_cache") for part in relative.parts)
            or path.suffix == ".pyc"
            or relative.as_posix() == STATE_FILE
        ):
            continue
        digest.update(relative.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


class WorkDir:
    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def exists(self) -> bool:
        return self.path.is_dir()

    def read(self) -> State:
        try:
            return State(**json.loads((self.path / STATE_FILE).read_text()))
        except (OSError, ValueError, TypeError):
            return State()

    def write(self, state: State) -> None:
        (self.path / STATE_FILE).write_text(json.dumps(asdict(state), indent=1))

    def copy_from(self, source: Path) -> None:
        """Fill the (absent) work dir with ``source``, as labkit's own write.

        Copied beside it, then renamed into place: two kernels opening the same scenario at once (a
        notebook and its deep dive) see one whole copy, never half of one, and never overwrite it.
        """
        staging = Path(tempfile.mkdtemp(prefix=f".{self.path.name}-", dir=self.path.parent))
        try:
            shutil.copytree(source, staging / "tree", ignore=shutil.ignore_patterns(*IGNORED))
            WorkDir(staging / "tree").write(State(written=fingerprint(staging / "tree")))
            try:
                (staging / "tree").rename(self.path)
            except OSError:
                if not self.exists:
                    raise
                self.adopt()  # another kernel made it first: theirs is the copy
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def adopt(self) -> None:
        """A work dir without a state file (restored, or from an older labkit): keep it as it is."""
        if not (self.path / STATE_FILE).is_file():
            self.write(State(written=fingerprint(self.path)))

    def mark(self, *, written: bool = False, judged: bool = False, applied: str | None = None) -> None:
        state = self.read()
        now = fingerprint(self.path)
        if written:
            state.written = now
        if judged:
            state.judged = now
        if applied is not None:
            state.applied.append(applied)
        self.write(state)

    def unjudged_edits(self) -> bool:
        """Files changed since labkit last wrote them, and no check has seen them as they are."""
        if not self.exists:
            return False
        state = self.read()
        return fingerprint(self.path) not in (state.written, state.judged)

    def move_to_history(self) -> Path:
        """Move the work dir aside, never deleting it; returns where it went."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.parent / HISTORY_DIR / self.path.name / stamp
        suffix = 1
        while target.exists():  # two resets within a second
            suffix += 1
            target = target.with_name(f"{stamp}-{suffix}")
        target.parent.mkdir(parents=True, exist_ok=True)
        self.path.rename(target)
        return target
