import uvicorn
from fastapi import FastAPI

app = FastAPI()
TARGET = "good_run:app"

if __name__ == "__main__":
    uvicorn.run("good_run:app", reload=True)
    uvicorn.run(TARGET, workers=4)
    uvicorn.run(app)  # one process, no reload: the object is fine
    uvicorn.run(app, reload=False, workers=1)
