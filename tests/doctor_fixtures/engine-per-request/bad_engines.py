import os

from fastapi import Depends, FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import Session

app = FastAPI()


def get_db():
    engine = create_engine(os.environ["DATABASE_URL"])  # expect: engine-per-request
    with Session(engine) as session:
        yield session


@app.get("/count")
async def count() -> int:
    engine = create_async_engine(os.environ["DATABASE_URL"])  # expect: engine-per-request
    async with engine.connect() as conn:
        return (await conn.execute(text("select 1"))).scalar_one()


@app.get("/items")
def items(db: Session = Depends(get_db)) -> list[int]:
    return []
