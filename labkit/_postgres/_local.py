"""The local backend: a throwaway PostgreSQL cluster in a temp dir.

Speed comes from a template: ``initdb`` runs once per binaries version and
user, into ``~/.cache/labkit``; each server copies it (about a tenth of a
second) and starts with ``fsync=off``. PostgreSQL refuses to run as root, so
when the euid is 0 the server runs as an unprivileged user (``nobody``, or
``LABKIT_PG_USER``).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import psycopg2

from labkit import _cleanup
from labkit._errors import LabkitError
from labkit._ports import LOOPBACK, ensure_free, free_port
from labkit._postgres._binaries import PgBinaries, find_binaries
from labkit._postgres._endpoint import DATABASE, SUPERUSER, Endpoint, new_password
from labkit._process import ChildProcess
from labkit._waiting import WaitTimeout, wait_until

TEMPLATE_LAYOUT = "v2"  # bump when the initdb options change
RAM_DISK_MIN_FREE = 2 * 2**30  # Binder's small /dev/shm does not qualify
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


class ServerUser:
    """The OS user the postgres processes run as."""

    def __init__(self) -> None:
        self.uid = os.geteuid() if hasattr(os, "geteuid") else None
        self.gid: int | None = None
        self.name = ""
        if self.uid == 0:
            import pwd

            self.name = os.environ.get("LABKIT_PG_USER", "nobody")
            try:
                entry = pwd.getpwnam(self.name)
            except KeyError:
                raise LabkitError(
                    f"Running as root, and PostgreSQL refuses to run as root; the user {self.name!r} "
                    "that labkit would run it as does not exist.",
                    "Run as a normal user, or set LABKIT_PG_USER to an existing unprivileged user.",
                ) from None
            if entry.pw_uid == 0:
                raise LabkitError(
                    f"LABKIT_PG_USER={self.name} is root; PostgreSQL refuses to run as root.",
                    "Set LABKIT_PG_USER to an unprivileged user (for example nobody).",
                )
            self.uid, self.gid = entry.pw_uid, entry.pw_gid

    @property
    def switches(self) -> bool:
        return self.gid is not None

    def popen_kwargs(self) -> dict[str, Any]:
        if not self.switches:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def give(self, path: Path) -> None:
        """Hand ``path`` (recursively) to the server user."""
        if not self.switches:
            return
        for root, dirs, files in os.walk(path):
            os.chown(root, self.uid, self.gid)  # type: ignore[arg-type]
            for name in dirs + files:
                os.lchown(os.path.join(root, name), self.uid, self.gid)  # type: ignore[arg-type]


def _others_can_run(path: Path) -> bool:
    return all(part.stat().st_mode & stat.S_IXOTH for part in [path, *path.parents])


def _reachable_binaries(binaries: PgBinaries, user: ServerUser) -> PgBinaries:
    """Binaries the server user can execute; copies them out of a private home when needed."""
    postgres = Path(binaries.tool("postgres"))
    if not user.switches or _others_can_run(postgres):
        return binaries
    install_root = binaries.bindir.parent
    shared = Path(tempfile.gettempdir()) / f"labkit-pginstall-{binaries.version()}"
    if not (shared / "bin").is_dir():
        staging = Path(tempfile.mkdtemp(prefix="labkit-pginstall-"))
        shutil.copytree(install_root, staging / "tree", symlinks=True)
        os.chmod(staging, 0o755)
        try:
            os.rename(staging / "tree", shared)
        except OSError:
            pass  # another kernel finished first
        shutil.rmtree(staging, ignore_errors=True)
    return PgBinaries(shared / "bin", f"{binaries.source} (copied so {user.name} can run it)")


def _template_dir(binaries: PgBinaries, user: ServerUser) -> Path:
    """An initialized, never-started data dir to copy from; built on first use."""
    cache = Path(os.environ.get("LABKIT_CACHE", Path.home() / ".cache" / "labkit"))
    template = cache / f"pgdata-{binaries.version()}-uid{user.uid}-{TEMPLATE_LAYOUT}"
    if (template / "PG_VERSION").is_file():
        return template
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="labkit-initdb-"))
    os.chmod(staging, 0o755)
    data = staging / "data"
    user.give(staging)
    result = subprocess.run(
        [
            binaries.tool("initdb"),
            "-D",
            str(data),
            "-U",
            SUPERUSER,
            "-E",
            "UTF8",
            "--locale=C",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--no-sync",
            "--no-instructions",
            "--wal-segsize=1",  # 1 MiB WAL segments: a template a third smaller to copy
        ],
        capture_output=True,
        text=True,
        **user.popen_kwargs(),
    )
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise LabkitError(
            f"initdb failed ({binaries.bindir}):\n{result.stderr.strip()}",
            "Check that the binaries match this machine, or set LABKIT_PG_BIN to another install.",
        )
    try:
        os.rename(data, template)
    except OSError:
        pass  # another kernel built it first
    shutil.rmtree(staging, ignore_errors=True)
    return template


def _scratch_dir() -> str | None:
    """Where data dirs go: LABKIT_PG_TMP, else a roomy RAM disk, else the temp dir.

    Creating the ~1000 files of a data dir costs 0.7 s on some disks and 0.06 s on
    tmpfs; a throwaway cluster runs with fsync=off anyway, so RAM loses nothing.
    """
    explicit = os.environ.get("LABKIT_PG_TMP")
    if explicit:
        return explicit
    shm = Path("/dev/shm")
    try:
        if shm.is_dir() and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free >= RAM_DISK_MIN_FREE:
            return str(shm)
    except OSError:
        pass
    return None


class LocalServer:
    """One throwaway cluster: temp dir, free loopback port, random password."""

    backend = "local"
    controllable = True

    def __init__(self, port: int | None = None) -> None:
        self.user = ServerUser()
        self.binaries = _reachable_binaries(find_binaries(), self.user)
        if port is not None:
            ensure_free(port, "the local PostgreSQL")
        template = _template_dir(self.binaries, self.user)
        self.root = Path(tempfile.mkdtemp(prefix="labkit-pg-", dir=_scratch_dir()))
        _cleanup.register("dir", self.root)
        self.data = self.root / "data"
        self.sockets = self.root / "sock"
        shutil.copytree(template, self.data, symlinks=True)
        self.sockets.mkdir(mode=0o700)
        self.user.give(self.root)
        self.log_path = self.root / "postgres.log"
        self.endpoint = Endpoint(LOOPBACK, port or free_port(), SUPERUSER, new_password(), DATABASE)
        self.process: ChildProcess | None = None
        try:
            self.start()
            self._set_password()
        except BaseException:
            self.close()
            raise

    def _command(self) -> list[str]:
        settings = {
            "port": str(self.endpoint.port),
            "listen_addresses": LOOPBACK,
            "unix_socket_directories": str(self.sockets),
            "unix_socket_permissions": "0700",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "logging_collector": "off",
        }
        command = [self.binaries.tool("postgres"), "-D", str(self.data)]
        for key, value in settings.items():
            command += ["-c", f"{key}={value}"]
        return command

    def _socket_connect(self) -> psycopg2.extensions.connection:
        return psycopg2.connect(
            host=str(self.sockets),
            port=self.endpoint.port,
            user=SUPERUSER,
            dbname=DATABASE,
            application_name="labkit-admin",
            connect_timeout=2,
        )

    def _set_password(self) -> None:
        conn = self._socket_connect()
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f"ALTER USER {SUPERUSER} PASSWORD %s", (self.endpoint.password,))
        finally:
            conn.close()

    def start(self) -> None:
        if self.process is not None and self.process.alive:
            return
        ensure_free(self.endpoint.port, "the local PostgreSQL")
        with open(self.log_path, "ab") as log:
            self.process = ChildProcess(self._command(), cwd=self.root, stdout=log, run_as=self.user.popen_kwargs())
        self._wait_ready()

    def _answers(self) -> bool:
        assert self.process is not None
        if not self.process.alive:
            raise LabkitError(
                f"The local PostgreSQL exited during start-up (code {self.process.returncode}):\n{self.log_tail()}",
                "Read the log lines above; `labkit env` checks the set-up.",
            )
        try:
            self._socket_connect().close()
            return True
        except psycopg2.OperationalError:
            return False

    def _wait_ready(self) -> None:
        try:
            wait_until(self._answers, timeout=READY_TIMEOUT, what="the local PostgreSQL to answer", interval=0.01)
        except WaitTimeout:
            raise LabkitError(
                f"The local PostgreSQL did not answer within {READY_TIMEOUT:.0f} s:\n{self.log_tail()}",
                "Read the log lines above; a very slow disk or an antivirus can cause this.",
            ) from None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Fast shutdown (SIGINT): clients are disconnected, the data dir stays."""
        if self.process is not None:
            self.process.stop(STOP_TIMEOUT)

    def close(self) -> None:
        """Stop the server and delete its data dir."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
        _cleanup.release("dir", self.root)
