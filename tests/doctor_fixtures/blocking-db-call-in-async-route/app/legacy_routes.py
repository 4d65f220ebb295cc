"""Sync sessions reaching async routes the indirect ways."""

from fastapi import APIRouter, Depends, FastAPI, Request
from sqlalchemy import text
from starlette.middleware.base import BaseHTTPMiddleware

from app.legacy_db import *  # noqa: F403
from app import legacy_db

router = APIRouter()
app = FastAPI()


@router.get("/star")
async def through_star() -> int:
    with LegacySession() as db:  # noqa: F405  # expect: blocking-db-call-in-async-route
        return len(db.execute(text("select 1")).all())


@router.get("/untyped")
async def untyped(db=Depends(get_db)) -> None:  # noqa: F405
    db.commit()  # expect: blocking-db-call-in-async-route


@router.get("/async-dependency")
async def from_async_dependency(db=Depends(legacy_db.get_db_async)) -> None:
    db.flush()  # expect: blocking-db-call-in-async-route


@router.get("/helper")
async def one_call_away(db=Depends(get_db)) -> int:  # noqa: F405
    return legacy_db.count_users(db)  # expect: blocking-db-call-in-async-route


@router.post("/helper-by-name")
async def helper_by_name(user_id: int) -> None:
    with LegacySession() as session:  # noqa: F405  # expect: blocking-db-call-in-async-route
        rename(session, user_id, "x")  # noqa: F405


@app.middleware("http")
async def audit(request: Request, call_next):
    with LegacySession() as db:  # noqa: F405  # expect: blocking-db-call-in-async-route
        db.commit()
    return await call_next(request)


class AuditMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        db = LegacySession()  # noqa: F405  # expect: blocking-db-call-in-async-route, session-not-closed
        db.commit()
        return await call_next(request)


@router.get("/engine-factory")
async def engine_factory() -> None:
    with legacy_db.build_engine(legacy_db.url()).connect() as conn:  # expect: blocking-db-call-in-async-route
        conn.commit()


@router.get("/service")
async def through_a_service(user_id: int, db=Depends(get_db)):  # noqa: F405
    if legacy_db.user_service.label(user_id):
        return legacy_db.user_service.fetch(db, user_id)  # expect: blocking-db-call-in-async-route


@router.get("/service-holding-the-session")
async def service_with_session(db=Depends(get_db)):  # noqa: F405
    posts = legacy_db.PostService(db)
    latest = posts.latest()  # expect: blocking-db-call-in-async-route
    return posts.title(latest)


@router.get("/two-calls-away")
async def two_calls_away(ident: int, db=Depends(get_db)):  # noqa: F405
    return legacy_db.topic_service.fetch(db, ident)  # expect: blocking-db-call-in-async-route
