from fastapi import APIRouter, FastAPI

app = FastAPI(on_startup=[lambda: None])  # expect: on-event
router = APIRouter()


@app.on_event("startup")  # expect: on-event
async def startup() -> None:
    pass


@router.on_event("shutdown")  # expect: on-event
async def shutdown() -> None:
    pass


async def close() -> None:
    pass


app.add_event_handler("shutdown", close)  # expect: on-event
