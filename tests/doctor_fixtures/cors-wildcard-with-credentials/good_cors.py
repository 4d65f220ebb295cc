import os

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

public, listed, configured, anonymous, regex = FastAPI(), FastAPI(), FastAPI(), FastAPI(), FastAPI()
public.add_middleware(CORSMiddleware, allow_origins=["*"])  # public API, no cookies
listed.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"], allow_credentials=True)
configured.add_middleware(CORSMiddleware, allow_origins=os.environ["ORIGINS"].split(","), allow_credentials=True)
anonymous.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=False)
regex.add_middleware(CORSMiddleware, allow_origin_regex=r"https://.*\.example\.com", allow_credentials=True)
