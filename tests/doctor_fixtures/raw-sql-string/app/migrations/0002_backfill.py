"""A migration that talks to its connection: op.get_bind() is a real SQLAlchemy Connection."""

from alembic import op
from sqlalchemy import text


def upgrade() -> None:
    conn = op.get_bind()
    conn.execute("UPDATE users SET active = true WHERE active IS NULL")  # expect: raw-sql-string
    rows = conn.execute(text("SELECT id FROM users")).all()
    op.execute("UPDATE users SET flag = false")
    del rows
