from fastapi import FastAPI, HTTPException, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

app = FastAPI()


@app.get("/live")
async def live() -> dict[str, str]:
    return {"status": "alive"}


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}  # liveness under the usual name: asks nothing, claims nothing about the database


@app.get("/ready")
async def ready(engine, response: Response) -> dict[str, str]:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("select 1"))
    except Exception:
        response.status_code = 503
        return {"status": "unready"}
    return {"status": "ready"}


@app.get("/health/db")
async def health_db(engine) -> dict[str, str]:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("select 1"))
    except Exception as exc:
        raise HTTPException(status_code=503, detail="database unavailable") from exc
    return {"database": "ok"}


@app.get("/healthz")
async def healthz(engine):
    try:
        async with engine.connect() as conn:
            await conn.execute(text("select 1"))
    except Exception:
        return JSONResponse({"database": "down"}, 503)
    return {"database": "up"}


@app.get("/orders")
async def orders(engine) -> list[int]:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("select 1"))
    except Exception:
        return []  # not a health route: what an empty list means is the route's own business
    return [1]


@app.get("/health/cache")
async def cache_health(cache) -> dict[str, str]:
    try:
        cache.get("x")  # not the database
    except Exception:
        return {"cache": "down"}
    return {"cache": "up"}
