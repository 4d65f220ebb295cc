import os

from sqlalchemy import create_engine

URL = os.environ["DATABASE_URL"]

one = create_engine(URL)  # labkit: ignore[engine-at-import]
two = create_engine(URL)  # labkit: ignore
three = create_engine(URL)  # labkit: ignore[raw-sql-string]  # expect: engine-at-import
four = create_engine(  # expect: oversized-pool
    URL,
    pool_size=50,
    max_overflow=0,
)  # labkit: ignore[engine-at-import]
five = create_engine(URL, pool_size=50)  # labkit: ignore[oversized-pool, engine-at-import]
