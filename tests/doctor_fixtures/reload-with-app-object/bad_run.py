import uvicorn
from fastapi import FastAPI

app = FastAPI()

if __name__ == "__main__":
    uvicorn.run(app, reload=True)  # expect: reload-with-app-object
    uvicorn.run(app=app, workers=4)  # expect: reload-with-app-object


def main() -> None:
    uvicorn.run(app, host="0.0.0.0", reload=True)  # expect: reload-with-app-object
