"""An incident draft for the breach tests (NexaLearn, a Friday evening in Oslo)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from dataright.breach import service

OSLO = ZoneInfo("Europe/Oslo")


def draft(**change: object) -> service.IncidentDraft:
    values: dict[str, object] = {
        "occurred_at": datetime(2026, 11, 27, 17, 0, tzinfo=OSLO),
        "aware_at": datetime(2026, 11, 27, 19, 30, tzinfo=OSLO),  # a Friday evening
        "description": "A misconfigured export left course progress reports readable by other schools.",
        "systems": ("scanditek",),
        "categories": ("user.name", "user.contact.email"),
        "affected_people": 120,
        "affected_people_estimated": True,
        "likely_consequences": "Other schools could see names and progress.",
        "measures": "The export was closed and the access log reviewed.",
        **change,
    }
    return service.IncidentDraft(**values)  # type: ignore[arg-type]
