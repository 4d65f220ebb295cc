"""A real JupyterHub on loopback serving the workbook to a small room (deploy/hub/).

The hub runs deploy/hub/jupyterhub_config.py as an instructor would (shared-password login,
a server per learner in a home of their own, the Python configurable-http-proxy), on free
127.0.0.1 ports. Three learners log in through the hub's login form, start their servers,
pull the notebooks with the nbgitpuller link tools/binder_link.py prints (from a clone of
this repository, as from GitHub), and run every cell of notebook 00 in a kernel their own
server starts, over the kernel websocket, as JupyterLab does. Then the test checks that
nothing is shared: each learner's PostgreSQL is a different server (port, data dir,
process), their work dirs are in their own homes, and stopping a learner's server leaves
none of their processes behind.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat
import psutil
import pytest
import requests
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

pytestmark = pytest.mark.integration  # a real JupyterHub, single-user servers, kernels and PostgreSQL

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "deploy" / "hub" / "jupyterhub_config.py"
LEARNERS = ["ada", "grace", "linus"]
PASSWORD = "workshop-password-for-tests"
NOTEBOOK = "backend-lifecycle-lab/notebooks/00-setup.ipynb"
# run after notebook 00 in the same kernel: where this learner's PostgreSQL and work are
PROBE = """\
import json, os, labkit
pg = labkit.postgres()
row = pg.query("select inet_server_port(), current_setting('data_directory'), pg_backend_pid()")[0]
print("PROBE " + json.dumps({"backend": pg.backend, "port": row[0], "data_directory": row[1],
                             "home": os.environ["HOME"], "cwd": os.getcwd(),
                             "postmaster": int(open(os.path.join(row[1], "postmaster.pid")).readline())}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Hub:
    url: str
    process: subprocess.Popen[bytes]
    homes: Path
    log: Path
    repo: Path


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    if shutil.which("configurable-http-proxy", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("jupyterhub and configurable-http-proxy are missing: install the pinned environment (make test)")
    base = tmp_path_factory.mktemp("hub")
    homes = base / "homes"
    homes.mkdir()
    # the "GitHub" the nbgitpuller links point at: a clone of this repository's committed state
    repo = base / "backend-lifecycle-lab"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{ROOT}", str(repo)], check=True)
    port, proxy_api, hub_api = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "LABKIT_HUB_PASSWORD": PASSWORD,
        "LABKIT_HUB_URL": f"http://127.0.0.1:{port}",
        "LABKIT_HUB_PROXY_API": f"http://127.0.0.1:{proxy_api}",
        "LABKIT_HUB_HOMES": str(homes),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "LABKIT_PROGRESS": "0",
    }
    env.pop("LABKIT_BACKEND", None)  # the config sets the learners' backend (local), not this shell
    log = base / "hub.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("jupyterhub")), "-f", str(CONFIG), f"--JupyterHub.hub_port={hub_api}"],
            cwd=base,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{url}/hub/api/", timeout=2).ok:
                break
        except requests.ConnectionError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the hub did not answer within 60 s:\n{log.read_text()[-4000:]}")
        time.sleep(0.2)
    yield Hub(url, process, homes, log, repo)
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def login(hub: Hub, name: str) -> requests.Session:
    """The login form, as a browser fills it; the session then carries the hub's cookies."""
    session = requests.Session()
    page = session.get(f"{hub.url}/hub/login", timeout=10)
    xsrf = session.cookies.get("_xsrf") or re.search(r'name="_xsrf" value="([^"]+)"', page.text)[1]
    done = session.post(
        f"{hub.url}/hub/login?next=",
        data={"username": name, "password": PASSWORD, "_xsrf": xsrf},
        timeout=120,
        allow_redirects=False,
    )
    assert done.status_code == 302, f"login of {name} refused ({done.status_code}): {done.text[:400]}"
    return session


def start_server(hub: Hub, session: requests.Session, name: str) -> str:
    """Spawn through the hub (as the "Start My Server" button does) and wait until it answers;
    returns a token for the learner's own server API."""
    xsrf = session.cookies.get("_xsrf", path="/hub/")
    headers = {"X-XSRFToken": xsrf} if xsrf else {}
    token = session.post(
        f"{hub.url}/hub/api/users/{name}/tokens", json={"note": "test", "expires_in": 3600}, headers=headers, timeout=10
    )
    assert token.ok, token.text
    auth = {"Authorization": f"token {token.json()['token']}"}
    started = requests.post(f"{hub.url}/hub/api/users/{name}/server", headers=auth, timeout=120)
    assert started.status_code in (201, 202), started.text
    deadline = time.monotonic() + 120
    while not requests.get(f"{hub.url}/user/{name}/api/status", headers=auth, timeout=10).ok:
        assert time.monotonic() < deadline, f"{name}'s server did not answer:\n{hub.log.read_text()[-3000:]}"
        time.sleep(0.5)
    return auth["Authorization"]


def git_pull(hub: Hub, name: str, auth: str) -> None:
    """nbgitpuller's own endpoint behind the link: it streams the pull's progress and ends."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from binder_link import hub_url
    finally:
        sys.path.remove(str(ROOT / "tools"))
    link = hub_url(hub.url, f"file://{hub.repo}", "HEAD", "notebooks/00-setup.ipynb")
    query = urllib.parse.urlparse(link).query
    params = urllib.parse.parse_qs(query)
    api = f"{hub.url}/user/{name}/git-pull/api?" + urllib.parse.urlencode(
        {"repo": params["repo"][0], "targetpath": "backend-lifecycle-lab"}
    )
    with requests.get(api, headers={"Authorization": auth}, stream=True, timeout=120) as stream:
        events = [json.loads(line[5:]) for line in stream.iter_lines(decode_unicode=True) if line.startswith("data:")]
    assert events and events[-1].get("phase") == "finished", f"{name}'s pull: {events[-3:]}"


async def run_cells(hub: Hub, name: str, auth: str, cells: list[str]) -> tuple[list[str], list[str]]:
    """Start a kernel for notebook 00 in the learner's server and execute each cell over the
    websocket; (errors, stdout) of the run."""
    session = requests.post(
        f"{hub.url}/user/{name}/api/sessions",
        headers={"Authorization": auth},
        timeout=60,
        json={"path": NOTEBOOK, "type": "notebook", "name": "", "kernel": {"name": "python3"}},
    )
    assert session.ok, session.text
    kernel = session.json()["kernel"]["id"]
    ws_url = hub.url.replace("http", "ws", 1) + f"/user/{name}/api/kernels/{kernel}/channels"
    ws = await websocket_connect(HTTPRequest(ws_url, headers={"Authorization": auth}), max_message_size=2**26)
    errors: list[str] = []
    out: list[str] = []
    sid = uuid.uuid4().hex
    try:
        for code in cells:
            msg_id = uuid.uuid4().hex
            await ws.write_message(
                json.dumps(
                    {
                        "header": {
                            "msg_id": msg_id,
                            "username": name,
                            "session": sid,
                            "msg_type": "execute_request",
                            "version": "5.3",
                            "date": "",
                        },
                        "parent_header": {},
                        "metadata": {},
                        "buffers": [],
                        "channel": "shell",
                        "content": {
                            "code": code,
                            "silent": False,
                            "store_history": True,
                            "user_expressions": {},
                            "allow_stdin": False,
                            "stop_on_error": True,
                        },
                    }
                )
            )
            replied = idle = False
            while not (replied and idle):
                raw = await asyncio.wait_for(ws.read_message(), timeout=300)
                assert raw is not None, "the kernel websocket closed"
                msg = json.loads(raw)
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind = msg["header"]["msg_type"]
                if kind == "error":
                    errors.append("\n".join(msg["content"]["traceback"])[-2000:])
                elif kind == "stream" and msg["content"]["name"] == "stdout":
                    out.append(msg["content"]["text"])
                elif kind == "execute_reply":
                    replied = True
                elif kind == "status" and msg["content"]["execution_state"] == "idle":
                    idle = True
            if errors:
                break
    finally:
        ws.close()
    return errors, out


def test_a_room_of_three_runs_notebook_00_each_in_their_own_server(hub: Hub) -> None:
    notebook = nbformat.read(hub.repo / "notebooks" / "00-setup.ipynb", as_version=4)
    cells = [cell.source for cell in notebook.cells if cell.cell_type == "code"] + [PROBE]

    def arrive(name: str) -> str:  # log in, start the server, click the link: all at once, as a room does
        auth = start_server(hub, login(hub, name), name)
        git_pull(hub, name, auth)
        assert (hub.homes / name / NOTEBOOK).is_file()
        return auth

    began = time.monotonic()
    with ThreadPoolExecutor(len(LEARNERS)) as pool:
        auths = dict(zip(LEARNERS, pool.map(arrive, LEARNERS), strict=True))
    arrived = time.monotonic() - began

    async def room() -> list[tuple[list[str], list[str]]]:  # all three at once, as in a room
        return await asyncio.gather(*(run_cells(hub, name, auths[name], cells) for name in LEARNERS))

    began = time.monotonic()
    results = asyncio.run(room())
    seconds = time.monotonic() - began
    probes = {}
    for name, (errors, out) in zip(LEARNERS, results, strict=True):
        assert not errors, f"{name}'s notebook 00 failed:\n{errors[0]}"
        found = [line for line in "".join(out).splitlines() if line.startswith("PROBE ")]
        assert found, f"{name}: no probe output"
        probes[name] = json.loads(found[-1][6:])
    print(
        f"\n3 learners logged in, got their servers and pulled the notebooks in {arrived:.1f} s, then ran "
        f"notebook 00 at once in {seconds:.1f} s: "
        + "; ".join(
            f"{n}: PostgreSQL {p['backend']} on port {p['port']}, pid {p['postmaster']}" for n, p in probes.items()
        )
    )

    # nothing shared: three servers, three data dirs, three homes
    assert len({p["port"] for p in probes.values()}) == 3
    assert len({p["data_directory"] for p in probes.values()}) == 3
    assert len({p["postmaster"] for p in probes.values()}) == 3
    for name, probe in probes.items():
        assert probe["backend"] == "local"
        assert probe["home"] == str(hub.homes / name)
        assert probe["cwd"] == str(hub.homes / name / "backend-lifecycle-lab" / "notebooks")
        assert (hub.homes / name / "backend-lifecycle-lab" / "notebooks" / "work" / "00-hello").is_dir()

    # a learner's server stopped through the hub takes their kernel and PostgreSQL along; the
    # others keep theirs
    first, *others = LEARNERS
    stopped = requests.delete(
        f"{hub.url}/hub/api/users/{first}/server", headers={"Authorization": auths[first]}, timeout=60
    )
    assert stopped.status_code in (202, 204), stopped.text
    deadline = time.monotonic() + 30
    while psutil.pid_exists(probes[first]["postmaster"]):
        assert time.monotonic() < deadline, f"{first}'s PostgreSQL outlived their server by 30 s"
        time.sleep(0.2)
    assert all(psutil.pid_exists(probes[name]["postmaster"]) for name in others)
    for name in others:
        assert requests.delete(
            f"{hub.url}/hub/api/users/{name}/server", headers={"Authorization": auths[name]}, timeout=60
        ).status_code in (202, 204)
    deadline = time.monotonic() + 30
    while any(psutil.pid_exists(probes[name]["postmaster"]) for name in others):
        assert time.monotonic() < deadline, "a PostgreSQL outlived its learner's server by 30 s"
        time.sleep(0.2)
