"""An engine on NexaLearn's declaration, its dataright database a fresh SQLite file, its datastore the
e-learning database under test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from dataright.config import derive_keys
from dataright.declarations.schema import Declaration
from dataright.engine.service import Engine
from dataright.storage.engine import make_engine, make_session_factory
from dataright.storage.migrate import upgrade
from fixtures.db import TEST_SECRET
from fixtures.elearning import TABLES, metadata

EngineFactory = Callable[[str], Engine]


@pytest.fixture
def dsr_engine(nexalearn: Declaration, tmp_path: Path) -> Iterator[EngineFactory]:
    made: list[Any] = []

    def make(datastore_url: str) -> Engine:
        db = make_engine(f"sqlite:///{tmp_path / f'dataright{len(made)}.sqlite3'}")
        upgrade(db)
        made.append(db)
        return Engine(
            nexalearn,
            session_factory=make_session_factory(db),
            keys=derive_keys(TEST_SECRET),
            environ={"NEXALEARN_DB_URL": datastore_url},
            retries=0,
        )

    yield make
    for db in made:
        db.dispose()


def snapshot(url: str) -> dict[str, dict[Any, dict[str, Any]]]:
    """Every row of every table, by primary key."""
    engine = create_engine(url)
    try:
        out: dict[str, dict[Any, dict[str, Any]]] = {}
        with engine.connect() as conn:
            for name in TABLES:
                table = metadata.tables[name]
                key = next(iter(table.primary_key.columns)).name
                out[name] = {row[key]: dict(row) for row in conn.execute(select(table)).mappings()}
        return out
    finally:
        engine.dispose()


def orphans(url: str) -> list[str]:
    """Foreign-key values that point at no row (there must be none)."""
    found: list[str] = []
    data = snapshot(url)
    for table in metadata.sorted_tables:
        for fk in table.foreign_keys:
            parent = data[fk.column.table.name]
            for row in data[table.name].values():
                value = row[fk.parent.name]
                if value is not None and value not in parent:
                    found.append(f"{table.name}.{fk.parent.name}={value}")
    return found
