"""Shared by the sender tests: a migrated database of its own per module and backend, settings for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session, sessionmaker

from dataright.config import Settings, use_settings
from dataright.mail.models import OutboxMessage
from dataright.storage.engine import make_engine, make_session_factory, session_scope
from dataright.storage.migrate import upgrade
from fixtures.db import TEST_SECRET, _new_url
from fixtures.smtp import SmtpServer

VERIFICATION = {
    "controller_name": "NexaLearn AS",
    "request_reference": "REQ-7K2P",
    "code": "481516",
    "link": "https://privacy.nexalearn.example/verify?t=abc",
    "expires_at": "2026-12-03",
}


@pytest.fixture(scope="module")
def outbox_db(db_url: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of this module's own (the sender commits for real), migrated to head."""
    url = _new_url("sqlite" if db_url.startswith("sqlite") else "postgresql", request, tmp_path_factory)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url


@pytest.fixture
def outbox_engine(outbox_db: str) -> Iterator[Engine]:
    engine = make_engine(outbox_db)
    with engine.begin() as connection:
        connection.execute(delete(OutboxMessage))
    yield engine
    engine.dispose()


@pytest.fixture
def factory(outbox_engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(outbox_engine)


def mail_settings(url: str, smtp: SmtpServer | None = None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": url,
        "secret_key": TEST_SECRET,
        "mail_from": "privacy@dataright.example",
        "mail_backoff_seconds": 60,
        "mail_max_attempts": 3,
        **overrides,
    }
    if smtp is not None:
        values.update(smtp_host=smtp.host, smtp_port=smtp.port)
    return Settings(**values)


@pytest.fixture
def installed() -> Iterator[list[Settings]]:
    """Call ``install(settings)`` through this list; the settings are removed after the test."""
    holder: list[Settings] = []
    yield holder
    use_settings(None)


def install(holder: list[Settings], settings: Settings) -> Settings:
    holder.append(settings)
    use_settings(settings)
    return settings


def enqueue_verifications(
    factory: sessionmaker[Session], count: int, *, language: str = "en", prefix: str = "kari"
) -> list[Any]:
    from dataright.mail import service

    ids = []
    with session_scope(factory) as session:
        for n in range(count):
            ids.append(
                service.enqueue(
                    session,
                    controller_id="nexalearn",
                    to=f"{prefix}.{n}@example.no",
                    template="request_verification",
                    language=language,
                    context={**VERIFICATION, "request_reference": f"REQ-{n}"},
                    dedupe_key=f"test:{prefix}:{n}",
                )
            )
    return ids


def rows(factory: sessionmaker[Session]) -> dict[Any, OutboxMessage]:
    with session_scope(factory, write=False) as session:
        return {row.id: row for row in session.query(OutboxMessage)}


def eml_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.eml"))
