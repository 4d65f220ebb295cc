"""Routes on the `databases` library, with SQLAlchemy Core tables next to them."""

import sqlalchemy

from app.database import database

notes = sqlalchemy.Table("notes", sqlalchemy.MetaData(), sqlalchemy.Column("id", sqlalchemy.Integer))


async def add_note() -> None:
    await database.execute("INSERT INTO notes (id) VALUES (1)")
