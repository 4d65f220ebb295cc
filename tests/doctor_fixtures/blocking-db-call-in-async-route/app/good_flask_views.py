"""Flask runs an async view on an event loop of its own: a blocking call stalls no other request there."""

from flask import Flask
from sqlalchemy import text

from app.db import SessionLocal

flask_app = Flask(__name__)


@flask_app.get("/flask")
async def flask_view() -> str:
    with SessionLocal() as session:
        return str(session.execute(text("select 1")).scalar_one())
