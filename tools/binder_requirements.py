"""Write binder/requirements.txt from requirements.lock (or check that it is in step).

mybinder.org (repo2docker) reads only binder/ once that folder exists, and it installs
binder/requirements.txt before copying the rest of the repository, so that file cannot
``-r ../requirements.lock``: a ``-r`` counts as a local reference and would move the whole
install after the copy, rebuilding it on every commit. It is a copy of the lock's pins
instead, markers kept, comments dropped. The labkit package itself is installed by
binder/postBuild.

    python tools/binder_requirements.py          # rewrite binder/requirements.txt
    python tools/binder_requirements.py --check  # exit 1 when it is out of step
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
TARGET = ROOT / "binder" / "requirements.txt"

HEADER = """\
# Generated from requirements.lock by tools/binder_requirements.py: do not edit by hand.
# The same pins for mybinder.org; binder/postBuild installs labkit itself (--no-deps -e .).
# tests/test_binder.py fails when this file and the lock disagree.
"""


def pins(lock_text: str) -> list[str]:
    """The requirement lines of a uv/pip-compile lock: everything but comments and blanks."""
    lines = []
    for raw in lock_text.splitlines():
        # uv writes "# via" notes indented under each pin; pins start in column 0
        if not raw.strip() or raw.lstrip().startswith("#") or raw[0].isspace():
            continue
        lines.append(raw.strip())
    return lines


def render(lock_text: str) -> str:
    return HEADER + "".join(line + "\n" for line in pins(lock_text))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when out of step")
    args = parser.parse_args()
    wanted = render(LOCK.read_text())
    current = TARGET.read_text() if TARGET.exists() else ""
    if args.check:
        if current != wanted:
            print(f"{TARGET.relative_to(ROOT)} is out of step with requirements.lock; "
                  "run: python tools/binder_requirements.py", file=sys.stderr)
            return 1
        return 0
    if current != wanted:
        TARGET.write_text(wanted)
        print(f"wrote {TARGET.relative_to(ROOT)} ({len(pins(wanted))} pins)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
