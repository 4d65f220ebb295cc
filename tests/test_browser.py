"""End to end through the UI a learner uses: JupyterLab from the project environment, driven by
headless Chromium (Debian's /usr/bin/chromium through Playwright; no browser download).

For each notebook: open it, clear its committed outputs, Run > Run All Cells, wait until every
cell has run, then check what is on the screen (every verdict the committed notebook shows, no
traceback, coloured step diffs, HTML tables, decoded plots), that the kernel is this environment's
Python, and that the notebook saved through the UI holds no error. Screenshots (light and dark
theme) go to tests/artifacts/browser/<notebook>/, and on a failure failure.png and failure.txt.

The notebooks run in a temp copy of notebooks/ (running and saving through the UI rewrites them).
JupyterLab, its kernels and everything they start are stopped at the end, and checked gone.
Without /usr/bin/chromium the test skips, unless LABKIT_REQUIRE_BROWSER=1 (CI) makes that a failure.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
import pytest

from labkit import WaitTimeout, free_port, wait_until
from support import copy_notebooks, describe, kill_leftovers, running, wait_gone

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

pytestmark = pytest.mark.browser

# jupyter, and so the kernel, come from the interpreter running the tests: .venv under `make test`
BIN = Path(sys.executable).parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).parent / "artifacts" / "browser"
VIEWPORT = {"width": 1280, "height": 900}  # a laptop screen
TALLEST_SCREENSHOT = 12000  # px; Chromium cannot capture much beyond 16384

# JupyterLab 4 renders a traceback as application/vnd.jupyter.stderr too, like a warning
STDERR = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
STDOUT = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stdout"]'
PROMPTS = ".jp-CodeCell .jp-InputArea-prompt"
SCROLLER = ".jp-NotebookPanel .jp-WindowedPanel-outer"  # the notebook scrolls inside this, not the page
DIFF_PRE = '[data-mime-type="text/html"] .highlight pre'  # labkit.display.Code, pygments inline styles
IS_DIFF = r"pre => /^\+\+\+ /m.test(pre.textContent)"
# where the last cell ends, in the scroller's coordinates (JupyterLab pads below it to scroll past the end)
CELLS_END = """e => Math.ceil(e.querySelector('.jp-WindowedPanel-viewport').getBoundingClientRect().bottom
    - e.getBoundingClientRect().top + e.scrollTop)"""


@dataclass(frozen=True)
class Case:
    notebook: str
    scenario: str  # the scenario whose learner's copy the notebook opens
    last_verdict: str  # the verdict that says the whole story ended well
    diffs: int  # at least this many coloured step diffs (lab.apply)
    tables: int  # at least this many HTML tables (lab.steps, Table)
    plots: int  # at least this many rendered PNG plots
    timeout_s: float  # for Run All; docs/instructor.md measured 7 s and 22 s unattended


LEARNERS_EDIT = "# the learner's own line: Run All must keep it\n"

CASES = (
    Case(
        "00-setup.ipynb",
        "00-hello",
        "GET /version -> 200 · PostgreSQL answered",
        diffs=1,
        tables=1,
        plots=0,
        timeout_s=90,
    ),
    Case(
        "01-import-time-engine.ipynb",
        "01-import-time-engine",
        # the doctor's first finding on the broken project, the notebook's last word
        "app/db.py:12:10: engine-at-import [warning] create_engine() runs when the module is imported: the engine "
        "and its pool belong to the process, not the app, and are bound to the URL of import time; nothing in "
        "this module disposes it",
        diffs=3,
        tables=3,
        plots=0,
        timeout_s=180,
    ),
    Case(
        "05-async-session-pitfalls.ipynb",
        "05-async-session-pitfalls",
        "verdict: 10 of 10 requests answered 200 with a pool of 2; nothing left checked out after the burst",
        diffs=5,
        tables=5,
        plots=2,
        timeout_s=180,
    ),
    Case(
        "07-connection-pool.ipynb",
        "07-connection-pool",
        "superuser: 11, ordinary role: 8",  # what a server of max_connections=12 gives each role
        diffs=3,
        tables=3,
        plots=2,
        timeout_s=300,
    ),
    Case(
        "10-one-app-one-database.ipynb",
        "10-one-app-one-database",
        "GET /reports/daily on app.main: 404",  # the router that vanished with one WARNING line
        diffs=7,
        tables=5,
        plots=0,
        timeout_s=300,
    ),
)


# -- the browser ----------------------------------------------------------------------------------


def _need_browser() -> None:
    """Skip without Chromium or Playwright; LABKIT_REQUIRE_BROWSER=1 (CI) makes that a failure."""
    missing = ""
    if not CHROMIUM.is_file():
        missing = f"{CHROMIUM} is missing"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "the playwright package is missing"
    if not missing:
        return
    if os.environ.get("LABKIT_REQUIRE_BROWSER") == "1":
        pytest.fail(
            f"{missing}, and LABKIT_REQUIRE_BROWSER=1 requires the JupyterLab browser test: "
            "apt-get install chromium (playwright comes with pip install -r requirements.lock)"
        )
    pytest.skip(
        f"{missing}: the JupyterLab end-to-end test drives Debian's chromium "
        "(apt-get install chromium; LABKIT_REQUIRE_BROWSER=1 turns this skip into a failure)"
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    _need_browser()
    from playwright.sync_api import sync_playwright

    me = psutil.Process()
    before = {p.pid for p in me.children()}
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        # the Playwright driver (a new child of ours) and every Chromium process under it
        drivers = [p for p in me.children() if p.pid not in before]
        spawned = drivers + [c for d in drivers for c in d.children(recursive=True)]
        try:
            yield chromium
        finally:
            chromium.close()
    kill_leftovers(spawned, "Playwright or Chromium processes outlived the browser", 10)


# -- JupyterLab -----------------------------------------------------------------------------------


@dataclass
class JupyterLab:
    url: str
    token: str
    root: Path  # the temp copy of notebooks/ it serves
    process: subprocess.Popen[bytes]
    log: Path
    # everything it started (kernels, their PostgreSQL, uvicorn, labkit's watchdog), for the leftover check
    seen: dict[int, psutil.Process] = field(default_factory=dict)

    def api(self, method: str, path: str) -> Any:
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def remember_descendants(self) -> None:
        try:
            for proc in psutil.Process(self.process.pid).children(recursive=True):
                self.seen.setdefault(proc.pid, proc)
        except psutil.NoSuchProcess:
            pass

    def kernels(self) -> list[psutil.Process]:
        self.remember_descendants()
        return [p for p in running(list(self.seen.values())) if _is_kernel(p)]

    def shut_down_kernels(self) -> None:
        """Delete every session as JupyterLab does; each kernel's atexit stops its servers and apps."""
        kernels = self.kernels()  # also remembers their PostgreSQL and apps for the final check
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")
        assert not wait_gone(kernels, 30), "kernels still run 30 s after their sessions were deleted"


