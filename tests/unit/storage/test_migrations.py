"""Migrations: one head, date-prefixed files, and the migrated schema equals the models (no drift)."""

from __future__ import annotations

import re

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from dataright.storage.discovery import all_metadata, import_all_models
from dataright.storage.engine import make_engine
from dataright.storage.migrate import VERSIONS, alembic_config, current_revision, downgrade, head_revision, upgrade


def test_the_migrated_schema_matches_every_domains_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, all_metadata())
    assert differences == [], "models and migrations differ; add a revision with `dataright db revision -m ...`"


def test_the_revisions_form_one_line_without_branches() -> None:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"several heads {heads}: chain your revision after the current head"


def test_revision_files_are_date_prefixed() -> None:
    names = sorted(p.name for p in VERSIONS.glob("*.py"))
    assert names
    for name in names:
        assert re.match(r"^\d{4}_\d{2}_\d{2}_\d{4}-[0-9a-z]+_[a-z0-9_]+\.py$", name), name


def test_discovery_finds_the_platform_domains() -> None:
    found = import_all_models()
    assert {"dataright.audit.models", "dataright.identity.models", "dataright.access.models"} <= set(found)


@pytest.mark.slow  # every migration down and up again, on each backend
def test_a_fresh_database_migrates_to_head_and_down_to_nothing_and_back(fresh_db_url: str) -> None:
    engine = make_engine(fresh_db_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert {"audit_entries", "subjects", "api_keys"} <= set(inspect(engine).get_table_names())
        upgrade(engine)  # a second run is a no-op
        downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
