"""When a legal hold stops keeping a row: the earliest ``hold_from`` date still held today. Pure."""

from __future__ import annotations

from datetime import date, timedelta

from dataright.declarations.fiscal import CALENDAR_YEAR, ends, last_day_run_out
from dataright.declarations.schema import LegalHold, Trigger


def held_until(hold: LegalHold, start: date, fiscal_year_end: str | None = None) -> date:
    """The first day the hold no longer keeps a row whose trigger date is ``start``.

    A financial-year hold runs from the day after the financial year ends (the controller's
    ``fiscal_year_end``; the calendar year when none is given)."""
    fiscal = hold.trigger is Trigger.fiscal_year_end
    return ends(start, hold.duration, fiscal=fiscal, month_day=fiscal_year_end or CALENDAR_YEAR)


def cutoff(hold: LegalHold, today: date, fiscal_year_end: str | None = None) -> date:
    """The earliest trigger date whose row the hold still keeps on ``today`` (rows dated on or after it)."""
    fiscal = hold.trigger is Trigger.fiscal_year_end
    last = last_day_run_out(today, hold.duration, fiscal=fiscal, month_day=fiscal_year_end or CALENDAR_YEAR)
    return date.min if last is None else last + timedelta(days=1)
