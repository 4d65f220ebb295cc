"""Loopback ports: pick a free one, or say clearly that a chosen one is taken."""

from __future__ import annotations

import socket

import psutil

from labkit._errors import LabkitError

LOOPBACK = "127.0.0.1"  # every server labkit starts listens here, and only here
LOOPBACK_NAMES = frozenset({LOOPBACK, "localhost", "::1"})  # what a URL may call this machine


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def ensure_free(port: int, purpose: str) -> None:
    """Raise a LabkitError naming the owner when ``port`` is already bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # as servers do: a port left in TIME_WAIT by a stopped server is free to listen on
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
            return
        except OSError:
            pass
    raise LabkitError(
        f"Port {port} on {LOOPBACK} is already in use{_owner(port)}, so {purpose} cannot listen on it.",
        "Leave the port out (port=None) and labkit picks a free one, or stop what holds that port.",
    )


def _owner(port: int) -> str:
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN and conn.pid:
                return f" by process {conn.pid} ({psutil.Process(conn.pid).name()})"
    except (psutil.Error, OSError):
        pass
    return ""
