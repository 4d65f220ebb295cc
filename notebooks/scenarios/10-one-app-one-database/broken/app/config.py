"""Settings, read once from the environment when this module is imported."""

from pydantic import model_validator
from pydantic_settings import BaseSettings

from app.logger import get_logger

log = get_logger("config")


class Settings(BaseSettings):
    ENVIRONMENT: str = "development"
    PRODUCTION: bool = False
    LOG_LEVEL: str = "INFO"
    DATABASE_URL: str = ""

    # TODO(4): without DATABASE_URL this calls _get_secret, which is defined nowhere
    @model_validator(mode="after")
    def database_url_from_secret_manager(self) -> "Settings":
        # in the cloud the URL is not in the environment: fetch it from the secret manager
        if not self.DATABASE_URL:
            self.DATABASE_URL = _get_secret("database-url")
        return self


settings = Settings()
log.info("settings loaded (environment=%s)", settings.ENVIRONMENT)
