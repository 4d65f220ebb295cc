"""The watchdog process: cleans up after a kernel that died without doing so.

Started by :mod:`labkit.cleanup` in a session of its own, it reads
registrations from its stdin, one per line (``add pgroup 123``,
``add dir /tmp/x``, ``add container abc``, and ``del ...`` for each).
When stdin reaches end-of-file, its owner is gone, however it died
(SIGKILL included), and the watchdog stops what is still registered:
process groups first (SIGINT, then SIGKILL after a grace period),
then containers, then directories.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time

GRACE_SECONDS = 4.0


def _group_alive(pgid: int) -> bool:
    """True while a member of the group runs (zombies wait for a reaper, not for us)."""
    import psutil

    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.Error):
            continue
    return False


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_groups(pgids: set[int]) -> None:
    for pgid in pgids:
        _signal_group(pgid, signal.SIGINT)
    deadline = time.monotonic() + GRACE_SECONDS
    while time.monotonic() < deadline and any(_group_alive(p) for p in pgids):
        time.sleep(0.05)
    for pgid in pgids:
        if _group_alive(pgid):
            _signal_group(pgid, signal.SIGKILL)


def remove_containers(ids: set[str]) -> None:
    if not ids:
        return
    try:
        import docker

        client = docker.from_env(timeout=10)
        for container_id in ids:
            try:
                client.containers.get(container_id).remove(force=True, v=True)
            except docker.errors.NotFound:
                pass
    except Exception as exc:  # the owner is gone; report and carry on with the rest
        print(f"labkit watchdog: could not remove containers {sorted(ids)}: {exc}", file=sys.stderr)


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    registered: dict[str, set[str]] = {"pgroup": set(), "container": set(), "dir": set()}
    for line in sys.stdin:
        action, _, rest = line.rstrip("\n").partition(" ")
        kind, _, value = rest.partition(" ")
        if kind not in registered or not value:
            continue
        if action == "add":
            registered[kind].add(value)
        elif action == "del":
            registered[kind].discard(value)
    stop_groups({int(p) for p in registered["pgroup"]})
    remove_containers(registered["container"])
    for path in registered["dir"]:
        shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()
