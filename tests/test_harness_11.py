"""Scenario 11's measurement module (notebooks/scenarios/11-.../harness.py), against a real PostgreSQL.

Each call notebook 11 makes is run here on the broken project and on the reference steps, and must
say what the notebook's text says it does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import labkit
from labkit import Postgres

pytestmark = pytest.mark.integration  # real PostgreSQL, real uvicorn

SCENARIO = "11-config-and-secrets"
TOKEN = "GET /notes, SECRET_KEY token"
FORGED = "GET /notes, forged token"


@pytest.fixture
def lab(local_pg: Postgres, tmp_path: Path) -> Iterator[labkit.Lab]:
    """A reference copy of the broken project in a temporary folder."""
    with labkit.Lab(SCENARIO, local_pg, tmp_path / SCENARIO, reference=True) as made:
        yield made


@pytest.fixture
def notes(lab: labkit.Lab):
    return lab.harness.Notes(lab)


def roles(pg: Postgres) -> int:
    return int(pg.query("select count(*) from pg_roles where rolname = %s", "notes_app")[0][0])


def test_mask_hides_every_secret_and_runs_of_its_characters(notes) -> None:
    password = notes.secrets["DB_PASSWORD"]
    text = f"a {password} b {password[3:11]} c {notes.where.port} d {notes.bad_port}"
    masked = notes.mask(text)
    assert masked == "a {DB_PASSWORD} b {8 chars of DB_PASSWORD} c PGPORT d PGPORT+65536"
    assert notes.leaks(text) == ("DB_PASSWORD",) and notes.leaks(masked) == ()
    assert notes.leaks(password[:5]) == ()  # fewer than 6 characters are no leak


def test_the_broken_app_starts_without_a_key_accepts_the_forged_token_and_logs_the_password(lab, notes) -> None:
    no_key = notes.start("SECRET_KEY unset", key=None)
    assert no_key.exit_code is None
    assert [status for _, status, _ in no_key.answers] == [401, 200, 401]
    assert no_key.status(FORGED) == 200 and "admin: note 1" in no_key.answers[1][2]
    assert no_key.output.count("{DB_PASSWORD}") == 2 and no_key.leaked == ("DB_PASSWORD",)
    assert f"secret_key='{notes.default_key()}'" in no_key.line("app: settings:")
    assert '"GET /health' not in no_key.output
    assert roles(lab.pg) == 0  # the role is dropped once the app is gone


def test_the_rotated_password_stops_the_broken_app_and_its_error_quotes_the_password(notes) -> None:
    rotated = notes.start("rotated password", password="DB_PASSWORD (rotated)")
    assert rotated.exit_code == 3 and rotated.answers == ()
    assert rotated.error.startswith("ValueError: invalid literal for int() with base 10")
    assert "{8 chars of DB_PASSWORD (rotated)}" in rotated.error
    assert "DB_PASSWORD (rotated)" in rotated.leaked
    assert repr(rotated).startswith("refused to start, exit code 3\nValueError")


def test_which_characters_break_the_f_string_url(lab, notes) -> None:
    chars = notes.characters()
    ok = ("connected as notes_app", "connected as notes_app")
    assert [chars.outcome(c) == ok for c, *_ in chars.rows] == [True] * 3 + [False] * 3
    assert chars.outcome("@")[0] == "gaierror (the host name does not resolve)"
    assert chars.outcome("%2F")[0] == 'DBAPIError: password authentication failed for user "notes_app"'
    assert chars.outcome("@ then :")[0].startswith("ValueError: invalid literal for int()")
    assert all(built == ok[1] for *_, built in chars.rows)
    assert "password" not in "".join(host for _, host, _, _ in chars.rows).replace("chars of password", "")
    assert roles(lab.pg) == 0


def test_a_port_above_65535_is_accepted_by_the_broken_app(notes) -> None:
    port = notes.wrong_port()
    assert port.served.exit_code is None
    assert port.on_asyncio == "OverflowError: connect(): port must be 0-65535."
    if port.on_uvloop == "uvloop is not installed":
        assert port.served.status(TOKEN) == 500
    else:
        assert port.served.status(TOKEN) == 200 and port.on_uvloop == "connected as notes_app"


def test_the_reference_steps_refuse_bad_deploys_and_print_no_secret(lab, notes) -> None:
    lab.apply(1)
    refused = notes.start("SECRET_KEY unset", key=None)
    assert refused.exit_code == 1 and "secret_key\n  Field required [type=missing" in refused.output
    assert refused.leaked == ("DB_PASSWORD",)  # pydantic echoes the inputs, until step 4
    lab.apply(2)
    served = notes.start("rotated password", password="DB_PASSWORD (rotated)")
    assert served.status(TOKEN) == 200 and served.status(FORGED) == 401
    assert "notes_app:***@" in served.line("app: database:")
    assert served.leaked == ("DB_PASSWORD (rotated)", "SECRET_KEY")
    lab.apply(3)
    lab.apply(4)
    deploys = notes.deploys(
        {
            "good": {},
            "no key": {"key": None},
            "short key": {"key": "short key"},
            "wrong port": {"DB_PORT": str(notes.bad_port)},
        }
    )
    assert [status for _, status, _ in deploys["good"].answers] == [401, 401, 200]
    assert [deploys[name].exit_code for name in ("no key", "short key", "wrong port")] == [1, 1, 1]
    assert deploys["no key"].outcome == "secret_key / Field required [type=missing]"
    assert "at least 32" in deploys["short key"].outcome and "65535" in deploys["wrong port"].outcome
    assert all(d.leaked == () for d in deploys.runs.values())
    assert len(str(deploys).splitlines()) == 6
    shown = notes.settings_repr()
    assert shown.returncode == 0 and shown.output.count("SecretStr('**********')") == 4 and shown.leaked == ()
    assert roles(lab.pg) == 0


def test_dotenv_is_read_only_from_the_project_folder(lab: labkit.Lab) -> None:
    read = lab.harness.dotenv_from(lab)
    assert (read.from_project, read.from_parent) == ("read .env", "ValidationError: db_password missing")
    assert not (lab.workdir / ".env").exists()


def test_lru_cache_saves_no_dotenv_read_in_the_reports_code_and_hides_a_tests_change(lab: labkit.Lab) -> None:
    cache = lab.harness.settings_cache()
    assert cache.reads("with @lru_cache()") == (1, 1) and cache.reads("without it") == (1, 4)
    cached, uncached = cache.runs["with @lru_cache()"], cache.runs["without it"]
    assert (cached["get_settings_sees"], cached["settings_sees"]) == ("from-dotenv", "from-dotenv")
    assert (uncached["get_settings_sees"], uncached["settings_sees"]) == ("set-by-a-test", "from-dotenv")
