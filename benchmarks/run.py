"""Benchmarks with targets: ``make bench`` (or ``python benchmarks/run.py --runs 5``).

Prints one table of medians over several runs:
- local PostgreSQL ready: from ``labkit.postgres("local")`` to the first answered query,
  in a fresh process each run (the template data dir is warm after the first ever run);
- container PostgreSQL ready, when a Docker engine answers and the image is there;
- each notebook's "Run All" wall time and the peak memory of its whole process tree (PSS, and RSS)
  (kernel, PostgreSQL, uvicorn), sampled every 50 ms; their sum is the whole suite;
- the doctor's scan speed on a generated tree (benchmarks/doctor_speed.py).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
READY_PROBE = """
import time, labkit
began = time.perf_counter()
pg = labkit.postgres({backend!r})
pg.query("select 1")
print(time.perf_counter() - began)
"""


def ready_seconds(backend: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", READY_PROBE.format(backend=backend)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return float(out.stdout.strip().splitlines()[-1])


def tree_memory(proc: psutil.Process) -> tuple[int, int]:
    """RSS and PSS summed over a process tree.

    RSS counts a shared page once per process that maps it (PostgreSQL's shared buffers, the
    Python libraries every child loads), so its sum overstates; PSS splits each shared page
    between its users, so its sum is what the tree really costs, which is what a container's
    memory limit (Binder's 1-2 GB) holds it to.
    """
    rss = pss = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            info = p.memory_full_info()
        except psutil.Error:
            continue
        rss += info.rss
        pss += getattr(info, "pss", info.rss)  # PSS is Linux-only; elsewhere RSS is the estimate
    return rss, pss


def run_notebook(name: str) -> tuple[float, int, int]:
    """Wall time, peak tree RSS and peak tree PSS of executing one notebook, as nbval would."""
    with tempfile.TemporaryDirectory() as out:
        command = [
            sys.executable,
            "-m",
            "jupyter",
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            "--output-dir",
            out,
            str(ROOT / "notebooks" / name),
        ]
        began = time.perf_counter()
        proc = subprocess.Popen(command, cwd=ROOT / "notebooks", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        watched = psutil.Process(proc.pid)
        peak_rss = peak_pss = 0
        while proc.poll() is None:
            rss, pss = tree_memory(watched)
            peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
            time.sleep(0.05)
        if proc.returncode != 0:
            raise SystemExit(f"{name} failed to execute (exit {proc.returncode})")
        return time.perf_counter() - began, peak_rss, peak_pss


def docker_image_ready() -> bool:
    """A Docker engine answers and labkit's image is on it (LABKIT_PG_IMAGE, else the README's default)."""
    try:
        import docker

        client = docker.from_env(timeout=5)
        client.images.get(os.environ.get("LABKIT_PG_IMAGE", "postgres:16-alpine"))
        client.close()
        return True
    except Exception:
        return False


def doctor_speed() -> tuple[float, float]:
    """Lines per second of the doctor's scan: on the wall clock, and on CPU time (steadier on a shared machine)."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "doctor_speed.py"), "--runs", "3"],
        capture_output=True,
        text=True,
        timeout=600,
    ).stdout
    speeds = []
    for pattern in (r"^median: ([\d,]+) lines/s", r"^median on CPU time \(all processes\): ([\d,]+) lines/s"):
        found = re.search(pattern, out, re.M)
        speeds.append(float(found.group(1).replace(",", "")) if found else float("nan"))
    return speeds[0], speeds[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs per server-readiness row")
    parser.add_argument("--notebook-runs", type=int, default=1, help="runs per notebook row")
    parser.add_argument("--notebooks", nargs="*", help="notebook file names (default: all)")
    args = parser.parse_args()
    notebooks = args.notebooks or sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))

    ready_seconds("local")  # warm the template data dir; not counted
    rows = [
        ("local PostgreSQL ready", statistics.median(ready_seconds("local") for _ in range(args.runs)), "s", "<= 1.0")
    ]
    if docker_image_ready():
        rows.append(
            (
                "container PostgreSQL ready",
                statistics.median(ready_seconds("container") for _ in range(max(args.runs // 2, 1))),
                "s",
                "report",
            )
        )
    else:
        rows.append(("container PostgreSQL ready", float("nan"), "s", "skipped: no Docker engine or image"))
    total = 0.0
    for name in notebooks:
        runs = [run_notebook(name) for _ in range(args.notebook_runs)]
        seconds = statistics.median(r[0] for r in runs)
        total += seconds
        rows.append((f"{name} Run All", seconds, "s", "<= 60"))
        rows.append((f"{name} peak memory (PSS)", statistics.median(r[2] for r in runs) / 2**20, "MiB", "<= 1024"))
        rows.append((f"{name} peak RSS sum", statistics.median(r[1] for r in runs) / 2**20, "MiB", "report"))
    rows.append(("all notebooks, one after another", total, "s", "report"))
    wall, cpu = doctor_speed()
    rows.append(("doctor scan speed", wall, "lines/s", ">= 80000"))
    rows.append(("doctor scan speed on CPU time", cpu, "lines/s", ">= 80000"))

    print(
        f"Backend Lifecycle Lab benchmarks: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"medians of {args.runs} runs (notebooks: {args.notebook_runs})"
    )
    width = max(len(r[0]) for r in rows)
    for label, value, unit, target in rows:
        print(f"  {label:<{width}}  {value:10.2f} {unit:<7} target {target}")


if __name__ == "__main__":
    main()
