"""Run every notebook under nbval COUNT times; print the failures and the slowest notebook.

``make soak COUNT=10``. Exit code 1 when any run failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("count", type=int, nargs="?", default=10)
    args = parser.parse_args()
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    times: dict[str, list[float]] = defaultdict(list)
    failures: list[str] = []
    for round_ in range(1, args.count + 1):
        for notebook in notebooks:
            began = time.perf_counter()
            result = subprocess.run([sys.executable, "-m", "pytest", "-q", str(notebook.relative_to(ROOT))],
                                    cwd=ROOT, capture_output=True, text=True)
            seconds = time.perf_counter() - began
            times[notebook.name].append(seconds)
            verdict = "ok" if result.returncode == 0 else "FAILED"
            print(f"round {round_:>2}  {notebook.name:<40} {seconds:6.1f} s  {verdict}", flush=True)
            if result.returncode != 0:
                failures.append(f"round {round_}: {notebook.name}\n{result.stdout[-2000:]}")
    slowest = max(times, key=lambda name: max(times[name]))
    print(f"\n{len(failures)} failed of {args.count * len(notebooks)} notebook runs; slowest: {slowest} "
          f"(max {max(times[slowest]):.1f} s)")
    for failure in failures:
        print("\n" + failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
