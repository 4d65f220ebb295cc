"""Probe the package: each module imported on its own, the apps it builds, a router that does not import,
create_app, a start without DATABASE_URL.

Run by check.py in the work dir (labkit.checking.run_json): ``package_probe.py '["app", "app.main", ...]'``.
Imports each module as if it were the first one (every app.* module is dropped from sys.modules
before), notes which modules hold a FastAPI app, imports app.main once more while
``app.routers.reports`` refuses to import (does the app stop, or start without its routes?),
builds two apps with create_app from two settings objects while the environment says the opposite,
and last tries to import and start (run the lifespan of) app.main:app without DATABASE_URL.
Prints one RESULT line of JSON.
"""

import asyncio
import importlib
import importlib.abc
import json
import logging
import os
import sys
import warnings

import httpx
from fastapi import FastAPI

warnings.simplefilter("ignore")
logging.disable(logging.CRITICAL)


def purge() -> None:
    for loaded in [m for m in sys.modules if m == "app" or m.startswith("app.")]:
        del sys.modules[loaded]


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class RefuseReports(importlib.abc.MetaPathFinder):
    """Makes ``import app.routers.reports`` fail, as a router with a mistake in it would."""

    def find_spec(self, name, path, target=None):
        if name == "app.routers.reports":
            raise ImportError("cannot import name 'get_db' from 'app.database' (simulated by the check)")
        return None


async def docs_status(app: FastAPI) -> int:
    transport = httpx.ASGITransport(app=app)  # no lifespan: /docs needs no database
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        return (await client.get("/docs")).status_code


async def start(app: FastAPI) -> None:
    async with app.router.lifespan_context(app):
        pass


failures, apps = {}, []
for name in json.loads(sys.argv[1]):
    purge()
    try:
        module = importlib.import_module(name)
    except BaseException as exc:
        failures[name] = describe(exc)
        continue
    if any(isinstance(value, FastAPI) for value in vars(module).values()):
        apps.append(name)

purge()
sys.meta_path.insert(0, RefuseReports())
try:
    served = sorted(importlib.import_module("app.main").app.openapi()["paths"])  # the routes it would serve
    broken_router = {"stopped": None, "routes": served}
except BaseException as exc:
    broken_router = {"stopped": describe(exc), "routes": []}
del sys.meta_path[0]

purge()
try:
    main = importlib.import_module("app.main")
    config = importlib.import_module("app.config")
    if not callable(getattr(main, "create_app", None)):
        factory = "missing"
    else:
        os.environ["ENVIRONMENT"] = "production"
        production = config.Settings()
        os.environ["ENVIRONMENT"] = "development"
        development = config.Settings()
        prod_app = main.create_app(production)  # built while the environment says development
        os.environ["ENVIRONMENT"] = "production"
        dev_app = main.create_app(development)  # built while the environment says production
        factory = [asyncio.run(docs_status(dev_app)), asyncio.run(docs_status(prod_app))]
except BaseException as exc:
    factory = describe(exc)

os.environ.pop("DATABASE_URL", None)
os.environ.pop("ENVIRONMENT", None)
purge()
try:
    asyncio.run(asyncio.wait_for(start(importlib.import_module("app.main").app), 15))
    no_url = None
except BaseException as exc:
    no_url = describe(exc)
result = {"failures": failures, "apps": apps, "broken_router": broken_router, "factory": factory, "no_url": no_url}
print("RESULT " + json.dumps(result))
