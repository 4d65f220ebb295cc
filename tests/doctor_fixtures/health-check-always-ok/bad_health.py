from fastapi import APIRouter, FastAPI
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

app = FastAPI()
router = APIRouter()


@app.get("/health")
async def health(engine) -> dict[str, str]:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("select 1"))
        return {"status": "healthy"}
    except Exception:  # expect: health-check-always-ok
        return {"status": "unhealthy"}


@router.get("/ready")
def readiness(session) -> dict[str, bool]:
    try:
        session.execute(text("select 1"))
        ok = True
    except SQLAlchemyError:  # expect: health-check-always-ok
        ok = False
    return {"ready": ok}


@app.get("/status/db")
async def db_health(pool) -> dict[str, str]:
    try:
        await pool.fetchval("select 1")
    except:  # noqa: E722  # expect: health-check-always-ok
        return {"database": "down"}
    return {"database": "up"}
