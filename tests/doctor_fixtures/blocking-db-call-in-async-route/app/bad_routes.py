from fastapi import APIRouter, Depends, Request
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app import db
from app.db import SessionDep, SessionLocal, get_session

router = APIRouter()


@router.get("/annotated")
async def annotated(session: SessionDep) -> list[int]:
    return list(session.scalars(select(1)))  # expect: blocking-db-call-in-async-route


@router.get("/factory")
async def factory() -> int:
    with SessionLocal() as session:  # expect: blocking-db-call-in-async-route
        return session.scalar(select(1)) or 0


@router.get("/depends-default")
async def depends_default(session: Session = Depends(get_session)) -> int:
    rows = [1, 2]
    session.commit()  # expect: blocking-db-call-in-async-route
    return len(rows)


@router.post("/state")
async def state(request: Request) -> None:
    with request.app.state.engine.connect() as conn:  # expect: blocking-db-call-in-async-route
        conn.execute(text("select pg_sleep(0.2)"))


@router.get("/module-attribute")
async def module_attribute() -> None:
    with Session(db.make_engine()) as session:  # expect: blocking-db-call-in-async-route
        session.execute(text("select 1"))


@router.websocket("/ws")
async def ws(session: SessionDep) -> None:
    session.execute(text("select 1"))  # expect: blocking-db-call-in-async-route


def register(extra: APIRouter) -> None:
    """Routes defined inside a plain function are routes all the same."""

    @extra.get("/registered")
    async def registered() -> None:
        with SessionLocal() as session:  # expect: blocking-db-call-in-async-route
            session.commit()
