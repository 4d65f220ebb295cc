"""Nothing left behind, even when the owner is killed with SIGKILL."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from support import alive, group_members, left_after

pytestmark = pytest.mark.integration

OWNER = textwrap.dedent("""
    import json, os, sys
    import labkit
    pg = labkit.postgres("local")
    lab = labkit.Lab("00-hello", pg=pg, workdir=sys.argv[1])
    srv = lab.serve(ready_path="/health")
    server = pg.server
    print(json.dumps({"pids": [server.process.pid, srv.pid], "dirs": [str(server.root), str(srv.log_dir)]}),
          flush=True)
    sys.stdin.read()  # wait to be killed
""")


def test_sigkilled_owner_leaves_no_postgres_uvicorn_or_temp_dir(tmp_path: Path) -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(tmp_path / "work")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert owner.stdout is not None
    started = json.loads(owner.stdout.readline())
    pids, dirs = started["pids"], [Path(d) for d in started["dirs"]]
    assert all(alive(pid) for pid in pids) and all(d.exists() for d in dirs)

    owner.send_signal(signal.SIGKILL)
    owner.wait()
    leftovers = left_after(10, lambda: [pid for pid in pids if group_members(pid)] + [d for d in dirs if d.exists()])
    assert leftovers == [], f"still there 10 s after SIGKILL: {leftovers}"


def test_normal_exit_cleans_up_without_the_watchdog(tmp_path: Path) -> None:
    code = OWNER.replace("sys.stdin.read()  # wait to be killed", "")
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "work")], capture_output=True, text=True, timeout=60
    )
    started = json.loads(result.stdout.splitlines()[0])
    assert not any(Path(d).exists() for d in started["dirs"])
    assert not any(group_members(pid) for pid in started["pids"])


def test_two_servers_in_parallel_do_not_clash(tmp_path: Path) -> None:
    code = "import labkit; pg = labkit.postgres('local'); print(pg.server.endpoint.port, pg.server.root)"
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=60)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert outputs[0][0] != outputs[1][0] and outputs[0][1] != outputs[1][1]
