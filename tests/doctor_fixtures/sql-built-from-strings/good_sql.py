from sqlalchemy import select, text

USERS = "users"
SCHEMA = "public"


class User:
    __tablename__ = "users"


def find(conn, name: str):
    conn.execute(text("select * from users where name = :name"), {"name": name})
    conn.execute(text(f"select count(*) from {USERS}"))
    conn.execute(text(f"select * from {SCHEMA}.{User.__tablename__}"))
    conn.execute(text("select 1" + " as one"))
    conn.exec_driver_sql("select 1")
    label = f"hello {name}"  # not SQL, not given to text()
    return label


def text_of_something_else(widget, name: str):
    widget.text(f"hello {name}")  # not SQLAlchemy's text()


def admin(conn, settings):
    check = f"SELECT 1 FROM pg_database WHERE datname = '{settings.DATABASE_NAME}'"
    conn.execute(text(check))
