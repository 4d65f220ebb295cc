"""Settings from the environment (pydantic-settings)."""

from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    """DATABASE_URL is a SQLAlchemy URL for the psycopg2 driver."""

    database_url: str


settings = Settings()  # type: ignore[call-arg]  # the values come from the environment
