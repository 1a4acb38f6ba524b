"""The audit log table.

A writer appends an entry in its own transaction without looking at any other entry: ``id`` comes from the
database (append order; a rolled-back append leaves a gap there, which means nothing). The sealer
(``audit.service.seal``) later gives each committed entry its place in the chain: ``seq`` 1, 2, 3 … without
gaps, the previous entry's hash and its own. An entry whose ``seq`` is NULL is appended but not sealed yet.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from dataright.storage.base import Base
from dataright.storage.types import JSONType, UTCDateTime

GENESIS_HASH = "0" * 64
SEALED = text("seq IS NOT NULL")
HASHED = text("hash IS NOT NULL")
UNSEALED = text("seq IS NULL")
ENTRY_ID = BigInteger().with_variant(Integer(), "sqlite")  # SQLite only auto-increments INTEGER keys


class AuditEntry(Base):
    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_entity", "entity_type", "entity_id"),
        Index("ix_audit_entries_controller", "controller_id", "id"),
        # ``seq`` and ``hash`` are unique among sealed entries. The indexes hold sealed entries only, so an
        # append writes two index pages fewer (an unsealed entry's NULLs are in no index but the small one of
        # entries waiting for the sealer, which finds them there in append order)
        Index("ux_audit_entries_seq", "seq", unique=True, sqlite_where=SEALED, postgresql_where=SEALED),
        Index("ux_audit_entries_hash", "hash", unique=True, sqlite_where=HASHED, postgresql_where=HASHED),
        Index("ix_audit_entries_unsealed", "id", sqlite_where=UNSEALED, postgresql_where=UNSEALED),
    )

    id: Mapped[int] = mapped_column(ENTRY_ID, primary_key=True, autoincrement=True)
    seq: Mapped[int | None] = mapped_column(BigInteger(), default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(80))
    entity_type: Mapped[str] = mapped_column(String(80))
    entity_id: Mapped[str] = mapped_column(String(120))
    controller_id: Mapped[str | None] = mapped_column(String(80))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType)
    prev_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    hash: Mapped[str | None] = mapped_column(String(64), default=None)
