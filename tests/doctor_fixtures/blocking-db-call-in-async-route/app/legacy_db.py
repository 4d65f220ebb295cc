"""An older wiring, the way many projects start: no annotations, a CRUD module, helpers."""

import os

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker


def build_engine(url):
    return create_engine(url, pool_pre_ping=True)


engine = None
LegacySession = sessionmaker(autoflush=False)


def get_db():
    db = LegacySession()
    try:
        yield db
    finally:
        db.close()


async def get_db_async():
    with LegacySession() as db:
        yield db


def count_users(db: Session) -> int:
    return db.execute(text("select count(*) from users")).scalar_one()


def rename(db: Session, user_id: int, name: str) -> None:
    db.query(object).filter_by(id=user_id).update({"name": name})
    db.commit()


def describe(user_id: int) -> str:
    return f"user {user_id}"


def url() -> str:
    return os.environ["DATABASE_URL"]


class UserService:
    def fetch(self, db: Session, user_id: int):
        return db.query(object).filter_by(id=user_id).first()

    def label(self, user_id: int) -> str:
        return f"user {user_id}"


user_service = UserService()


class PostService:
    def __init__(self, db: Session) -> None:
        self.db = db

    def latest(self):
        return self.db.query(object).first()

    def title(self, post) -> str:
        return str(post)


def exists(db: Session, model, ident):
    found = db.get(model, ident)
    if found is None:
        raise LookupError(ident)
    return found


def page(db: Session, number: int) -> dict:
    return {"page": number}


class TopicService:
    def fetch(self, db: Session, ident: int):
        return exists(db, object, ident)

    def first_page(self, db: Session):
        return page(db, 1)


topic_service = TopicService()
