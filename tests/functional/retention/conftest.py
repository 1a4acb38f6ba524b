"""A retention service on a fresh dataright database (SQLite) over a datastore under test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, select, text

from dataright.audit.models import AuditEntry
from dataright.config import Settings, derive_keys, use_settings
from dataright.declarations.schema import Declaration
from dataright.retention.service import Retention
from dataright.storage.engine import make_engine, make_session_factory, session_scope
from dataright.storage.migrate import upgrade
from fixtures.db import TEST_SECRET
from fixtures.rights_requests import file_by_staff

RetentionFactory = Callable[..., Retention]


@pytest.fixture
def dataright_db(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'dataright.sqlite3'}"
    use_settings(Settings(database_url=url, secret_key=TEST_SECRET, base_url="http://testserver"))
    db = make_engine(url)
    upgrade(db)
    yield db
    db.dispose()
    use_settings(None)


@pytest.fixture
def retention(dataright_db: Engine) -> RetentionFactory:
    def make(declaration: Declaration, controller_id: str, environ: dict[str, str], **options: Any) -> Retention:
        return Retention(
            declaration,
            controller_id=controller_id,
            session_factory=make_session_factory(dataright_db),
            keys=derive_keys(TEST_SECRET),
            environ=environ,
            **options,
        )

    return make


def file_access_request(db: Engine, declaration: Declaration, controller_id: str, email: str) -> str:
    """An open (received) access request of the person with this e-mail address, through the intake."""
    with session_scope(make_session_factory(db)) as session:
        request = file_by_staff(session, declaration, controller_id=controller_id, kind="access", email=email)
        return request.reference


def audit_entries(db: Engine, prefix: str = "retention.") -> list[AuditEntry]:
    with session_scope(make_session_factory(db), write=False) as session:
        found = session.execute(select(AuditEntry).where(AuditEntry.action.startswith(prefix)).order_by(AuditEntry.id))
        entries = list(found.scalars())
        session.expunge_all()
        return entries


def execute(url: str, *statements: tuple[str, dict[str, Any]]) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for sql, params in statements:
                conn.execute(text(sql), params)
    finally:
        engine.dispose()


def rows(url: str, sql: str, **params: Any) -> list[dict[str, Any]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(text(sql), params).mappings()]
    finally:
        engine.dispose()


def days_ago(n: int, today: date | None = None) -> date:
    return (today or date.today()) - timedelta(days=n)
