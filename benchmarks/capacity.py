"""How many learners one machine holds: N learners doing Run All of one notebook at once.

    .venv/bin/python benchmarks/capacity.py                       # N = 1 2 4 8 16, notebook 05
    .venv/bin/python benchmarks/capacity.py --learners 4 8 --notebook 07-connection-pool.ipynb
    make capacity LEARNERS="1 2 4"

Each learner is what a JupyterHub (or Binder) gives one person: a copy of notebooks/ of their
own (their work dir, their progress), a notebook process (nbclient, standing in for the
single-user server) and its kernel, which starts its own PostgreSQL and its own uvicorn apps
through labkit, as on Binder. All N start at the same moment and run every cell, as a room
does when the instructor says "Run All"; that is the worst case of a workshop.

Reported per N: how many learners' Run All succeeded, Run All wall time p50/p95, peak memory
per learner (PSS of the learner's whole process tree: runner, kernel, PostgreSQL, uvicorn;
PSS splits shared pages between their users, which is what a container's memory limit
charges), and the peak of all learners together. A failure is printed with the failing cell:
under contention it is a bug (a timing assumption), not a number.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_NOTEBOOK = "05-async-session-pitfalls.ipynb"

RUNNER = """\
import json, sys, time, traceback
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

path = Path(sys.argv[1]).resolve()
notebook = nbformat.read(path, as_version=4)
began = time.perf_counter()
try:
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    result = {"ok": True}
except CellExecutionError as exc:
    result = {"ok": False, "error": str(exc)[-3000:]}
except Exception:
    result = {"ok": False, "error": traceback.format_exc()[-3000:]}
