import os

from pydantic import Field
from pydantic_settings import BaseSettings

SECRET_KEY = "django-insecure-0123456789abcdef"  # expect: default-secret
JWT_SECRET = os.getenv("JWT_SECRET", "dev-jwt-secret")  # expect: default-secret


class Settings(BaseSettings):
    secret_key: str = "dev-secret-key-change-me"  # expect: default-secret
    api_key: str = Field("sk-test-123456")  # expect: default-secret
    github_token: str = Field(default="ghp_examplexxxxxxxxxxxxxxxx")  # expect: default-secret
    db_password: str  # expect: default-secret
    smtp_password: str | None = None  # expect: default-secret
