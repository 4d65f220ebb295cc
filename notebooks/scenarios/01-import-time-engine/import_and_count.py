"""Import app.main, then report the connections to its database and the tables in it.

Run by check.py in the work dir (labkit.checking.run_json); prints one RESULT line of JSON.
"""

import json
import os

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

counter = create_engine(os.environ["DATABASE_URL"], poolclass=NullPool, isolation_level="AUTOCOMMIT").connect()
import app.main  # noqa: E402, F401  importing the learner's app is what is measured

connections = counter.scalar(
    text("select count(*) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()")
)
tables = counter.scalars(text("select tablename from pg_tables where schemaname = 'public'")).all()
print("RESULT " + json.dumps({"connections": connections, "tables": sorted(tables)}))
