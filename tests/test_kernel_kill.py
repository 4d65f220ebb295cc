"""A real Jupyter kernel with a server and an app, killed with SIGKILL mid-notebook."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import psutil
from jupyter_client.manager import start_new_kernel

CELL = """
import json, labkit
pg = labkit.postgres("local")
lab = labkit.Lab("00-hello", pg=pg, workdir={workdir!r})
srv = lab.serve(ready_path="/health")
print(json.dumps({{"kernel": __import__("os").getpid(), "pids": [pg.server.process.pid, srv.pid],
                  "dirs": [str(pg.server.root), str(srv.log_dir)]}}))
"""


def run_cell(client, code: str) -> str:
    out: list[str] = []

    def keep(msg) -> None:
        if msg["header"]["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["header"]["msg_type"] == "error":
            out.append("\n".join(msg["content"]["traceback"]))

    client.execute_interactive(code, timeout=120, output_hook=keep)
    return "".join(out)


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_sigkilled_kernel_leaves_nothing(tmp_path: Path) -> None:
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    try:
        started = json.loads(run_cell(client, CELL.format(workdir=str(tmp_path / "work"))).strip().splitlines()[-1])
    finally:
        client.stop_channels()
    assert all(running(pid) for pid in started["pids"])
    # as when Jupyter kills a kernel: SIGKILL to the kernel's process group
    os.killpg(os.getpgid(started["kernel"]), signal.SIGKILL)
    manager.cleanup_resources()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = [pid for pid in started["pids"] if running(pid)] + [d for d in started["dirs"] if Path(d).exists()]
        if not left:
            break
        time.sleep(0.2)
    assert left == [], f"left behind 10 s after the kernel was killed: {left}"
