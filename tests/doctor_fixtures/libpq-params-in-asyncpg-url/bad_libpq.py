"""asyncpg URLs carrying libpq-only parameters."""


LIBPQ_URL = "postgresql+asyncpg://app@db.internal/app?sslmode=require"  # expect: libpq-params-in-asyncpg-url


def libpq(host: str) -> str:
    return f"postgresql+asyncpg://app@{host}/app?ssl=require&channel_binding=require"  # expect: libpq-params-in-asyncpg-url
