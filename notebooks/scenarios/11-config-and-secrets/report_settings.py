"""Child of harness.settings_cache: how often report 003's settings read ``.env``.

Run in a folder that holds ``.env``, with no DB_PASSWORD in the environment; argument ``cached`` (the
report's ``get_settings()`` with ``@lru_cache()``) or ``uncached`` (the same without it). An audit hook
counts the times a file named ``.env`` is opened. The module is the report's ``app/core/config.py``,
trimmed to the fields this needs; its other modules only ever do ``from app.core.config import settings``.
Prints one ``RESULT`` line (JSON).
"""

from __future__ import annotations

import json
import os
import sys
from functools import lru_cache
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict

reads = 0


def count_dotenv(event: str, args: tuple[Any, ...]) -> None:
    global reads
    if event == "open" and isinstance(args[0], (str, os.PathLike)) and os.path.basename(args[0]) == ".env":
        reads += 1


sys.addaudithook(count_dotenv)


class Settings(BaseSettings):
    DB_HOST: str = "postgres"
    DB_PASSWORD: str

    model_config = SettingsConfigDict(env_file=".env", case_sensitive=True, extra="ignore")


def get_settings() -> Settings:
    """Get cached settings instance. Uses lru_cache to avoid reading .env file multiple times."""
    return Settings()  # type: ignore[call-arg]


if sys.argv[1] == "cached":
    get_settings = lru_cache()(get_settings)

settings = get_settings()  # the report's global instance, made once when app.core.config is imported; its other
# modules (app.core.database, app.main, alembic's env.py) only do `from app.core.config import settings`
at_import = reads

for _request in range(3):  # were a route to ask for them, Depends(get_settings), three requests
    get_settings()
after_three_calls = reads

os.environ["DB_PASSWORD"] = "set-by-a-test"  # a test that changes the environment once the app is imported
print(
    "RESULT "
    + json.dumps(
        {
            "at_import": at_import,
            "after_three_calls": after_three_calls,
            "settings_sees": settings.DB_PASSWORD,
            "get_settings_sees": get_settings().DB_PASSWORD,
        }
    ),
    flush=True,
)
