"""``dataright audit verify`` and ``dataright db upgrade`` against a real database."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from dataright.audit.service import append, seal_pending
from dataright.cli.main import app
from dataright.config import Settings, use_settings
from dataright.storage.engine import make_engine, make_session_factory, session_scope
from dataright.storage.migrate import head_revision
from fixtures.db import TEST_SECRET

runner = CliRunner()


@pytest.fixture
def configured(fresh_db_url: str) -> Iterator[str]:
    use_settings(Settings(database_url=fresh_db_url, secret_key=TEST_SECRET))
    yield fresh_db_url
    use_settings(None)


def _write_entries(url: str, count: int, *, sealed: bool = True) -> None:
    engine = make_engine(url)
    try:
        factory = make_session_factory(engine)
        with session_scope(factory) as s:
            for i in range(count):
                append(s, actor="cli", action="test.entry", entity_type="test", entity_id=str(i))
        if sealed:
            seal_pending(partial(session_scope, factory))
    finally:
        engine.dispose()


def _execute(url: str, sql: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(sql))
    finally:
        engine.dispose()


def test_db_upgrade_migrates_the_configured_database_to_head(configured: str) -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert head_revision() in result.output


def test_audit_verify_seals_what_was_appended_and_passes_on_an_intact_chain(configured: str) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    _write_entries(configured, 5, sealed=False)
    result = runner.invoke(app, ["audit", "verify", "--no-seal"])
    assert result.exit_code == 0, result.output
    assert "intact: 0 entries" in result.output and "5 entries appended but not sealed yet" in result.output
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "intact: 5 entries" in result.output and "not sealed" not in result.output


def test_audit_verify_exits_1_and_names_the_tampered_entry(configured: str) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    _write_entries(configured, 5)
    _execute(configured, "UPDATE audit_entries SET actor = 'someone-else' WHERE id = 3")
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "broken at entry #3" in result.output


def test_audit_verify_exits_1_when_an_entry_was_deleted(configured: str) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    _write_entries(configured, 5)
    _execute(configured, "DELETE FROM audit_entries WHERE id = 2")
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "broken at entry #3" in result.output and "#2 is missing" in result.output


def test_commands_on_an_unmigrated_postgresql_database_say_to_run_db_upgrade(configured: str, backend: str) -> None:
    if backend == "sqlite":
        result = runner.invoke(app, ["audit", "verify"])  # the embedded database migrates itself
        assert result.exit_code == 0, result.output
        return
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "dataright db upgrade" in result.output