result["seconds"] = time.perf_counter() - began
print("RESULT " + json.dumps(result), flush=True)
"""

WARM = "import labkit; pg = labkit.postgres('local'); pg.query('select 1'); pg.close()"


@dataclass
class Learner:
    index: int
    home: Path
    process: subprocess.Popen[bytes] | None = None
    peak_pss: int = 0
    result: dict = field(default_factory=dict)


def tree_pss(proc: psutil.Process, seen: dict[int, float]) -> int:
    """PSS summed over a process tree; every member is remembered in ``seen`` (pid -> start time)."""
    total = 0
    try:
        members = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for member in members:
        try:
            info = member.memory_full_info()
            total += getattr(info, "pss", info.rss)
            seen.setdefault(member.pid, member.create_time())
        except psutil.Error:
            pass
    return total


def percentile(values: list[float], q: float) -> float:
    """Nearest rank: the smallest value with at least q of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def run_room(n: int, notebook: str, scratch: Path, seen: dict[int, float]) -> tuple[list[Learner], int, float]:
    """N learners at once; the learners, the peak PSS of all of them together, CPU use (%).
    Every process of their trees is remembered in ``seen``."""
    runner = scratch / "runner.py"
    runner.write_text(RUNNER)
    learners = []
    for i in range(n):
        home = scratch / f"learner-{i + 1:02d}"
        shutil.copytree(
            ROOT / "notebooks",
            home / "notebooks",
            ignore=shutil.ignore_patterns("work", ".ipynb_checkpoints", "__pycache__"),
        )
        (home / "tmp").mkdir()
        learners.append(Learner(i + 1, home))
    for learner in learners:
        env = {
            **os.environ,
            "TMPDIR": str(learner.home / "tmp"),
            "LABKIT_SCENARIOS": str(learner.home / "notebooks" / "scenarios"),
            "LABKIT_BACKEND": "local",
            "LABKIT_PROGRESS": "0",
            "MPLBACKEND": "Agg",
        }
        with open(learner.home / "runner.log", "wb") as log:
            learner.process = subprocess.Popen(
                [sys.executable, str(runner), str(learner.home / "notebooks" / notebook)],
                cwd=learner.home / "notebooks",
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
    watched = {learner.index: psutil.Process(learner.process.pid) for learner in learners if learner.process}
    peak_total = 0
    psutil.cpu_percent()
    while any(learner.process and learner.process.poll() is None for learner in learners):
        total = 0
        for learner in learners:
            if learner.process and learner.process.poll() is None:
                pss = tree_pss(watched[learner.index], seen)
                learner.peak_pss = max(learner.peak_pss, pss)
                total += pss
        peak_total = max(peak_total, total)
        time.sleep(0.2)
    cpu = psutil.cpu_percent()
    for learner in learners:
        lines = [
            line
            for line in (learner.home / "runner.log").read_text(errors="replace").splitlines()
            if line.startswith("RESULT ")
        ]
        learner.result = (
            json.loads(lines[-1][7:])
            if lines
            else {
                "ok": False,
                "seconds": float("nan"),
                "error": (learner.home / "runner.log").read_text(errors="replace")[-3000:],
            }
        )
    return learners, peak_total, cpu


def stragglers(seen: dict[int, float]) -> list[str]:
    """Processes of the learners' trees (kernels, PostgreSQL, uvicorn, watchdogs) still running."""
    left = []
    for pid, started in seen.items():
        try:
            proc = psutil.Process(pid)
            if proc.create_time() == started and proc.status() != psutil.STATUS_ZOMBIE:
                left.append(f"{pid} {' '.join(proc.cmdline())[:120]}")
        except psutil.Error:
            pass
    return left


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", nargs="+", type=int, default=[1, 2, 4, 8, 16])
    parser.add_argument("--notebook", default=DEFAULT_NOTEBOOK)
    args = parser.parse_args()
    if not (ROOT / "notebooks" / args.notebook).is_file():
        print(f"no notebooks/{args.notebook}", file=sys.stderr)
        return 2
    subprocess.run([sys.executable, "-c", WARM], check=True, env={**os.environ, "LABKIT_PROGRESS": "0"})

    memory = psutil.virtual_memory().total
    rows = []
    failures = []
    for n in args.learners:
        seen: dict[int, float] = {}
        with tempfile.TemporaryDirectory(prefix="labkit-capacity-") as tmp:
            learners, peak_total, cpu = run_room(n, args.notebook, Path(tmp), seen)
            deadline = time.monotonic() + 15
            while (left := stragglers(seen)) and time.monotonic() < deadline:
                time.sleep(0.5)
            if left:
                failures.append(f"N={n}: processes left running after the kernels exited: {left}")
        ok = [lr for lr in learners if lr.result.get("ok")]
        seconds = [lr.result["seconds"] for lr in ok]
        peaks = [lr.peak_pss / 2**20 for lr in learners]
        row = {
            "n": n,
            "ok": len(ok),
            "p50": statistics.median(seconds) if seconds else float("nan"),
            "p95": percentile(seconds, 0.95) if seconds else float("nan"),
            "pss_median": statistics.median(peaks),
            "pss_max": max(peaks),
            "total": peak_total / 2**20,
            "cpu": cpu,
        }
        rows.append(row)
        print(
            f"N={n:>2}: {row['ok']}/{n} ok, Run All p50 {row['p50']:.1f} s p95 {row['p95']:.1f} s, "
            f"peak PSS per learner median {row['pss_median']:.0f} MiB max {row['pss_max']:.0f} MiB, "
            f"all together {row['total']:.0f} MiB, CPU {cpu:.0f}%",
            flush=True,
        )
        for lr in learners:
            if not lr.result.get("ok"):
                failures.append(f"N={n}, learner {lr.index}:\n{lr.result.get('error', '')}")

    print(
        f"\nCapacity: {args.notebook}, {os.cpu_count()} cores, {memory / 2**30:.0f} GiB, "
        f"Python {sys.version.split()[0]}, local PostgreSQL per learner, all learners start Run All together"
    )
    print(
        "| learners | Run All ok | p50 (s) | p95 (s) | peak PSS per learner, median / max (MiB) "
        "| peak PSS, all learners (MiB) | CPU busy |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['n']} | {r['ok']}/{r['n']} | {r['p50']:.1f} | {r['p95']:.1f} | "
            f"{r['pss_median']:.0f} / {r['pss_max']:.0f} | {r['total']:.0f} | {r['cpu']:.0f}% |"
        )
    for failure in failures:
        print("\nFAILED " + failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
