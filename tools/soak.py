"""Run every notebook under nbval COUNT times; print the failures and the slowest notebook.

``make soak COUNT=10``. Exit code 1 when any run failed.
``STRESS=2`` keeps two CPU-bound processes busy meanwhile, as on a loaded CI machine or a laptop
doing other things: timing assumptions that only hold on an idle machine show up here.
``ONLY=04`` picks the notebooks whose name contains it (``ONLY=00,01,02``: any of them); deep dives
run after their notebook.
``PG_BIN=/usr/lib/postgresql/15/bin`` runs every notebook on that PostgreSQL (``LABKIT_PG_BIN``),
``BACKEND=container`` on the container backend (``LABKIT_BACKEND``), ``PG_IMAGE=labkit-postgres:17-trixie``
with that image (``LABKIT_PG_IMAGE``; ci/pg-image/build.sh builds one per major): one cell of the version
matrix (README, "Supported PostgreSQL").
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUSY_LOOP = "while True: pass"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("count", type=int, nargs="?", default=10)
    parser.add_argument("--stress", type=int, default=0, help="CPU-bound processes to run alongside")
    parser.add_argument("--only", default="", help="only notebooks whose name contains one of these, comma-separated")
    parser.add_argument("--pg-bin", default="", help="a PostgreSQL bin folder to run on (LABKIT_PG_BIN)")
    parser.add_argument("--backend", default="", help="local, container or external (LABKIT_BACKEND)")
    parser.add_argument("--image", default="", help="the container backend's image (LABKIT_PG_IMAGE)")
    args = parser.parse_args()
    wanted = [part for part in args.only.split(",") if part] or [""]
    notebooks = [nb for nb in workbook() if any(part in nb.name for part in wanted)]
    if not notebooks:
        print(f"no notebook name contains {args.only!r}", file=sys.stderr)
        return 2
    busy = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(args.stress)]
    try:
        failures, times = soak(notebooks, args.count, environment(args.pg_bin, args.backend, args.image))
    finally:
        for process in busy:
            process.kill()
            process.wait()
    slowest = max(times, key=lambda name: max(times[name]))
    load = f" with {args.stress} busy process(es) alongside" if args.stress else ""
    chosen = (("LABKIT_PG_BIN", args.pg_bin), ("LABKIT_BACKEND", args.backend), ("LABKIT_PG_IMAGE", args.image))
    on = ", ".join(f"{k}={v}" for k, v in chosen if v)
    load += f" on {on}" if on else ""
    print(
        f"\n{len(failures)} failed of {args.count * len(notebooks)} notebook runs{load}; slowest: {slowest} "
        f"(max {max(times[slowest]):.1f} s)"
    )
    for failure in failures:
        print("\n" + failure)
    return 1 if failures else 0


def workbook() -> list[Path]:
    """Every notebook in reading order, each followed by its deep dives (01a after 01, ...)."""
    deep_dives = sorted((ROOT / "notebooks" / "deep-dives").glob("*.ipynb"))
    ordered: list[Path] = []
    for notebook in sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")):
        ordered.append(notebook)
        ordered += [dive for dive in deep_dives if dive.name[:2] == notebook.name[:2]]
    return ordered


def environment(pg_bin: str, backend: str, image: str) -> dict[str, str]:
    env = dict(os.environ)
    for name, value in (("LABKIT_PG_BIN", pg_bin), ("LABKIT_BACKEND", backend), ("LABKIT_PG_IMAGE", image)):
        if value:
            env[name] = value
    return env


def soak(notebooks: list[Path], count: int, env: dict[str, str]) -> tuple[list[str], dict[str, list[float]]]:
    times: dict[str, list[float]] = defaultdict(list)
    failures: list[str] = []
    for round_ in range(1, count + 1):
        for notebook in notebooks:
            began = time.perf_counter()
            result = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", str(notebook.relative_to(ROOT))],
                cwd=ROOT,
                capture_output=True,
                text=True,
                env=env,
            )
            seconds = time.perf_counter() - began
            times[notebook.name].append(seconds)
            verdict = "ok" if result.returncode == 0 else "FAILED"
            print(f"round {round_:>2}  {notebook.name:<44} {seconds:6.1f} s  {verdict}", flush=True)
            if result.returncode != 0:
                failures.append(f"round {round_}: {notebook.name}\n{result.stdout[-2000:]}")
    return failures, times


if __name__ == "__main__":
    sys.exit(main())