def _is_kernel(proc: psutil.Process) -> bool:
    try:
        return "ipykernel_launcher" in proc.cmdline()
    except psutil.Error:
        return False


def _write_lab_settings(settings: Path) -> None:
    """No news prompt or update check (a toast over the notebook, a request to the internet);
    everything else is JupyterLab's default, as a learner gets it."""
    notification = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    _need_browser()  # no server start for a test that is going to skip
    base = tmp_path_factory.mktemp("jupyterlab")
    root = copy_notebooks(base / "notebooks")
    _write_lab_settings(base / "lab-settings")
    token = secrets.token_hex(16)
    port = free_port()
    command = [
        str(BIN / "jupyter"),
        "lab",
        "--no-browser",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={base / 'lab-settings'}",
        f"--LabApp.workspaces_dir={base / 'lab-workspaces'}",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    env = {
        **os.environ,
        "LABKIT_BACKEND": "local",  # no Docker probing
        "LABKIT_SCENARIOS": str(root / "scenarios"),
        # none of this machine's Jupyter config, kernelspecs or runtime files: the venv's python3 kernel
        "JUPYTER_CONFIG_DIR": str(base / "jupyter-config"),
        "JUPYTER_DATA_DIR": str(base / "jupyter-data"),
        "JUPYTER_RUNTIME_DIR": str(base / "jupyter-runtime"),
    }
    log = base / "jupyterlab.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # a group of its own
    server = JupyterLab(f"http://127.0.0.1:{port}", token, root, process, log)
    try:
        _wait_answering(server)
        yield server
    finally:
        _stop(server)


def _wait_answering(server: JupyterLab, timeout_s: float = 60) -> None:
    def answers() -> bool:
        if server.process.poll() is not None:
            pytest.fail(f"JupyterLab exited with {server.process.returncode}:\n{server.log.read_text()[-3000:]}")
        try:
            server.api("GET", "/api/status")
            return True
        except (urllib.error.URLError, ConnectionError):
            return False

    try:
        wait_until(answers, timeout=timeout_s, what="JupyterLab to answer", interval=0.2)
    except WaitTimeout:
        pytest.fail(f"JupyterLab did not answer in {timeout_s:.0f} s:\n{server.log.read_text()[-3000:]}")


def _stop(server: JupyterLab) -> None:
    """SIGTERM first: JupyterLab shuts its kernels down, their atexit stops PostgreSQL and uvicorn.
    SIGKILL to its process group only if that hangs (labkit's watchdog then stops what a killed
    kernel started). Either way, every process it ever started must be gone."""
    server.remember_descendants()
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(10)
    kill_leftovers(list(server.seen.values()), "left behind by JupyterLab and its kernels", 20)


# -- one notebook through the UI --------------------------------------------------------------------


@pytest.fixture
def page(browser: Browser, lab: JupyterLab) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    try:
        yield tab
    finally:
        context.close()
        lab.shut_down_kernels()  # one notebook's PostgreSQL and apps gone before the next one starts


def _menu(page: Page, menu: str, command: str, label: str | None = None, submenu: str | None = None) -> None:
    """Click a menu bar item (and a submenu), then the entry that runs ``command``, as a learner would."""
    page.locator(".lm-MenuBar-item").filter(has_text=re.compile(rf"^{menu}$")).click()
    if submenu is not None:
        page.locator('.lm-Menu-item[data-type="submenu"]').filter(has_text=re.compile(rf"^{submenu}$")).click()
    item = page.locator(f'.lm-Menu-item[data-command="{command}"]')
    if label is not None:
        item = item.filter(has_text=re.compile(rf"^{re.escape(label)}$"))  # not "... High Contrast"
    item.click()


def _next_frames(page: Page) -> None:
    """Until the browser has painted twice: layout and content-visibility have caught up."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def _scroll_to(page: Page, target: Locator, timeout_ms: float = 30_000) -> None:
    """Into view and drawn: cells drawn on the way in change their height, so scroll again once drawn."""
    for _ in range(2):
        target.scroll_into_view_if_needed(timeout=timeout_ms)
        _next_frames(page)


def _open(page: Page, lab: JupyterLab, notebook: str) -> Locator:
    """Open the notebook in a workspace of its own (nothing else restored into the dock) and wait
    for its kernel. A "Select Kernel" dialog, if JupyterLab asks, takes its default choice."""
    page.goto(f"{lab.url}/lab/workspaces/e2e-{Path(notebook).stem}/tree/{notebook}?token={lab.token}")
    spec = json.loads((lab.root / notebook).read_text())["metadata"]["kernelspec"]
    # the toolbar's indicator says idle before a kernel is attached; the status bar names the kernel
    ready = page.locator(".jp-StatusBar-TextItem").filter(
        has_text=re.compile(rf"^{re.escape(spec['display_name'])} \| Idle$")
    )
    dialog = page.locator(".jp-Dialog")
    ready.or_(dialog).first.wait_for(timeout=60_000)
    if dialog.is_visible():
        dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
        ready.wait_for(timeout=60_000)
    panel = page.locator(".jp-NotebookPanel")
    assert panel.count() == 1, "one notebook open, so the menus and selectors act on it"
    return panel


def _run_all(page: Page, timeout_s: float) -> None:
    """Clear the committed outputs (nothing below may pass on them), Run All, wait until done."""
    _menu(page, "Edit", "editmenu:clear-all")
    page.wait_for_function(f"""() => [...document.querySelectorAll('{PROMPTS}')]
        .every(e => e.textContent.trim() === '[ ]:') && !document.querySelector('.jp-OutputArea-output')""")
    _menu(page, "Run", "runmenu:run-all")
    # queued cells show [*] at once; done = none left and the kernel idle (an error aborts the rest)
    page.wait_for_function(
        f"""() => {{
        const prompts = [...document.querySelectorAll('{PROMPTS}')].map(e => e.textContent);
        const indicator = document.querySelector('.jp-Notebook-ExecutionIndicator');
        return prompts.some(p => /\\d/.test(p)) && !prompts.some(p => p.includes('*'))
            && indicator !== null && indicator.dataset.status === 'idle';
    }}""",
        timeout=timeout_s * 1000,
        polling=250,
    )


def _rgb(css: str) -> tuple[int, int, int]:
    r, g, b = (int(v) for v in re.findall(r"\d+", css)[:3])
    return r, g, b


def _greenish(css: str) -> bool:
    r, g, b = _rgb(css)
    return g > r + 60 and g > b + 60


def _reddish(css: str) -> bool:
    r, g, b = _rgb(css)
    return r > g + 60 and r > b + 60


def _committed_stdout(notebook: Path) -> list[str]:
    """The lines the committed notebook prints in cells nbval compares (fixed text, no ignore tag)."""
    lines = []
    for cell in json.loads(notebook.read_text())["cells"]:
        ignored = "nbval-ignore-output" in cell.get("metadata", {}).get("tags", [])
        if cell["cell_type"] != "code" or ignored or "".join(cell["source"]).startswith("# NBVAL_IGNORE_OUTPUT"):
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stdout":
                lines += "".join(out["text"]).splitlines()
    return lines


def _committed_verdicts(notebook: Path) -> list[str]:
    """The verdict lines among them, and every line a case names as the story's last word."""
    return [line for line in _committed_stdout(notebook) if line.startswith("verdict:")]


def _screenshot_whole_notebook(page: Page, out: Path) -> None:
    """The notebook scrolls inside its panel, so a full-page screenshot is one screen. The window
    is made as tall as the cells (up to TALLEST_SCREENSHOT) and scrolled a window at a time."""
    scroller = page.locator(SCROLLER)
    chrome = VIEWPORT["height"] - scroller.evaluate("e => e.clientHeight")  # menus, toolbar, status bar
    height = 0
    for _ in range(5):  # cells drawn for the first time replace their estimated height by the real one
        wanted = min(chrome + scroller.evaluate(CELLS_END), TALLEST_SCREENSHOT)
        if wanted == height:
            break
        height = wanted
        page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
        page.wait_for_function(f"h => document.querySelector('{SCROLLER}').clientHeight === h", arg=height - chrome)
        _next_frames(page)
    scroller.evaluate("e => { e.scrollTop = 0 }")
    for part in range(1, 100):
        _next_frames(page)
        page.screenshot(path=out / f"whole-notebook-{part}.png", full_page=True)
        # the next window, until the last cell was in one (the scroll-past-end padding is left out)
        if scroller.evaluate(f"""e => {{ if (e.scrollTop + e.clientHeight >= ({CELLS_END})(e)) return true;
                e.scrollTop += e.clientHeight; return false; }}"""):
            break


def _screenshot_key_cells(page: Page, panel: Locator, out: Path, last_verdict: str, suffix: str) -> None:
    key_cells = {  # name: which code cell, the first one for which this holds
        "diff": f"c => [...c.querySelectorAll('{DIFF_PRE}')].some({IS_DIFF})",
        "table": """c => !!c.querySelector('[data-mime-type="text/html"] table')""",
        "plot": """c => !!c.querySelector('[data-mime-type="image/png"] img')""",
        "checklist": """c => [...c.querySelectorAll('[data-mime-type="text/html"]')]"""
        """.some(o => /: \\d+ of \\d+ pass/.test(o.textContent))""",
        "hint": """c => [...c.querySelectorAll('[data-mime-type="text/html"]')]"""
        """.some(o => /^Hint \\d+ of \\d+ for/.test(o.textContent.trim()))""",
        "last-verdict": f"c => [...c.querySelectorAll('{STDOUT}')]"
        f".some(o => o.textContent.includes({json.dumps(last_verdict)}))",
    }
    cells = panel.locator(".jp-CodeCell")
    for name, predicate in key_cells.items():
        index = panel.evaluate(f"p => [...p.querySelectorAll('.jp-CodeCell')].findIndex({predicate})")
        if index >= 0:
            _scroll_to(page, cells.nth(index))
            cells.nth(index).screenshot(path=out / f"{name}{suffix}.png")


def _theme(page: Page, name: str) -> None:
    """Settings > Theme; JupyterLab covers the page with its splash screen until the theme is loaded."""
    _menu(page, "Settings", "apputils:change-theme", name, submenu="Theme")
    page.locator(f'body[data-jp-theme-name="{name}"]').wait_for(state="attached")
    page.locator("#jupyterlab-splash").wait_for(state="detached")


def _screenshots(page: Page, panel: Locator, out: Path, last_verdict: str) -> None:
    """What the learner sees when Run All ends, the whole notebook, and its key cells in the light
    and in the dark theme."""
    page.screenshot(path=out / "end-of-run-all.png", full_page=True)
    try:
        _screenshot_whole_notebook(page, out)
        _screenshot_key_cells(page, panel, out, last_verdict, "")
        _theme(page, "JupyterLab Dark")
        _screenshot_key_cells(page, panel, out, last_verdict, "-dark")
    finally:
        _theme(page, "JupyterLab Light")  # a saved setting: back to the default for the next notebook
        page.set_viewport_size(VIEWPORT)


def _screenshot_failure(page: Page, out: Path) -> None:
    """The first traceback if there is one (Run All leaves the view at the last cell), else the window."""
    from playwright.sync_api import Error

    try:
        _scroll_to(page, page.locator(STDERR).filter(has_text="Traceback (most recent call last)").first, 3000)
    except Error:
        pass  # no traceback: the window as it is
    try:
        page.screenshot(path=out / "failure.png")
    except Error:
        pass  # a crashed page: the test's own error says more


@pytest.mark.parametrize("case", CASES, ids=[c.notebook.removesuffix(".ipynb") for c in CASES])
def test_run_all_in_jupyterlab(case: Case, lab: JupyterLab, page: Page) -> None:
    out = ARTIFACTS / Path(case.notebook).stem
    shutil.rmtree(out, ignore_errors=True)  # no stale screenshot from an earlier run
    out.mkdir(parents=True)
    page_errors: list[str] = []
    page.on("pageerror", lambda exc: page_errors.append(str(exc)))
    expected = _committed_verdicts(lab.root / case.notebook)  # the copy that runs, before the run saves it
    expected += [line for line in _committed_stdout(lab.root / case.notebook) if line == case.last_verdict]
    # a learner's copy from an earlier session, with their edit in it: Run All must leave it alone
    mine = lab.root / "work" / case.scenario
    shutil.rmtree(mine, ignore_errors=True)
    shutil.copytree(lab.root / "scenarios" / case.scenario / "broken", mine)
    edited = min(mine.rglob("*.py"))
    edited.write_text(edited.read_text() + LEARNERS_EDIT)
    try:
        panel = _open(page, lab, case.notebook)
        # the reference fix opens folded (tests/test_learner_flow.py): one "cells hidden" button
        folded = panel.locator(".jp-showHiddenCellsButton")
        folded.wait_for()
        assert folded.count() == 1, f"{folded.count()} folded sections, expected the reference fix alone"
        started = time.monotonic()
        _run_all(page, case.timeout_s)
        (out / "timing.txt").write_text(f"Run All took {time.monotonic() - started:.1f} s in the browser\n")

        # no traceback, and every code cell ran once, in order, in a fresh kernel
        stderr = panel.locator(STDERR).all_text_contents()
        (out / "stderr.txt").write_text("\n---\n".join(stderr))  # warnings are allowed, and kept here
        tracebacks = [text for text in stderr if "Traceback (most recent call last)" in text]
        assert not tracebacks, f"{case.notebook} raised:\n" + "\n\n".join(t[-3000:] for t in tracebacks)
        prompts = panel.locator(PROMPTS).all_text_contents()
        assert prompts == [f"[{n}]:" for n in range(1, len(prompts) + 1)], prompts

        # what the learner reads: every verdict of the committed notebook, the story's last one included
        stdout = "\n".join(panel.locator(STDOUT).all_text_contents())
        assert case.last_verdict in expected
        missing = [line for line in expected if line not in stdout]
        assert not missing, f"verdicts not shown after Run All: {missing}"

        # long waits showed a live line, left in its final state (labkit/status_line.py): JupyterLab
        # is an interactive frontend, unlike nbval, so every lab.check() cell carries one
        finished = panel.locator('[data-mime-type="text/html"]').filter(has_text=re.compile(r"^[✓✗] checking work/"))
        assert finished.count() >= 1, "no live status line for lab.check() in JupyterLab"
        # the learner's copy is still broken: its failing requirements' lines end in ✗, not ✓
        assert finished.filter(has_text=re.compile(r"^✗")).count() >= 1, "a failing requirement's live line shows ✓"
        # the checklist renders as HTML: one ✓/✗ line per requirement and the count
        checklists = panel.locator('[data-mime-type="text/html"]').filter(has_text=re.compile(r": \d+ of \d+ pass"))
        assert checklists.count() >= 1, "no lab.check() checklist rendered"
        assert checklists.first.locator("text=✗").count() >= 1, "the learner's untouched copy shows no ✗"

        # Run All ran the folded cells too (every prompt and every saved cell is numbered, below);
        # the learner now asks for the solution: the fold opens
        folded.click()
        folded.wait_for(state="detached")

        # step diffs in colour: added lines green, removed lines red, neither like the plain text
        diffs = panel.evaluate(f"""p => [...p.querySelectorAll('{DIFF_PRE}')].filter({IS_DIFF}).map(pre => {{
            const spans = [...pre.querySelectorAll('span')];
            const colours = (sign, header) => spans.filter(s => s.textContent.startsWith(sign)
                && !s.textContent.startsWith(header)).map(s => getComputedStyle(s).color);
            return {{plain: getComputedStyle(pre).color, added: colours('+', '+++'), removed: colours('-', '---')}};
        }})""")
        assert len(diffs) >= case.diffs, f"{len(diffs)} step diffs rendered as HTML, expected {case.diffs}"
        for diff in diffs:
            assert diff["added"] and all(_greenish(c) for c in diff["added"]), diff
            assert all(_reddish(c) for c in diff["removed"]), diff
            assert diff["plain"] not in diff["added"] + diff["removed"], diff

        # tables as HTML tables with a header row, not as text
        assert panel.locator('[data-mime-type="text/html"] table:has(thead th)').count() >= case.tables

        # plots as decoded images (an <img> whose PNG does not decode has naturalWidth 0)
        plots = panel.locator('[data-mime-type="image/png"] img')
        assert plots.count() >= case.plots
        for img in plots.all():
            _scroll_to(page, img)
            assert img.evaluate("i => i.decode().then(() => i.naturalWidth > 100 && i.naturalHeight > 100)")

        # the kernel is this environment's Python (00's first verdict follows `import labkit`)
        kernels = lab.kernels()
        assert len(kernels) == 1, describe(kernels)
        assert Path(kernels[0].cmdline()[0]).parent == BIN, f"the kernel is not {BIN}'s: {kernels[0].cmdline()}"

        # saved through the UI, the file holds the same run: every cell counted, no error output
        tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab.jp-mod-current")
        expect_dirty = tab.and_(page.locator(".jp-mod-dirty"))
        expect_dirty.wait_for()  # the run changed the notebook
        _menu(page, "File", "docmanager:save")
        expect_dirty.wait_for(state="detached")
        saved = json.loads((lab.root / case.notebook).read_text())
        code = [c for c in saved["cells"] if c["cell_type"] == "code"]
        assert [c["execution_count"] for c in code] == list(range(1, len(code) + 1))
        assert not [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
        assert any((lab.root / "work").iterdir()), "the scenario was not copied beside the notebook copy"
        assert edited.read_text().endswith(LEARNERS_EDIT), "Run All through JupyterLab lost the learner's edit"

        _screenshots(page, panel, out, case.last_verdict)
    except BaseException as exc:
        (out / "failure.txt").write_text(f"{type(exc).__name__}: {exc}\n")  # beside failure.png, for CI
        _screenshot_failure(page, out)
        raise
    finally:
        (out / "page-errors.txt").write_text("\n".join(page_errors))
