"""The cookies domain's table: what each cookie scan found (``cookie_scans``).

A scan run as a job is stored under the job's id, so a second run of the same job (a worker died, a message
came twice) replaces its row with what it found: never a second row. The report holds cookie names, their
domains and the site's URLs (who set what, where): no personal data.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from dataright.storage.base import Base
from dataright.storage.types import JSONType, UTCDateTime, utcnow


class CookieScan(Base):
    __tablename__ = "cookie_scans"
    __table_args__ = (Index("ix_cookie_scans_controller", "controller_id", "scanned_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    """The id of the job that ran it (or a new one for a scan recorded outside the jobs)."""
    controller_id: Mapped[str] = mapped_column(String(80))
    url: Mapped[str] = mapped_column(String(500))
    requested_by: Mapped[str] = mapped_column(String(120))
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    pages: Mapped[int] = mapped_column(Integer())
    violations: Mapped[int] = mapped_column(Integer())
    notices: Mapped[int] = mapped_column(Integer())
    report: Mapped[dict[str, Any]] = mapped_column(JSONType)
    """``Report.as_dict()``: the phases, every cookie and local-storage entry seen, and the findings."""
