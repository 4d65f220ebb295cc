"""Connection facts of a server, and the small interface every backend offers."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Protocol

# The superuser and database every backend labkit starts gives the notebooks: the same names on a local
# cluster and in a container, so a notebook shows the same output on both.
SUPERUSER = "postgres"
DATABASE = "postgres"


def new_password() -> str:
    """A random password per server: never a constant, never reused."""
    return secrets.token_urlsafe(18)


@dataclass
class Endpoint:
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    database: str
    ssl: str | None = None  # an SSL mode ("require", ...) for servers that need one


class Server(Protocol):
    """What a backend gives :class:`labkit.Postgres`."""

    backend: str
    endpoint: Endpoint
    controllable: bool  # may labkit stop, start and reconfigure it?

    def stop(self) -> None: ...

    def start(self) -> None: ...

    def close(self) -> None: ...
