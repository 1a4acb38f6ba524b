"""When a legal hold stops keeping a row: the earliest ``hold_from`` date still held today. Pure."""

from __future__ import annotations

from datetime import date, timedelta

from dataright.declarations.periods import Period
from dataright.declarations.schema import LegalHold, Trigger


def held_until(hold: LegalHold, start: date) -> date:
    """The day the hold on a row whose trigger date is ``start`` ends."""
    if hold.trigger is Trigger.fiscal_year_end:
        start = date(start.year, 12, 31)
    return hold.duration.after(start)


def cutoff(hold: LegalHold, today: date) -> date:
    """The earliest trigger date whose row the hold still keeps on ``today`` (rows dated on or after it)."""
    low, high = today - timedelta(days=int(_days(hold.duration)) * 2 + 800), today
    while low < high:  # held_until is monotonic in start: binary search for the first held day
        middle = low + (high - low) // 2
        if held_until(hold, middle) > today:
            high = middle
        else:
            low = middle + timedelta(days=1)
    return low


def _days(period: Period) -> float:
    return period.approx_days()
