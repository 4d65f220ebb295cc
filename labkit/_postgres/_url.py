"""SQLAlchemy URLs for each driver, and a clear verdict on a URL a learner gives.

asyncpg passes URL query parameters straight to ``asyncpg.connect``, which
knows ``ssl`` but not libpq's ``sslmode`` or ``channel_binding``
(``TypeError: connect() got an unexpected keyword argument 'sslmode'``).
labkit therefore keeps one form, ``ssl=<mode>``, and writes it the way each
driver wants.
"""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from labkit._errors import LabkitError
from labkit._postgres._endpoint import Endpoint

LIBPQ_ONLY = ("sslmode", "channel_binding")


def driver_url(endpoint: Endpoint, driver: str, *, database: str | None = None) -> URL:
    """The SQLAlchemy URL for ``postgresql+<driver>``."""
    query: dict[str, str] = {}
    if endpoint.ssl:
        query["ssl" if driver == "asyncpg" else "sslmode"] = endpoint.ssl
    return URL.create(
        f"postgresql+{driver}",
        username=endpoint.user,
        password=endpoint.password,
        host=endpoint.host,
        port=endpoint.port,
        database=database or endpoint.database,
        query=query,
    )


def parse_external(raw: str) -> Endpoint:
    """Turn ``LABKIT_DATABASE_URL`` into an Endpoint, or say exactly what is wrong with it."""
    source = "LABKIT_DATABASE_URL"
    try:
        url = make_url(raw.strip())
    except ArgumentError:
        raise LabkitError(
            f"{source} is not a database URL: it must look like postgresql://user:password@host:5432/dbname.",
            f"Fix {source}, or unset it to let labkit start a server of its own.",
        ) from None
    if not url.drivername.startswith(("postgresql", "postgres")):
        raise LabkitError(
            f"{source} names the database {url.drivername!r}; this workbook needs PostgreSQL.",
            f"Use a postgresql://... URL, or unset {source}.",
        )
    if not url.host or not url.username:
        raise LabkitError(
            f"{source} has no host or no user name.",
            f"Write it in full: postgresql://user:password@host:5432/dbname (or unset {source}).",
        )
    libpq = [key for key in url.query if key in LIBPQ_ONLY]
    if libpq:
        mode = url.query.get("sslmode", "require")
        keep = {k: v for k, v in url.query.items() if k not in LIBPQ_ONLY}
        fixed = url.set(drivername="postgresql", query={**keep, "ssl": mode})
        raise LabkitError(
            f"{source} carries libpq-only parameters ({', '.join(libpq)}). psycopg2 accepts them, "
            "but asyncpg does not: TypeError: connect() got an unexpected keyword argument "
            f"'{libpq[0]}'.",
            f"Write the SSL mode as ssl=...; labkit passes it to asyncpg as ssl and to psycopg2 as sslmode: "
            f"{fixed.render_as_string(hide_password=True)} (with your real password).",
        )
    extra = [key for key in url.query if key != "ssl"]
    if extra:
        raise LabkitError(
            f"{source} carries query parameters labkit does not pass on: {', '.join(extra)}.",
            "Remove them; only ssl=<mode> is supported.",
        )
    ssl = url.query.get("ssl")
    return Endpoint(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password or "",
        database=url.database or "postgres",
        ssl=str(ssl) if ssl else None,
    )
