"""Audit routes: verify the whole chain (keys for every controller), read one controller's entries (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from dataright.audit.models import AuditEntry
from dataright.audit.schemas import AuditEntryOut, AuditPage, VerifyOut
from dataright.audit.service import verify
from dataright.bounds import MAX_ID
from dataright.consent.coverage import CONSENT_EVENTS
from dataright.web.dependencies import Admin, ReadSession

router = APIRouter(tags=["audit"])


@router.get("/api/v1/audit/verify", response_model=VerifyOut)
def verify_chain(key: Admin, session: ReadSession) -> VerifyOut:
    """Recompute the hash chain and the consent events it covers.

    ``ok`` is false and ``first_bad_seq`` names the first edited, deleted or moved entry (``reason`` says
    what, and names an edited or deleted consent event). Entries appended in the last moments may not be
    sealed into the chain yet: ``unsealed`` counts them.
    """
    report = verify(session, [CONSENT_EVENTS])
    return VerifyOut(
        ok=report.ok,
        checked=report.checked,
        first_bad_seq=report.first_bad_seq,
        reason=report.reason,
        last_seq=report.last_seq,
        last_hash=report.last_hash,
        unsealed=report.unsealed,
        covered=report.covered,
    )


@router.get("/api/v1/controllers/{controller_id}/audit", response_model=AuditPage)
def list_entries(
    controller_id: str,
    key: Admin,
    session: ReadSession,
    after_id: Annotated[int, Query(ge=0, le=MAX_ID, description="Return entries after this id.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPage:
    """One controller's audit entries, oldest first, a page at a time."""
    rows = session.execute(
        select(AuditEntry)
        .where(AuditEntry.controller_id == controller_id, AuditEntry.id > after_id)
        .order_by(AuditEntry.id)
        .limit(limit)
    ).scalars()
    entries = [AuditEntryOut.model_validate(row, from_attributes=True) for row in rows]
    return AuditPage(entries=entries, next_after_id=entries[-1].id if len(entries) == limit else None)
