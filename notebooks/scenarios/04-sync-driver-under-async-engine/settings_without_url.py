"""Print which database the project's ``Settings`` would use with no DATABASE_URL in the environment.

Run by ``harness.settings_without_url`` from a work dir, in a fresh process. The password is
hidden; a settings class that refuses to load prints its error's first lines instead.
"""

import os
import sys

sys.path.insert(0, os.getcwd())  # the work dir, where app/ is: this file lives elsewhere
os.environ.pop("DATABASE_URL", None)

from app.config import Settings
from sqlalchemy.engine import make_url

try:
    value = Settings().database_url  # type: ignore[call-arg]
except Exception as exc:
    lines = str(exc).splitlines()
    print(f"{type(exc).__name__}: {lines[0]}")
    print(f"  {lines[1]} - {lines[2].split('[')[0].strip()}")
else:
    raw = value.get_secret_value() if hasattr(value, "get_secret_value") else value
    print("the app would connect to", make_url(raw).render_as_string(hide_password=True))
