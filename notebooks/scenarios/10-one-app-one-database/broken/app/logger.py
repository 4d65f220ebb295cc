"""Logging for the whole app: one format, the level from the settings."""

import logging

# TODO(5): config imports logger and logger imports config: an import cycle
from app import config


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(f"shop.{name}")


def setup_logging() -> None:
    logging.basicConfig(level=config.settings.LOG_LEVEL, format="%(levelname)s:     %(name)s: %(message)s")
