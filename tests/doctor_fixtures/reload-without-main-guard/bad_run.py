import uvicorn
from fastapi import FastAPI

app = FastAPI()
WORKERS = 4

uvicorn.run(app, reload=True)  # expect: reload-without-main-guard, reload-with-app-object
uvicorn.run("bad_run:app", workers=WORKERS)  # expect: reload-without-main-guard
