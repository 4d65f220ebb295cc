"""The notes API: tables first, then the app, then its routes."""

from typing import Annotated

from fastapi import Depends, FastAPI
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import Base, engine, get_session
from app.models import User

Base.metadata.create_all(bind=engine)

app = FastAPI(title="Notes API")
SessionDep = Annotated[Session, Depends(get_session)]


class UserIn(BaseModel):
    name: str


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/users")
def list_users(session: SessionDep) -> list[dict[str, object]]:
    return [{"id": u.id, "name": u.name} for u in session.scalars(select(User).order_by(User.id))]


@app.post("/users", status_code=201)
def add_user(body: UserIn, session: SessionDep) -> dict[str, object]:
    user = User(name=body.name)
    session.add(user)
    session.commit()
    return {"id": user.id, "name": user.name}


from app import notes  # noqa: E402  (the notes feature, added later)

app.include_router(notes.router)
