"""The consent ledger's tables: append-only events and the current state derived from them.

``consent_events`` is history: rows are inserted, never updated or deleted (the service never does, and
database triggers on SQLite and PostgreSQL refuse it; see the migration). ``consent_state`` holds one row
per holder × target with the event that decided it, rewritten in the same transaction as each event; the
consent check reads only this table, by its primary key.

Event rows reference subjects and devices without cascading deletes: consent records are kept to
demonstrate consent (GDPR Art. 7(1)) even after the person's identifiers are erased.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from dataright.storage.base import Base
from dataright.storage.types import JSONType, UTCDateTime, utcnow

EVENT_ID = BigInteger().with_variant(Integer(), "sqlite")  # SQLite only auto-increments INTEGER keys


class ConsentEvent(Base):
    __tablename__ = "consent_events"
    __table_args__ = (
        CheckConstraint("(subject_id IS NULL) <> (device_id IS NULL)", name="one_holder"),
        UniqueConstraint("controller_id", "import_key"),
        Index("ix_consent_events_subject", "subject_id", "id"),
        Index("ix_consent_events_device", "device_id", "id"),
    )

    id: Mapped[int] = mapped_column(EVENT_ID, primary_key=True, autoincrement=True)
    receipt_id: Mapped[uuid.UUID] = mapped_column(Uuid(), unique=True, default=uuid.uuid4)
    controller_id: Mapped[str] = mapped_column(String(80))
    subject_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("subjects.id"), default=None)
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("devices.id"), default=None)
    target: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str | None] = mapped_column(String(40), default=None)
    notice_version: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    method: Mapped[str] = mapped_column(String(20))
    source: Mapped[str | None] = mapped_column(String(200), default=None)
    actor: Mapped[str] = mapped_column(String(120))
    guardian_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("subjects.id"), default=None)
    text_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    language: Mapped[str | None] = mapped_column(String(16), default=None)
    ip_address: Mapped[str | None] = mapped_column(String(45), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(400), default=None)
    import_key: Mapped[str | None] = mapped_column(String(200), default=None)
    receipt: Mapped[dict[str, Any]] = mapped_column(JSONType)


class ConsentState(Base):
    __tablename__ = "consent_state"
    __table_args__ = (
        Index("ix_consent_state_target", "controller_id", "target", "status"),
        Index("ix_consent_state_subject", "subject_id"),
        # SQLite: the row lives in the primary-key B-tree, so a check is one tree search instead of two.
        {"sqlite_with_rowid": False},
    )

    controller_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    holder: Mapped[str] = mapped_column(String(40), primary_key=True)
    target: Mapped[str] = mapped_column(String(200), primary_key=True)
    subject_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    device_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    status: Mapped[str] = mapped_column(String(24))
    event_id: Mapped[int] = mapped_column(EVENT_ID, ForeignKey("consent_events.id"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    evidenced: Mapped[bool] = mapped_column(Boolean(), default=False)
