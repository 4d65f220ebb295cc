import uvicorn
from fastapi import FastAPI

app = FastAPI()


def main() -> None:
    """A console-script entry point: runs only when called."""
    uvicorn.run("good_run:app", reload=True, workers=2)


uvicorn.run(app, port=8001)
uvicorn.run(app, reload=False, workers=1)

if __name__ == "__main__":
    uvicorn.run("good_run:app", reload=True)

if __name__ != "__main__":
    pass
else:
    uvicorn.run("good_run:app", workers=4)
