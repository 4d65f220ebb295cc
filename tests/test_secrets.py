"""No password in what a learner sees: notebook outputs and app logs, and none committed."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from jupyter_client.manager import start_new_kernel

from support import NOTEBOOKS, ROOT, run_cell


@pytest.mark.integration  # a kernel runs notebook 00 with its PostgreSQL and app
def test_notebook_00_never_shows_the_password() -> None:
    notebook = json.loads((NOTEBOOKS / "00-setup.ipynb").read_text())
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(NOTEBOOKS))
    try:
        shown = [
            run_cell(client, "".join(cell["source"]) + "\n;")
            for cell in notebook["cells"]
            if cell["cell_type"] == "code"
        ]
        shown.append(run_cell(client, "print(repr(pg), report, srv.logs())"))
        password = run_cell(client, "print(pg.server.endpoint.password)").strip()
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert len(password) >= 16
    assert not any(password in text for text in shown)


URL_WITH_PASSWORD = re.compile(r"postgres(?:ql)?(?:\+\w+)?://[^:/\s'\"]+:([^@/\s'\"]+)@")
# Placeholders, and the fake passwords broken scenarios commit on purpose; nothing else may stand there.
DELIBERATE = {
    line.strip()
    for line in (Path(__file__).parent / "fake_secrets.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
}
PLACEHOLDER = re.compile(
    r"^(REDACTED|secret|password|pass|p|changeme|example\S*|fake\S*|doctor|\*+|\{.*\}|\$\{?\w+\}?|<\w+>)$",
    re.IGNORECASE,
)


@pytest.mark.unit
def test_no_real_looking_password_in_tracked_files() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    hits = []
    for rel in tracked:
        path = ROOT / rel
        if path.suffix in {".png", ".lock"} or not path.is_file():
            continue
        for match in URL_WITH_PASSWORD.finditer(path.read_text(errors="replace")):
            if not PLACEHOLDER.match(match.group(1)) and match.group(1) not in DELIBERATE:
                hits.append(f"{rel}: ...{match.group(0)[-40:]}")
    assert hits == [], "database URLs with real-looking passwords:\n" + "\n".join(hits)
