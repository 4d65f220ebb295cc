import logging

from fastapi import FastAPI

logger = logging.getLogger(__name__)
app = FastAPI()

try:
    import orjson
except ImportError:
    orjson = None

try:
    import uvloop  # noqa: F401
except ImportError:
    pass

try:
    import ujson as json
except ImportError:
    import json  # noqa: F401

try:
    from app.routers import admin
except ImportError as exc:
    raise RuntimeError("the admin router does not import") from exc

try:
    from app.local_settings import *  # noqa: F403
except ImportError:
    pass

try:
    from app.routers import reports
except ImportError:
    reports = None

try:
    from app.routers import billing
except ImportError:
    logger.error("billing router missing")
    raise

try:
    app.include_router(admin.router)
except ValueError as exc:
    raise SystemExit(str(exc)) from exc


def optional() -> object:
    try:
        from app import plugins
    except ImportError:
        return None
    return plugins
