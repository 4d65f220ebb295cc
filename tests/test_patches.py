from pathlib import Path

import pytest

from labkit import _patches as patches

pytestmark = pytest.mark.unit


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_diff_trees_round_trips_changes_creations_and_deletions(tmp_path: Path) -> None:
    before, after, work = tmp_path / "before", tmp_path / "after", tmp_path / "work"
    lines = [f"line {i}\n" for i in range(40)]
    write(before, {"a.py": "".join(lines), "gone.py": "x = 1\n"})
    changed = lines.copy()
    changed[3] = "line three\n"
    changed[30:31] = ["inserted\n", "line 30\n"]
    write(after, {"a.py": "".join(changed), "new/b.py": "y = 2\n"})
    write(work, {"a.py": "".join(lines), "gone.py": "x = 1\n"})

    diff = patches.diff_trees(before, after)
    patches.write(work, patches.plan(work, patches.parse(diff)))

    assert (work / "a.py").read_text() == "".join(changed)
    assert (work / "new/b.py").read_text() == "y = 2\n"
    assert not (work / "gone.py").exists()


def test_mismatch_raises_and_writes_nothing(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": "one\ntwo\n", "b.py": "three\n"})
    diff = (
        "--- a/a.py\n+++ b/a.py\n@@ -1,2 +1,2 @@\n-one\n+ONE\n two\n"
        "--- a/b.py\n+++ b/b.py\n@@ -1 +1 @@\n-not what is there\n+x\n"
    )
    with pytest.raises(patches.PatchMismatch, match="b.py"):
        patches.plan(tmp_path, patches.parse(diff))
    assert (tmp_path / "a.py").read_text() == "one\ntwo\n"


def test_creating_a_file_that_exists_is_a_mismatch(tmp_path: Path) -> None:
    write(tmp_path, {"c.py": "here\n"})
    diff = "--- /dev/null\n+++ b/c.py\n@@ -0,0 +1 @@\n+new\n"
    with pytest.raises(patches.PatchMismatch, match="exists already"):
        patches.plan(tmp_path, patches.parse(diff))


def test_hunk_found_when_lines_moved(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": "extra\nextra\none\ntwo\n"})
    diff = "--- a/a.py\n+++ b/a.py\n@@ -1,2 +1,2 @@\n-one\n+ONE\n two\n"
    changes = patches.plan(tmp_path, patches.parse(diff))
    assert changes["a.py"] == "extra\nextra\nONE\ntwo\n"
