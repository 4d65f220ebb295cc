"""Passwords written into database URLs in the code."""

import os

from pydantic_settings import BaseSettings
from sqlalchemy import URL

PASSWORD_URL = "postgresql+asyncpg://app:secret@db.internal/app"  # expect: hardcoded-db-password
BOTH = "postgresql+asyncpg://app:secret@db.internal/app?sslmode=require"  # expect: libpq-params-in-asyncpg-url, hardcoded-db-password
FROM_ENV = os.environ.get("DATABASE_URL", "mysql+pymysql://app:password@db.internal/app")  # expect: hardcoded-db-password


class Settings(BaseSettings):
    database_url: str = "postgresql://app:changeme@localhost:5432/app"  # expect: hardcoded-db-password


def templated(host: str) -> str:
    return f"postgresql://app:secret@{host}/app"  # expect: hardcoded-db-password


CREATED = URL.create("postgresql+asyncpg", username="app", password="secret", host="db")  # expect: hardcoded-db-password

PRODUCTION = {
    "user": "reporting",
    "password": "Tr0ub4dor&3",  # expect: hardcoded-db-password
    "host": "reporting.cluster-abc.eu-west-1.rds.example.com",
}
PRODUCTION_URL = "postgresql+asyncpg://{user}:{password}@{host}/app".format(**PRODUCTION)
LOCAL = dict(user="app", password="app", host="localhost", database="app")  # expect: hardcoded-db-password
COMPOSE_URL = "postgresql://app:fake-compose@db:5432/app"  # expect: hardcoded-db-password


def connect_directly(psycopg2):
    return psycopg2.connect(host="10.0.4.17", user="app", password="hunter2")  # expect: hardcoded-db-password
import psycopg2  # noqa: E402

CONNECTION = psycopg2.connect(host="10.0.4.18", password="hunter3")  # expect: hardcoded-db-password
