"""A real Jupyter kernel with a server and an app, killed with SIGKILL mid-notebook."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from jupyter_client.manager import start_new_kernel

from support import alive, left_after, run_cell

pytestmark = pytest.mark.integration

CELL = """
import json, labkit
pg = labkit.postgres("local")
lab = labkit.Lab("00-hello", pg=pg, workdir={workdir!r})
srv = lab.serve(ready_path="/health")
print(json.dumps({{"kernel": __import__("os").getpid(), "pids": [pg.server.process.pid, srv.pid],
                  "dirs": [str(pg.server.root), str(srv.log_dir)]}}))
"""


def test_sigkilled_kernel_leaves_nothing(tmp_path: Path) -> None:
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    try:
        started = json.loads(run_cell(client, CELL.format(workdir=str(tmp_path / "work"))).strip().splitlines()[-1])
    finally:
        client.stop_channels()
    assert all(alive(pid) for pid in started["pids"])
    # as when Jupyter kills a kernel: SIGKILL to the kernel's process group
    os.killpg(os.getpgid(started["kernel"]), signal.SIGKILL)
    manager.cleanup_resources()
    left = left_after(
        10, lambda: [pid for pid in started["pids"] if alive(pid)] + [d for d in started["dirs"] if Path(d).exists()]
    )
    assert left == [], f"left behind 10 s after the kernel was killed: {left}"
