"""The live status line: shown to a frontend that takes input (JupyterLab), never to nbval or nbconvert."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from jupyter_client.manager import start_new_kernel

pytestmark = pytest.mark.integration

# A second of work with a detail that counts up, as a load does.
WORK = """
import time
from labkit._status_line import StatusLine
ticks = []
with StatusLine("demo work", lambda: f"{len(ticks)} ticks"):
    for _ in range(10):
        ticks.append(1)
        time.sleep(0.1)
"""


@pytest.fixture(scope="module")
def kernel() -> Iterator:
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def display_messages(client, code: str, *, allow_stdin: bool) -> list[dict]:
    """Run ``code`` as a frontend would; the display messages it produced, in order."""
    msg_id = client.execute(code, allow_stdin=allow_stdin)
    seen = []
    while True:
        msg = client.get_iopub_msg(timeout=30)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind == "error":
            raise AssertionError("\n".join(msg["content"]["traceback"]))
        if kind in ("display_data", "update_display_data"):
            seen.append(msg)
        if kind == "status" and msg["content"]["execution_state"] == "idle":
            return seen


def test_an_interactive_frontend_sees_the_line_update_then_finish(kernel) -> None:
    messages = display_messages(kernel, WORK, allow_stdin=True)
    kinds = [m["msg_type"] for m in messages]
    assert kinds[0] == "display_data" and kinds.count("display_data") == 1, kinds
    assert kinds.count("update_display_data") >= 2, kinds  # ticking, then the final state
    texts = [m["content"]["data"]["text/html"] for m in messages]
    assert "⏳ demo work" in texts[0]
    assert "✓ demo work · 10 ticks" in texts[-1], texts[-1]
    ids = {m["content"]["transient"]["display_id"] for m in messages}
    assert len(ids) == 1, "every update must replace the same line"


def test_unattended_runs_see_nothing(kernel) -> None:
    assert display_messages(kernel, WORK, allow_stdin=False) == []


def test_the_environment_forces_it_on_and_off(kernel) -> None:
    forced_off = "import os; os.environ['LABKIT_STATUS_LINE'] = '0'\n" + WORK
    assert display_messages(kernel, forced_off, allow_stdin=True) == []
    forced_on = "import os; os.environ['LABKIT_STATUS_LINE'] = '1'\n" + WORK
    try:
        assert display_messages(kernel, forced_on, allow_stdin=False), "LABKIT_STATUS_LINE=1 shows the line anyway"
    finally:  # the kernel is shared by the tests of this file
        display_messages(kernel, "import os; os.environ.pop('LABKIT_STATUS_LINE', None)", allow_stdin=False)


def test_a_failure_leaves_a_cross(kernel) -> None:
    failing = WORK.replace("time.sleep(0.1)", "time.sleep(0.1)\n        if len(ticks) == 8: raise ValueError('boom')")
    code = (
        "import os; os.environ.pop('LABKIT_STATUS_LINE', None)\ntry:\n"
        + "\n".join("    " + line for line in failing.strip().splitlines())
        + "\nexcept ValueError:\n    pass\n"
    )
    texts = [m["content"]["data"]["text/html"] for m in display_messages(kernel, code, allow_stdin=True)]
    assert "✗ demo work · 8 ticks" in texts[-1], texts


def test_a_background_load_reports_into_the_cell_that_started_it(kernel) -> None:
    code = """
import os, threading, http.server
os.environ.pop('LABKIT_STATUS_LINE', None)
import labkit
class Quiet(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *args): pass
httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
threading.Thread(target=httpd.serve_forever, daemon=True).start()
result = labkit.load(f"http://127.0.0.1:{httpd.server_address[1]}/ping", requests=20, concurrency=2, rate=25)
httpd.shutdown()
assert result.errors == 0
"""
    texts = [m["content"]["data"]["text/html"] for m in display_messages(kernel, code, allow_stdin=True)]
    assert texts, "a load of almost a second shows a live line"
    assert "✓ load on /ping · 20/20 requests" in texts[-1], texts[-1]


def _run(client, code: str, *, allow_stdin: bool) -> tuple[str, str | None]:
    """Everything ``code`` printed, and the error name it raised (None when it ran through)."""
    msg_id = client.execute(code, allow_stdin=allow_stdin)
    printed, error = [], None
    while True:
        msg = client.get_iopub_msg(timeout=30)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            error = msg["content"]["ename"]
        elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return "".join(printed), error


MISSED = "import os, labkit; os.environ.pop('LABKIT_STRICT', None)\nlabkit.expect(3 == 2, 'two writes', measured=3)"


def test_expect_is_calm_in_front_of_a_learner_and_strict_under_nbval(kernel) -> None:
    calm, error = _run(kernel, MISSED, allow_stdin=True)  # JupyterLab
    assert error is None and calm.startswith("ℹ This machine did not show what the text expects: two writes")
    strict, error = _run(kernel, MISSED, allow_stdin=False)  # nbval, nbclient, nbconvert
    assert error == "ExpectationFailed" and strict == ""
