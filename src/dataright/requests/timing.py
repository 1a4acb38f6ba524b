"""Where the requests domain asks for its dates: one call for a new request's deadlines, one for an extension.

The arithmetic itself (Regulation 1182/71, public holidays, the controller's time zone, the earlier-of rule)
belongs to ``requests.deadlines``; this module only adapts its answers to what the service stores.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from dataright.declarations.jurisdictions import get_jurisdiction
from dataright.declarations.schema import Declaration
from dataright.errors import ValidationFailed


@dataclass(frozen=True)
class Deadlines:
    received_on: date
    statutory: date
    promised: date | None
    binding: date


def local_date(declaration: Declaration, controller_id: str, moment: datetime) -> date:
    """The calendar date of ``moment`` where the controller is."""
    return moment.date()


def deadlines_for(declaration: Declaration, controller_id: str, received_at: datetime, request_type: str) -> Deadlines:
    """The statutory, promised and binding dates of a request received at ``received_at``."""
    received_on = local_date(declaration, controller_id, received_at)
    controller = declaration.controller_by_id[controller_id]
    pack = get_jurisdiction(controller.jurisdiction)
    statutory = pack.response.deadline.after(received_on)
    promise = declaration.rights_of(controller_id).response_time
    promised = promise.after(received_on) if promise is not None else None
    binding = min(statutory, promised) if promised is not None else statutory
    return Deadlines(received_on, statutory, promised, binding)


def latest_extension(declaration: Declaration, controller_id: str, received_on: date) -> date | None:
    """The latest date an extension may move the answer to; None when the law names no limit (PDPA)."""
    controller = declaration.controller_by_id[controller_id]
    pack = get_jurisdiction(controller.jurisdiction)
    if pack.response.extension is None:
        return None
    statutory = pack.response.deadline.after(received_on)
    return pack.response.extension.after(statutory)


def extended_due(declaration: Declaration, controller_id: str, received_on: date, until: date | None) -> date:
    """The deadline after an extension: ``until`` when given (checked against the law's limit), else the
    controller's own extension or the law's, whichever ends first."""
    limit = latest_extension(declaration, controller_id, received_on)
    if until is not None:
        if limit is not None and until > limit:
            raise ValidationFailed(f"until: the law allows an extension to {limit.isoformat()} at the latest")
        return until
    original = deadlines_for_date(declaration, controller_id, received_on)
    own = declaration.rights_of(controller_id).extension
    candidates = [d for d in (own.after(original.binding) if own else None, limit) if d is not None]
    if not candidates:
        raise ValidationFailed("until: the law sets no extension period here; say when the answer will come")
    return min(candidates)


def deadlines_for_date(declaration: Declaration, controller_id: str, received_on: date) -> Deadlines:
    controller = declaration.controller_by_id[controller_id]
    pack = get_jurisdiction(controller.jurisdiction)
    statutory = pack.response.deadline.after(received_on)
    promise = declaration.rights_of(controller_id).response_time
    promised = promise.after(received_on) if promise is not None else None
    return Deadlines(received_on, statutory, promised, min(statutory, promised) if promised else statutory)
