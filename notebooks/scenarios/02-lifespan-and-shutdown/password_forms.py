"""Run the app's own ``init_db()`` once per URL form and keep what it logged (deep dive 11a).

Run by harness.py from a work dir: ``python password_forms.py FORMS_JSON`` where FORMS_JSON maps a
name to a ``DATABASE_URL``. For each: a real connection attempt (10 s at most), the first log record
of the ``app`` loggers, and SQLAlchemy's masked form of the URL. Prints one line per form:
``RESULT [name, "yes" or "no: ErrorType", logged, masked]``.
"""

import asyncio
import json
import logging
import os
import sys

sys.path.insert(0, os.getcwd())  # the work dir's app package, not this folder

from app import db
from sqlalchemy.engine import make_url

logged: list[str] = []


class Keep(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        logged.append(record.getMessage())


logging.getLogger("app").addHandler(Keep())
logging.getLogger("app").setLevel(logging.INFO)


async def attempt() -> str:
    try:
        await asyncio.wait_for(db.init_db(), 10)
        return "yes"
    except Exception as exc:
        return f"no: {type(exc).__name__}"
    finally:
        if db.engine is not None:
            await db.engine.dispose()


for name, url in json.loads(sys.argv[1]).items():
    logged.clear()
    os.environ["DATABASE_URL"] = url
    connects = asyncio.run(attempt())
    print(
        "RESULT "
        + json.dumps([name, connects, logged[0] if logged else "", make_url(url).render_as_string(hide_password=True)])
    )
