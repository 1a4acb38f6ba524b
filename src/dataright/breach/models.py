"""The breach register's tables.

* ``breaches``: one record per controller and incident, kept whether notifiable or not (GDPR Art. 33(5)).
  An incident in a system several controllers use opens one record for each, linked by ``group_id``, each
  with its own clock (the jurisdiction and time zone are copied in when it is opened).
* ``breach_revisions``: every version of a record as it was after each change (the edit history; the audit
  entry of the change names the revision, never the text, which may describe people).
* ``breach_submissions``: each notification sent to the authority (phased: an initial one, then follow-ups,
  Art. 33(4)).
* ``breach_subject_notices``: each person told (keyed hash of the address, language, the outbox row).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from dataright.storage.base import Base
from dataright.storage.types import JSONType, UTCDateTime, utcnow


class BreachStatus(StrEnum):
    open = "open"
    assessed = "assessed"
    notified = "notified"
    closed = "closed"


class Risk(StrEnum):
    unlikely = "unlikely"  # unlikely to result in a risk: not notifiable (the reason is recorded)
    risk = "risk"  # notify the authority
    high = "high"  # notify the authority and the people concerned


class Breach(Base):
    __tablename__ = "breaches"
    __table_args__ = (
        UniqueConstraint("reference"),
        CheckConstraint("affected_people >= 0", name="people_not_negative"),
        CheckConstraint("affected_records IS NULL OR affected_records >= 0", name="records_not_negative"),
        CheckConstraint("aware_at >= occurred_at", name="aware_after_occurred"),
        Index("ix_breaches_controller_id_status", "controller_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)
    reference: Mapped[str] = mapped_column(String(24))
    group_id: Mapped[uuid.UUID] = mapped_column(Uuid(), index=True)
    controller_id: Mapped[str] = mapped_column(String(80))
    jurisdiction: Mapped[str] = mapped_column(String(40))
    timezone: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default=BreachStatus.open.value)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    aware_at: Mapped[datetime] = mapped_column(UTCDateTime())
    description: Mapped[str] = mapped_column(Text())
    systems: Mapped[list[str]] = mapped_column(JSONType)
    categories: Mapped[list[str]] = mapped_column(JSONType)
    affected_people: Mapped[int] = mapped_column()
    affected_people_estimated: Mapped[bool] = mapped_column(default=False)
    affected_records: Mapped[int | None] = mapped_column(default=None)
    affected_records_estimated: Mapped[bool] = mapped_column(default=False)
    likely_consequences: Mapped[str] = mapped_column(Text())
    measures: Mapped[str] = mapped_column(Text())
    contact: Mapped[str] = mapped_column(Text())
    # the assessment
    assessed_on: Mapped[date | None] = mapped_column(default=None)
    risk: Mapped[str | None] = mapped_column(String(12), default=None)
    significant_harm: Mapped[bool | None] = mapped_column(default=None)
    prescribed_classes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    notifiable: Mapped[bool | None] = mapped_column(default=None)
    notifiable_because: Mapped[list[str]] = mapped_column(JSONType, default=list)
    assessment_reason: Mapped[str | None] = mapped_column(Text(), default=None)
    individuals_required: Mapped[bool | None] = mapped_column(default=None)
    individuals_exemption: Mapped[str | None] = mapped_column(Text(), default=None)
    # notifications
    delay_reason: Mapped[str | None] = mapped_column(Text(), default=None)
    authority_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    individuals_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    revision: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BreachRevision(Base):
    __tablename__ = "breach_revisions"
    __table_args__ = (UniqueConstraint("breach_id", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    breach_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("breaches.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column()
    action: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONType)


class BreachSubmission(Base):
    __tablename__ = "breach_submissions"
    __table_args__ = (UniqueConstraint("breach_id", "phase"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    breach_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("breaches.id", ondelete="CASCADE"))
    phase: Mapped[int] = mapped_column()
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    late: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None] = mapped_column(Text(), default=None)
    actor: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BreachSubjectNotice(Base):
    __tablename__ = "breach_subject_notices"
    __table_args__ = (UniqueConstraint("breach_id", "recipient_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    breach_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("breaches.id", ondelete="CASCADE"))
    recipient_hash: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    outbox_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
