"""The table of idempotency keys: one row per (scope, key), holding the first answer to replay."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from dataright.storage.base import Base
from dataright.storage.types import UTCDateTime, utcnow


class IdempotencyKey(Base):
    """A key a client sent with a write, the fingerprint of that request and the answer it got.

    ``scope`` says whose key it is (an API key and controller, or a controller's anonymous device), so two
    clients choosing the same key never see each other's answers. ``status`` is null while the first
    request runs; the row and the write it guards commit together or not at all.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_expires_at", "expires_at"),)

    scope: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer(), default=None)
    media_type: Mapped[str | None] = mapped_column(String(100), default=None)
    body: Mapped[bytes | None] = mapped_column(LargeBinary(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
