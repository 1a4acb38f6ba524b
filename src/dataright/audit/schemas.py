"""Response models of the audit routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class VerifyOut(BaseModel):
    ok: bool
    checked: int
    first_bad_seq: int | None
    reason: str | None
    last_seq: int | None
    last_hash: str | None
    unsealed: int
    covered: int


class AuditEntryOut(BaseModel):
    id: int
    seq: int | None
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    controller_id: str | None
    details: dict[str, Any]
    prev_hash: str | None
    hash: str | None


class AuditPage(BaseModel):
    entries: list[AuditEntryOut]
    next_after_id: int | None
