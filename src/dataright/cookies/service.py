"""Cookie scans in the database: record what a scan found (idempotently, under its id), read it back."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dataright.audit.service import append as audit
from dataright.cookies.findings import Report
from dataright.cookies.models import CookieScan
from dataright.errors import NotFound
from dataright.storage.types import utcnow


def record(
    session: Session,
    *,
    scan_id: uuid.UUID,
    report: Report,
    actor: str,
    now: datetime | None = None,
) -> CookieScan:
    """Store ``report`` as scan ``scan_id``, replacing what an earlier run of the same scan stored (a re-run
    writes the same row, not a second one); audited with counts only."""
    scan = session.get(CookieScan, scan_id)
    if scan is None:
        scan = CookieScan(id=scan_id)
        session.add(scan)
    scan.controller_id = report.controller
    scan.url = report.url[:500]
    scan.requested_by = actor
    scan.scanned_at = now or utcnow()
    scan.pages = sum(len(p.pages) for p in report.phases)
    scan.violations = len(report.violations)
    scan.notices = len(report.findings) - len(report.violations)
    scan.report = report.as_dict()
    session.flush()
    audit(
        session,
        actor=actor,
        action="cookies.scan.recorded",
        entity_type="cookie_scan",
        entity_id=scan_id,
        controller_id=report.controller,
        details={"pages": scan.pages, "violations": scan.violations, "notices": scan.notices},
    )
    return scan


def get(session: Session, *, controller_id: str, scan_id: uuid.UUID) -> CookieScan:
    """The controller's scan ``scan_id``; NotFound when there is none (yet)."""
    scan = session.scalar(select(CookieScan).where(CookieScan.id == scan_id, CookieScan.controller_id == controller_id))
    if scan is None:
        raise NotFound(f"no cookie scan {scan_id} of controller {controller_id!r} has been recorded")
    return scan
