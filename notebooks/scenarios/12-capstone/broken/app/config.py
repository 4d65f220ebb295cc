"""Settings, read from the environment (and a local .env) when this module is imported."""

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # a default so that the app starts out of the box on a developer's machine
    DATABASE_URL: str = "postgresql+asyncpg://interviewer:changeme@localhost:5432/interviews"
    APPLICATION_NAME: str = "interviews-api"  # shows up in pg_stat_activity
    CORS_ORIGINS: list[str] = ["http://localhost:5173"]


settings = Settings()
