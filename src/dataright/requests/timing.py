"""Where the requests domain asks for its dates: one call for a new request's deadlines, one for an extension.

The arithmetic itself (Regulation 1182/71, public holidays, the controller's time zone, the earlier-of rule)
is ``requests.deadlines``; this module only adapts its answers to what the service stores.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from dataright.declarations.schema import Declaration
from dataright.requests import deadlines


@dataclass(frozen=True)
class Deadlines:
    received_on: date
    statutory: date
    promised: date | None
    binding: date


def local_date(declaration: Declaration, controller_id: str, moment: datetime) -> date:
    """The calendar date of ``moment`` where the controller is (its declared time zone)."""
    return deadlines.local_receipt_date(moment, declaration.controller_by_id[controller_id])


def deadlines_for(declaration: Declaration, controller_id: str, received_at: datetime, request_type: str) -> Deadlines:
    """The statutory, promised and binding dates of a request received at ``received_at``."""
    due = deadlines.deadline_for(declaration, controller_id, received_at, request_type)
    return Deadlines(due.received, due.statutory, due.promised, due.binding)


def extended_due(
    declaration: Declaration,
    controller_id: str,
    received_at: datetime,
    request_type: str,
    *,
    notice_sent: date,
    until: date | None,
) -> date:
    """The deadline after an extension notified on ``notice_sent``: ``until`` when given (within the law's
    limit), else the longest the law and the controller's promise allow; ``ValidationFailed`` when too late."""
    due = deadlines.deadline_for(declaration, controller_id, received_at, request_type)
    return deadlines.extended_due(due, notice_sent=notice_sent, until=until)
