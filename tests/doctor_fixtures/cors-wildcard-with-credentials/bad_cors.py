from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.middleware import Middleware

ANYONE = "*"

app = FastAPI()
app.add_middleware(  # expect: cors-wildcard-with-credentials
    CORSMiddleware,
    allow_origins=["*"],
    allow_credentials=True,
)
other = FastAPI(middleware=[
    Middleware(CORSMiddleware, allow_origins=[ANYONE], allow_credentials=True),  # expect: cors-wildcard-with-credentials
])
regex = FastAPI()
regex.add_middleware(CORSMiddleware, allow_origin_regex=".*", allow_credentials=True)  # expect: cors-wildcard-with-credentials
