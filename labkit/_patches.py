"""Unified diffs: parse them and apply them exactly, or not at all.

Steps are stored as git-style unified diffs (``--- a/path`` / ``+++ b/path``,
``/dev/null`` for created and deleted files). Applying is strict: every
context and removed line must match, so a step never lands on a tree it was
not written for. New contents are computed for every file before any is
written, so a failed apply leaves the tree as it was.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class PatchMismatch(Exception):
    """The tree does not hold what the diff expects."""

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        super().__init__(f"{path}: {detail}")


@dataclass
class Hunk:
    old_start: int
    lines: list[str] = field(default_factory=list)  # each begins with " ", "-" or "+"

    def old(self) -> list[str]:
        return [line[1:] for line in self.lines if line[:1] in (" ", "-")]

    def new(self) -> list[str]:
        return [line[1:] for line in self.lines if line[:1] in (" ", "+")]


@dataclass
class FilePatch:
    old_path: str | None  # None: the file is created
    new_path: str | None  # None: the file is deleted
    hunks: list[Hunk] = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or ""


def _strip_prefix(raw: str) -> str | None:
    name = raw.split("\t", 1)[0].strip()
    if name == "/dev/null":
        return None
    return name[2:] if name.startswith(("a/", "b/")) else name


def parse(text: str) -> list[FilePatch]:
    """Parse a unified diff of one or more files."""
    patches: list[FilePatch] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            patches.append(FilePatch(_strip_prefix(line[4:]), _strip_prefix(lines[i + 1][4:])))
            i += 2
            continue
        match = HUNK_HEADER.match(line)
        if match and patches:
            hunk = Hunk(int(match.group(1)))
            old_left = int(match.group(2) if match.group(2) is not None else 1)
            new_left = int(match.group(4) if match.group(4) is not None else 1)
            i += 1
            while i < len(lines) and (old_left > 0 or new_left > 0):
                body = lines[i]
                if body.startswith("\\"):  # "\ No newline at end of file"
                    i += 1
                    continue
                body = body or " "  # an empty context line whose space was trimmed
                hunk.lines.append(body)
                old_left -= body[0] in " -"
                new_left -= body[0] in " +"
                i += 1
            patches[-1].hunks.append(hunk)
            continue
        i += 1
    return patches


def _apply_hunks(path: str, original: list[str], hunks: list[Hunk]) -> list[str]:
    result: list[str] = []
    cursor = 0
    for hunk in hunks:
        old = hunk.old()
        start = max(hunk.old_start - 1, 0) if old else hunk.old_start
        if original[start : start + len(old)] != old:
            found = next(
                (s for s in range(cursor, len(original) - len(old) + 1) if original[s : s + len(old)] == old),
                None,
            )
            if found is None:
                raise PatchMismatch(path, f"the lines around line {hunk.old_start} are not what this step expects")
            start = found
        result.extend(original[cursor:start])
        result.extend(hunk.new())
        cursor = start + len(old)
    result.extend(original[cursor:])
    return result


def plan(root: Path, patches: list[FilePatch]) -> dict[str, str | None]:
    """New text for every touched file (None: delete), computed without writing."""
    changes: dict[str, str | None] = {}
    for patch in patches:
        target = root / patch.path
        if patch.old_path is None:
            if target.exists():
                raise PatchMismatch(patch.path, "this step creates the file, but it exists already")
            original: list[str] = []
        else:
            if not (root / patch.old_path).is_file():
                raise PatchMismatch(patch.old_path, "this step changes the file, but it is missing")
            original = (root / patch.old_path).read_text().splitlines()
        new_lines = _apply_hunks(patch.path, original, patch.hunks)
        changes[patch.path] = None if patch.new_path is None else "\n".join(new_lines) + "\n"
    return changes


def write(root: Path, changes: dict[str, str | None]) -> None:
    for rel, text in changes.items():
        target = root / rel
        if text is None:
            target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)


def diff_trees(before: Path, after: Path) -> str:
    """A git-style unified diff from one tree to another (for authoring steps)."""
    names = sorted(
        {str(p.relative_to(before)) for p in before.rglob("*") if p.is_file()}
        | {str(p.relative_to(after)) for p in after.rglob("*") if p.is_file()}
    )
    chunks: list[str] = []
    for rel in names:
        old = (before / rel).read_text().splitlines(keepends=True) if (before / rel).is_file() else []
        new = (after / rel).read_text().splitlines(keepends=True) if (after / rel).is_file() else []
        if old == new:
            continue
        chunks.extend(
            difflib.unified_diff(
                old,
                new,
                fromfile=f"a/{rel}" if old or (before / rel).is_file() else "/dev/null",
                tofile=f"b/{rel}" if (after / rel).is_file() else "/dev/null",
            )
        )
    return "".join(chunks)
