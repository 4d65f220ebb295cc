"""Which PostgreSQL a kernel gets: an explicit URL, a container, or a local throwaway cluster.

Auto order (design guide, section 2): ``LABKIT_DATABASE_URL``, then a container when a
Docker engine answers, then a local cluster. ``LABKIT_BACKEND=external|container|local``
forces one. Only an automatic choice of the container may fall back to a local cluster.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from labkit._errors import LabkitError
from labkit._postgres._endpoint import Server
from labkit._status_line import StatusLine

Backend = Literal["external", "container", "local"]
BACKENDS: tuple[Backend, ...] = ("external", "container", "local")


@dataclass(frozen=True)
class Choice:
    """A backend, why it was chosen, and whether a failed container may give way to a local cluster."""

    backend: Backend
    reason: str
    may_fall_back: bool = False


def choose_backend() -> Choice:
    """Which backend :func:`labkit.postgres` would use, and why (also shown by ``labkit env``)."""
    forced = os.environ.get("LABKIT_BACKEND", "").strip().lower()
    if forced and forced != "auto":
        if forced not in BACKENDS:
            raise LabkitError(
                f"LABKIT_BACKEND={forced!r} is not a backend labkit knows.",
                f"Set it to one of {', '.join(BACKENDS)} (or auto), or unset it.",
            )
        if forced == "external" and not os.environ.get("LABKIT_DATABASE_URL"):
            raise LabkitError(
                "LABKIT_BACKEND=external, but LABKIT_DATABASE_URL is not set.",
                "Set LABKIT_DATABASE_URL=postgresql://user:password@host:5432/dbname, or unset LABKIT_BACKEND.",
            )
        return Choice(forced, f"LABKIT_BACKEND={forced}")
    if os.environ.get("LABKIT_DATABASE_URL"):
        return Choice("external", "LABKIT_DATABASE_URL is set")
    from labkit._postgres._container import docker_client

    try:
        docker_client().close()
        return Choice("container", "a Docker engine answers", may_fall_back=True)
    except LabkitError:
        return Choice("local", "no Docker engine answers, so a local throwaway cluster")


def asked_for(backend: str) -> Choice:
    """The choice for an explicit ``labkit.postgres(backend)``: no fallback."""
    if backend not in BACKENDS:
        raise LabkitError(f"Unknown backend {backend!r}.", f"Use one of {', '.join(BACKENDS)}.")
    return Choice(backend, f"asked for {backend!r}")


def _make_server(backend: Backend, port: int | None) -> Server:
    if backend == "external":
        from labkit._postgres._external import ExternalServer

        return ExternalServer(os.environ["LABKIT_DATABASE_URL"])
    if backend == "container":
        from labkit._postgres._container import ContainerServer

        return ContainerServer(port)
    from labkit._postgres._local import LocalServer

    return LocalServer(port)


def start_server(choice: Choice, port: int | None) -> tuple[Server, str]:
    """Start the chosen server; returns it and the reason to show (which names any fallback)."""
    try:
        with StatusLine(f"starting a {choice.backend} PostgreSQL"):
            return _make_server(choice.backend, port), choice.reason
    except LabkitError as exc:
        if not choice.may_fall_back:
            raise
        # auto mode only: a Docker without the image is no reason to stop a learner
        with StatusLine("starting a local PostgreSQL instead"):
            server = _make_server("local", port)
        return server, f"a Docker engine answers but the container failed ({exc.problem}); a local cluster instead"
