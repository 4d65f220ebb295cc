"""sqlite3 next to SQLAlchemy: its connection takes strings."""

import sqlite3

from sqlalchemy import text  # noqa: F401


def local_cache() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("create table cache (k text, v text)")
