"""Run every notebook under nbval COUNT times; print the failures and the slowest notebook.

``make soak COUNT=10``. Exit code 1 when any run failed.
``STRESS=2`` keeps two CPU-bound processes busy meanwhile, as on a loaded CI machine or a laptop
doing other things: timing assumptions that only hold on an idle machine show up here.
``ONLY=04`` picks the notebooks whose name contains it.
"""

from __future__ import annotations

import argparse
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
    parser.add_argument("--only", default="", help="only notebooks whose file name contains this")
    args = parser.parse_args()
    notebooks = [nb for nb in sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")) if args.only in nb.name]
    if not notebooks:
        print(f"no notebook name contains {args.only!r}", file=sys.stderr)
        return 2
    busy = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(args.stress)]
    try:
        failures, times = soak(notebooks, args.count)
    finally:
        for process in busy:
            process.kill()
            process.wait()
    slowest = max(times, key=lambda name: max(times[name]))
    load = f" with {args.stress} busy process(es) alongside" if args.stress else ""
    print(
        f"\n{len(failures)} failed of {args.count * len(notebooks)} notebook runs{load}; slowest: {slowest} "
        f"(max {max(times[slowest]):.1f} s)"
    )
    for failure in failures:
        print("\n" + failure)
    return 1 if failures else 0


def soak(notebooks: list[Path], count: int) -> tuple[list[str], dict[str, list[float]]]:
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
            )
            seconds = time.perf_counter() - began
            times[notebook.name].append(seconds)
            verdict = "ok" if result.returncode == 0 else "FAILED"
            print(f"round {round_:>2}  {notebook.name:<40} {seconds:6.1f} s  {verdict}", flush=True)
            if result.returncode != 0:
                failures.append(f"round {round_}: {notebook.name}\n{result.stdout[-2000:]}")
    return failures, times


if __name__ == "__main__":
    sys.exit(main())
