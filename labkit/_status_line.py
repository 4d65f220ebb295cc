"""A live one-line status for waits longer than a moment (a container start, a load, a check).

A learner in JupyterLab sees ``⏳ load: 120/400 requests · 3.2 s`` update in place instead of a
silent cell, and ``✓ load: 400/400 requests · 8.1 s`` when it ends. Unattended runs (nbval,
nbconvert, nbclient) show nothing, so committed notebooks stay the same run after run: the
line appears only for a frontend that accepts keyboard input, which those runners never do.
``LABKIT_STATUS_LINE=1`` forces it on, ``LABKIT_STATUS_LINE=0`` off.
"""

from __future__ import annotations

import contextvars
import html
import os
import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

SHOW_AFTER = 0.4  # seconds: shorter waits never flash a line
TICK = 0.25  # seconds between updates


def _kernel() -> Any:
    # A kernel has IPython loaded already; a plain script must not pay for importing it here.
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    return getattr(ipython.get_ipython(), "kernel", None)


def interactive() -> bool:
    """Whether a learner is watching: a kernel whose frontend accepts keyboard input.

    ipykernel records per request whether the frontend can answer input(): JupyterLab,
    Notebook and VS Code can; nbval, nbconvert and nbclient send allow_stdin=False.
    """
    kernel = _kernel()
    return kernel is not None and bool(getattr(kernel, "_allow_stdin", False))


def enabled() -> bool:
    """Whether a live line would be shown here and now."""
    forced = os.environ.get("LABKIT_STATUS_LINE")
    if forced in ("0", "1"):
        return forced == "1" and _kernel() is not None
    return interactive()


class StatusLine:
    """``with StatusLine("starting PostgreSQL"):`` shows the label, elapsed time and ``detail()``.

    ``detail`` is called from a background thread, so it must only read (a counter, a length).
    """

    def __init__(self, label: str, detail: Callable[[], str] | None = None) -> None:
        self.label = label
        self.detail = detail
        self._began = time.monotonic()
        self._finished = threading.Event()
        self._handle: Any = None
        self._thread: threading.Thread | None = None
        self._context: contextvars.Context | None = None

    def __enter__(self) -> StatusLine:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.finish(failed=kind is not None)

    def start(self) -> None:
        if not enabled():
            return
        # The copied context carries the kernel's notion of the running cell, so updates from
        # other threads land in this cell's output even while later cells run.
        self._context = contextvars.copy_context()
        self._thread = threading.Thread(target=self._context.run, args=(self._tick,), name="labkit-status", daemon=True)
        self._thread.start()

    def finish(self, *, failed: bool = False) -> None:
        """Stop updating; a line that was shown keeps its final state (✓ or ✗ and the time taken)."""
        self._finished.set()
        if self._thread is None or self._context is None:
            return
        self._thread.join()
        if self._handle is not None:
            self._context.run(self._handle.update, self._render("✗" if failed else "✓"))

    def _text(self) -> str:
        parts = [self.label]
        if self.detail is not None:
            try:
                parts.append(self.detail())
            except Exception:  # a detail that cannot be read now is no reason to stop the work
                pass
        parts.append(f"{time.monotonic() - self._began:.1f} s")
        return " · ".join(p for p in parts if p)

    def _render(self, mark: str) -> Any:
        from IPython.display import HTML

        colour = {"⏳": "#555", "✓": "#1a7f37", "✗": "#b42318"}[mark]
        return HTML(f'<div style="font-family:monospace;color:{colour}">{mark} {html.escape(self._text())}</div>')

    def _tick(self) -> None:
        if self._finished.wait(SHOW_AFTER):
            return
        from IPython.display import display

        self._handle = display(self._render("⏳"), display_id=True)
        while not self._finished.wait(TICK):
            self._handle.update(self._render("⏳"))
