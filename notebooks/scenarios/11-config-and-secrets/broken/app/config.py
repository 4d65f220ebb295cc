"""Settings of the notes API, read by pydantic-settings from the environment (and a local .env)."""

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Each field comes from the environment variable of the same name: DB_HOST, SECRET_KEY, ..."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    db_host: str = "localhost"
    db_port: int = 5432
    db_name: str = "notes"
    db_user: str = "notes"
    db_password: str

    # Signs the session tokens. A default, so that the app starts out of the box.
    secret_key: str = "dev-secret-key-change-me"

    @property
    def database_url(self) -> str:
        return f"postgresql+asyncpg://{self.db_user}:{self.db_password}@{self.db_host}:{self.db_port}/{self.db_name}"


settings = Settings()  # type: ignore[call-arg]  # the values come from the environment
