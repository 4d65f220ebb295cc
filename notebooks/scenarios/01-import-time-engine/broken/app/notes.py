"""The notes feature: its model and its routes, in one module."""

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.db import Base, get_session


class Note(Base):
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(String(500))


class NoteIn(BaseModel):
    user_id: int
    text: str


router = APIRouter(prefix="/notes", tags=["notes"])
SessionDep = Annotated[Session, Depends(get_session)]


@router.get("")
def list_notes(session: SessionDep) -> list[dict[str, object]]:
    notes = session.scalars(select(Note).order_by(Note.id))
    return [{"id": n.id, "user_id": n.user_id, "text": n.text} for n in notes]


@router.post("", status_code=201)
def add_note(body: NoteIn, session: SessionDep) -> dict[str, object]:
    note = Note(user_id=body.user_id, text=body.text)
    session.add(note)
    session.commit()
    return {"id": note.id, "user_id": note.user_id, "text": note.text}
