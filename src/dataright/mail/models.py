"""The outbox: one row per e-mail, written in the transaction of the change that asks for it.

A row holds what the sender needs and no more: the recipient as a keyed hash (to find what was sent to a
person) and AES-256-GCM ciphertext (to send), the rendered subject, text and HTML as ciphertext too (a
verification code or a download link is a secret), and a ``Message-ID`` fixed when the row is written.
Both ciphertexts are bound to the row's id and controller and are erased once the message is sent.

Status, and who may move a row on (see ``mail.sender`` for why):

    pending ──claim──▶ claimed ──before DATA──▶ sending ──250──▶ sent
       ▲                  │                        │
       └──retry (back-off)┴────────────────────────┤ refused with an error reply (4xx; 5xx → failed)
                                                   └─ crash / lost connection ──▶ unknown (never re-sent
                                                      automatically; ``dataright mail resolve``)
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, LargeBinary, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from dataright.storage.base import Base
from dataright.storage.types import UTCDateTime, utcnow


class MailStatus(StrEnum):
    pending = "pending"
    claimed = "claimed"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    unknown = "unknown"


STATUS_VALUES = ", ".join(f"'{status.value}'" for status in MailStatus)


class OutboxMessage(Base):
    __tablename__ = "mail_outbox"
    __table_args__ = (
        UniqueConstraint("controller_id", "dedupe_key"),
        UniqueConstraint("message_id"),
        CheckConstraint(f"status IN ({STATUS_VALUES})", name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
        Index("ix_mail_outbox_status_due", "status", "next_attempt_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)
    controller_id: Mapped[str] = mapped_column(String(80))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    template: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(8))
    recipient_hash: Mapped[str] = mapped_column(String(64), index=True)
    recipient_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary())
    content_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary())
    message_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default=MailStatus.pending.value)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    lease_token: Mapped[str | None] = mapped_column(String(32), default=None)
    transport: Mapped[str | None] = mapped_column(String(8), default=None)
    last_error: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
