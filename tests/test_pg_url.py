import pytest

from labkit import LabkitError
from labkit._postgres._endpoint import Endpoint
from labkit._postgres._url import driver_url, parse_external

pytestmark = pytest.mark.unit


def test_libpq_style_url_is_refused_with_the_asyncpg_form() -> None:
    with pytest.raises(LabkitError) as info:
        parse_external("postgresql://u:secret@db.example.com/app?sslmode=require&channel_binding=require")
    message = str(info.value)
    assert "unexpected keyword argument 'sslmode'" in message
    assert "ssl=require" in message
    assert "secret" not in message  # the corrected URL is shown masked


@pytest.mark.parametrize("raw", ["not a url", "postgresql//missing-colon", "://x"])
def test_malformed_url_says_what_a_url_looks_like(raw: str) -> None:
    with pytest.raises(LabkitError, match="postgresql://user:password@host:5432/dbname"):
        parse_external(raw)


def test_other_databases_are_refused() -> None:
    with pytest.raises(LabkitError, match="needs PostgreSQL"):
        parse_external("mysql://u:p@localhost/db")


def test_url_without_host_is_refused() -> None:
    with pytest.raises(LabkitError, match="no host"):
        parse_external("postgresql:///db")


def test_ssl_mode_is_written_per_driver() -> None:
    endpoint = parse_external("postgresql+asyncpg://u:fake%40pw@db.example.com:6543/app?ssl=require")
    assert endpoint == Endpoint("db.example.com", 6543, "u", "fake@pw", "app", "require")
    assert driver_url(endpoint, "asyncpg").query == {"ssl": "require"}
    assert driver_url(endpoint, "psycopg2").query == {"sslmode": "require"}


def test_password_with_reserved_characters_survives_rendering() -> None:
    endpoint = Endpoint("127.0.0.1", 5432, "u", "a@b/c:d", "db")
    rendered = driver_url(endpoint, "psycopg2").render_as_string(hide_password=False)
    from sqlalchemy.engine import make_url

    assert make_url(rendered).password == "a@b/c:d"
