"""An Alembic migration: op.execute takes plain SQL."""

import sqlalchemy as sa
from alembic import op


def upgrade() -> None:
    op.execute("UPDATE users SET active = true")
    op.add_column("users", sa.Column("flag", sa.Boolean()))
