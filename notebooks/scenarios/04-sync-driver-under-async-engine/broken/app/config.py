"""Settings for the reports API (pydantic-settings)."""

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Read from the environment first, then from .env, then these defaults."""

    model_config = SettingsConfigDict(env_file=".env")

    # The provider's connection string, libpq style, as its dashboard shows it.
    database_url: str = "postgresql://reports:reports-dev-pw@localhost:5432/reports?sslmode=prefer"
    pool_size: int = 20
