"""The API, and its dev server: `python -m app.main` serves it with auto-reload."""

import os
from multiprocessing import current_process

import uvicorn
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import AppStart, Base, engine

# Start-up work: create the tables, then record this start.
Base.metadata.create_all(engine)
with Session(engine) as session:
    session.add(AppStart(pid=os.getpid(), process=current_process().name, module=__name__))
    session.commit()

app = FastAPI()


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/starts")
def starts() -> dict[str, int]:
    """How many times the start-up work has run so far."""
    with Session(engine) as session:
        return {"starts": session.scalar(select(func.count()).select_from(AppStart)) or 0}


uvicorn.run(app, port=int(os.environ.get("PORT", "8000")), reload=True)
