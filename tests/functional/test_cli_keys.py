"""``dataright keys create / list / revoke`` against a real database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dataright.access.service import authenticate
from dataright.cli.main import app
from dataright.config import Settings, use_settings
from dataright.errors import Unauthenticated
from dataright.storage.engine import make_engine, make_session_factory, session_scope
from dataright.storage.migrate import upgrade
from fixtures.db import TEST_SECRET

runner = CliRunner()


@pytest.fixture
def configured(fresh_db_url: str, examples_dir: Path) -> Iterator[str]:
    upgrade(fresh_db_url)
    declarations = [examples_dir / "nexalearn", examples_dir / "nestpros"]
    use_settings(Settings(database_url=fresh_db_url, secret_key=TEST_SECRET, declarations=declarations))
    yield fresh_db_url
    use_settings(None)


def _authenticates(url: str, token: str) -> bool:
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine), write=False) as s:
            authenticate(s, token)
            return True
    except Unauthenticated:
        return False
    finally:
        engine.dispose()


def test_create_prints_a_working_token_once_and_list_shows_only_its_prefix(configured: str) -> None:
    created = runner.invoke(
        app, ["keys", "create", "--controller", "nexalearn", "--scope", "consent:read", "--scope", "consent:write"]
    )
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert token.startswith("dr_")
    assert _authenticates(configured, token)
    listed = runner.invoke(app, ["keys", "list"])
    assert listed.exit_code == 0
    prefix = token.split("_")[1]
    assert f"dr_{prefix}" in listed.stdout and token not in listed.stdout
    assert "consent:read" in listed.stdout and "nexalearn" in listed.stdout


def test_revoke_stops_the_key(configured: str) -> None:
    token = runner.invoke(app, ["keys", "create", "--controller", "nexalearn", "--scope", "admin"]).stdout.strip()
    prefix = token.split("_")[1]
    result = runner.invoke(app, ["keys", "revoke", prefix])
    assert result.exit_code == 0, result.output
    assert not _authenticates(configured, token)
    assert prefix not in runner.invoke(app, ["keys", "list"]).stdout
    assert prefix in runner.invoke(app, ["keys", "list", "--all"]).stdout


def test_bad_requests_exit_1_with_the_reason(configured: str) -> None:
    result = runner.invoke(app, ["keys", "create", "--controller", "nexalearn", "--scope", "consent:delete"])
    assert result.exit_code == 1
    assert "unknown consent:delete" in result.output
    result = runner.invoke(app, ["keys", "revoke", "000000000000"])
    assert result.exit_code == 1
    assert "no API key with prefix" in result.output


@pytest.mark.parametrize("form", ["as-listed", "bare", "with-underscore", "whole-key"])
def test_revoke_takes_the_prefix_as_listed_and_as_it_appears_in_the_key(configured: str, form: str) -> None:
    token = runner.invoke(app, ["keys", "create", "--controller", "nexalearn", "--scope", "admin"]).stdout.strip()
    prefix = token.split("_")[1]
    listed = next(word for word in runner.invoke(app, ["keys", "list"]).stdout.split() if prefix in word)
    assert listed == f"dr_{prefix}"
    given = {"as-listed": listed, "bare": prefix, "with-underscore": f"dr_{prefix}_", "whole-key": token}[form]
    result = runner.invoke(app, ["keys", "revoke", given])
    assert result.exit_code == 0, result.output
    assert f"revoked dr_{prefix}" in result.output
    assert not _authenticates(configured, token)


def test_revoke_names_what_is_not_a_prefix(configured: str) -> None:
    result = runner.invoke(app, ["keys", "revoke", "dr_nothex"])
    assert result.exit_code == 1
    assert "'dr_nothex' is not a key prefix" in result.output


def test_create_refuses_a_controller_no_declaration_has(configured: str) -> None:
    result = runner.invoke(app, ["keys", "create", "--controller", "nexalern", "--scope", "consent:read"])
    assert result.exit_code == 1
    assert "--controller nexalern: no loaded declaration has this controller; did you mean 'nexalearn'?" in (
        result.output
    )
    assert "dr_" not in runner.invoke(app, ["keys", "list"]).stdout
    everywhere = runner.invoke(app, ["keys", "create", "--controller", "*", "--scope", "admin"])
    assert everywhere.exit_code == 0, everywhere.output


def test_create_without_declarations_says_how_to_name_them(fresh_db_url: str) -> None:
    upgrade(fresh_db_url)
    use_settings(Settings(database_url=fresh_db_url, secret_key=TEST_SECRET))
    try:
        result = runner.invoke(app, ["keys", "create", "--controller", "nexalearn", "--scope", "consent:read"])
    finally:
        use_settings(None)
    assert result.exit_code == 1
    assert "pass --declarations PATH or set DATARIGHT_DECLARATIONS" in result.output
