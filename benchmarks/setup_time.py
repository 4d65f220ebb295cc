"""Fresh clone to JupyterLab answering: what a learner waits for before the first cell.

    .venv/bin/python benchmarks/setup_time.py                  # uv (warm cache), uv (cold cache), pip
    .venv/bin/python benchmarks/setup_time.py --modes uv-warm pip --runs 3

Each run clones this repository into a new temp dir, runs ``make lab`` there (no browser,
a free port on 127.0.0.1, no token) and polls ``/lab`` until JupyterLab serves it; the clock
starts before ``git clone``. Then JupyterLab is stopped and the clone removed.

The environment is a learner's shell: PYTHONDONTWRITEBYTECODE and VIRTUAL_ENV are dropped. The
load average at the start of each run is printed: on a shared machine it explains outliers.

Modes:
- ``uv-warm``: uv on PATH with its usual cache (a machine that has built the lab before, or
  a workshop machine image prepared the day before);
- ``uv-cold``: uv with an empty cache (UV_CACHE_DIR in a temp dir): every wheel downloaded;
- ``pip``: no uv (``make UV= lab``), pip with its usual cache.

The last run of a uv mode and of pip are compared: the same packages at the same versions
(labkit itself and the installers' own pip/setuptools/wheel aside), or the script fails.
Medians of ``--runs`` (default 3) per mode.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 900.0
LIST_PACKAGES = (
    "import importlib.metadata as m\n"
    "for d in m.distributions(): print(d.metadata['Name'].lower().replace('_', '-'), d.version)\n"
)
INSTALLERS = {"pip", "setuptools", "wheel", "labkit"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answering(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab", timeout=2) as response:
            return response.status == 200 and b"JupyterLab" in response.read()
    except (urllib.error.URLError, OSError):
        return False


def cpu_seconds_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_run(mode: str, scratch: Path, uv: str) -> tuple[float, float, dict[str, str], float]:
    """(seconds to JupyterLab answering, seconds make spent on .venv, packages in .venv, CPU
    seconds of clone, make, installers and JupyterLab until it was stopped)."""
    cpu_before = cpu_seconds_of_children()
    # a learner's shell: Python writes bytecode as it imports (some CI images turn that off, which
    # would make every JupyterLab start recompile its imports)
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "UV_CACHE_DIR", "PYTHONDONTWRITEBYTECODE"}}
    if mode == "uv-cold":
        env["UV_CACHE_DIR"] = str(scratch / "uv-cache")
    clone = scratch / "clone"
    port = free_port()
    lab_args = f"--no-browser --port={port} --ServerApp.ip=127.0.0.1 --IdentityProvider.token="
    log_path = scratch / "make.log"
    began = time.perf_counter()
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    with open(log_path, "w") as log:
        make = subprocess.Popen(
            ["make", f"UV={uv if mode.startswith('uv') else ''}", f"LAB_ARGS={lab_args}", "lab"],
            cwd=clone,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        while not answering(port):
            if make.poll() is not None:
                raise SystemExit(f"{mode}: make lab exited {make.returncode}:\n{log_path.read_text()[-3000:]}")
            if time.perf_counter() - began > TIMEOUT:
                raise SystemExit(f"{mode}: JupyterLab did not answer within {TIMEOUT:.0f} s")
            time.sleep(0.1)
        seconds = time.perf_counter() - began
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGTERM)
            try:
                make.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(make.pid, signal.SIGKILL)
                make.wait()
    cpu = cpu_seconds_of_children() - cpu_before
    built = re.search(r"\.venv ready in (\d+) s", log_path.read_text())
    listing = subprocess.run(
        [str(clone / ".venv" / "bin" / "python"), "-c", LIST_PACKAGES], capture_output=True, text=True, check=True
    ).stdout
    packages = dict(line.split() for line in listing.splitlines())
    return seconds, float(built.group(1)) if built else float("nan"), packages, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--modes", nargs="+", default=["uv-warm", "uv-cold", "pip"], choices=["uv-warm", "uv-cold", "pip"]
    )
    args = parser.parse_args()
    uv = shutil.which("uv") or ""
    if not uv and any(m.startswith("uv") for m in args.modes):
        print("uv is not on PATH (python3 -m pip install --user uv); measuring pip only", file=sys.stderr)
        args.modes = [m for m in args.modes if not m.startswith("uv")]
    results: dict[str, list[tuple[float, float, float]]] = {}
    last: dict[str, dict[str, str]] = {}
    for mode in args.modes:
        for run in range(1, args.runs + 1):
            load = os.getloadavg()[0]
            with tempfile.TemporaryDirectory(prefix="labkit-setup-") as scratch:
                seconds, venv_seconds, packages, cpu = one_run(mode, Path(scratch), uv)
            results.setdefault(mode, []).append((seconds, venv_seconds, cpu))
            last[mode] = packages
            print(
                f"{mode:<8} run {run}: JupyterLab answering {seconds:6.1f} s after git clone "
                f"(.venv {venv_seconds:.0f} s, {cpu:.0f} CPU s, {len(packages)} packages; load average before "
                f"{load:.1f})",
                flush=True,
            )

    print(
        f"\nFresh clone to JupyterLab answering: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"medians of {args.runs}"
    )
    for mode, runs in results.items():
        print(
            f"  {mode:<8} {statistics.median(r[0] for r in runs):6.1f} s   "
            f"(building .venv {statistics.median(r[1] for r in runs):4.0f} s; "
            f"CPU {statistics.median(r[2] for r in runs):4.0f} s; "
            f"runs: {', '.join(f'{r[0]:.1f}' for r in runs)})"
        )
    uv_mode = next((m for m in last if m.startswith("uv")), None)
    if uv_mode and "pip" in last:
        a = {k: v for k, v in last[uv_mode].items() if k not in INSTALLERS}
        b = {k: v for k, v in last["pip"].items() if k not in INSTALLERS}
        if a != b:
            diff = sorted(set(a.items()) ^ set(b.items()))
            print(f"  uv and pip environments differ: {diff}", file=sys.stderr)
            return 1
        print(f"  uv and pip environments: the same {len(a)} packages at the same versions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
