import logging

from fastapi import FastAPI

logger = logging.getLogger(__name__)
app = FastAPI()

try:
    from app.routers import admin  # expect: swallowed-import-error
    app.include_router(admin.router)
except ImportError:
    pass

try:
    from .routers import reports  # expect: swallowed-import-error
except Exception as exc:
    logger.warning("reports disabled: %s", exc)


def wire_billing(router: object) -> None:
    try:
        app.include_router(router)  # expect: swallowed-import-error
    except Exception:
        logger.exception("billing router failed")


for name in ("a", "b"):
    try:
        import app.plugins  # expect: swallowed-import-error
    except ModuleNotFoundError:
        continue

try:
    import app.routers.billing  # expect: swallowed-import-error
except:  # noqa: E722
    print("billing missing")
