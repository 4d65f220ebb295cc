"""``labkit.postgres()``: one real PostgreSQL per kernel, started on first use, removed at exit."""

from __future__ import annotations

import atexit
import threading

from labkit._errors import LabkitError
from labkit._postgres._admin import Postgres
from labkit._postgres._choice import Backend, asked_for, choose_backend, start_server

_current: Postgres | None = None
_current_lock = threading.Lock()


def postgres(backend: Backend | None = None, *, port: int | None = None) -> Postgres:
    """The kernel's PostgreSQL: started on first call, the same object afterwards."""
    global _current
    with _current_lock:
        if _current is not None and not _current.closed:
            if backend is not None and backend != _current.backend:
                raise LabkitError(
                    f"This kernel already has a {_current.backend} PostgreSQL; labkit keeps one per kernel.",
                    f"Call pg.close() first, then labkit.postgres({backend!r}).",
                )
            return _current
        choice = choose_backend() if backend is None else asked_for(backend)
        server, reason = start_server(choice, port)
        _current = Postgres(server, reason)
        return _current


@atexit.register
def _close_at_exit() -> None:
    if _current is not None:
        _current.close()
